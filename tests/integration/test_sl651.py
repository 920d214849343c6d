"""SL 651 end to end over real TCP: simulated RTUs send a blocked-culvert storm
from 3 stations as SL 651 frames to `floodwatch run`; the service stores the
alerts `floodwatch replay` raises on the same readings. Killed with -9 during
the storm and restarted, the RTUs reconnect and resend what was not
confirmed: none lost, no transition twice."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from floodwatch.ingest.sl651.player import Played, play
from floodwatch.notify.sinks import load_config_dir
from floodwatch.sim import SCENARIOS, simulate
from tests.integration.services import (
    KEYS,
    Floodwatch,
    Mosquitto,
    Tansu,
    assert_announced_at_most_once,
    expected_transitions,
    free_port,
    service_config,
    stored_transitions,
    wait_for,
    wait_port,
)

pytestmark = pytest.mark.integration
STATIONS = {"maokeng-pond", "maokeng-culvert", "maokeng-rain"}


def _storm() -> list:  # type: ignore[type-arg]
    result = simulate(SCENARIOS["blocked"], start=datetime(2026, 7, 6, 16, tzinfo=UTC), seed=7)
    return [r for r in result.readings if r.station in STATIONS]


def _player(cfg: Path, readings: list, port: int, out: list[Played]) -> threading.Thread:  # type: ignore[type-arg]
    stations = [s for s in load_config_dir(cfg).config.stations if s.id in STATIONS]

    def run() -> None:
        out.append(asyncio.run(play(readings, stations, "127.0.0.1", port, pace=0.01)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_storm_over_sl651_raises_the_replay_alerts_through_a_kill(tmp_path: Path) -> None:
    port = free_port()
    cfg = service_config(tmp_path, sl651={"listen": f"127.0.0.1:{port}"})
    service = Floodwatch(cfg, tmp_path)
    service.start()
    wait_port(port, timeout=30)
    readings = _storm()
    played: list[Played] = []
    thread = _player(cfg, readings, port, played)
    db = tmp_path / "var" / "floodwatch.db"
    # kill -9 once the storm is under way (some alerts stored), then restart
    wait_for(lambda: len(stored_transitions(db)) >= 2, 120, "first alerts")
    service.kill()
    time.sleep(1.0)
    service.start()
    thread.join(timeout=300)
    assert not thread.is_alive(), "the RTUs did not get every report confirmed"
    sent = played[0]
    assert sent.resent >= 1, "no report was unconfirmed at the kill"
    want = expected_transitions(cfg, sent.readings)
    assert want, "the storm raises alerts"
    wait_for(lambda: stored_transitions(db) == want, 60, "the replay's alerts stored")
    stored = stored_transitions(db)
    assert len(stored) == len(set(stored)) == len(want)
    assert service.stop() == 0
    assert_announced_at_most_once(service.log.read_text(), want, kills=1)
    dead = tmp_path / "var" / "dead-letter.jsonl"
    reasons = (
        {json.loads(line)["reason"] for line in dead.read_text().splitlines()}
        if dead.exists()
        else set()
    )
    # what a resend after the kill may bring: readings stored before it, refused as duplicates
    assert reasons <= {"duplicate"}, reasons


def test_hourly_reports_from_the_simulator_are_taken_whole(tmp_path: Path) -> None:
    """`floodwatch simulate --sl651 --hourly`: each RTU sends one multi-packet
    hourly report (34H) of 12 five-minute values an hour; with a backfill window
    on the stations none of the eleven older values is refused as too late."""
    port = free_port()
    cfg = service_config(tmp_path, sl651={"listen": f"127.0.0.1:{port}"})
    stations = cfg / "stations.yaml"
    text = stations.read_text("utf-8")
    stations.write_text(text.replace("    sl651: {", "    backfill: 2h\n    sl651: {"), "utf-8")
    service = Floodwatch(cfg, tmp_path)
    service.start()
    wait_port(port, timeout=30)
    sent = subprocess.run(
        [
            *("floodwatch", "simulate", "--scenario", "blocked", "--hours", "6"),
            *("--sl651", f"127.0.0.1:{port}", "--stations", "3", "--hourly"),
            *("--config", str(cfg)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        executable=str(Path(sys.executable).parent / "floodwatch"),
    )
    assert sent.returncode == 0, sent.stderr
    # the pond (DRZ1) and the rain gauge (DRP) send series: 7 hours begun each
    assert "3 RTUs: 14 reports confirmed, 49 frames sent, 0 sent again" in sent.stderr
    db = tmp_path / "var" / "floodwatch.db"
    assert db.exists()
    assert service.stop() == 0
    dead = tmp_path / "var" / "dead-letter.jsonl"
    lines = dead.read_text().splitlines() if dead.exists() else []
    assert not [line for line in lines if "too_late" in line], lines[:3]
    log = service.log.read_text()
    assert "sl651" in log


def test_gateway_forwards_rtu_readings_to_kafka_keyed_by_station(
    tmp_path: Path, kafka: Tansu
) -> None:
    """`floodwatch sl651-gateway`: the simulated RTUs' readings land in the
    readings topic, one message per reading, keyed by the station's key."""
    kafka.create_topic("readings", 2)
    port = free_port()
    cfg = service_config(tmp_path, kafka=kafka.bootstrap, sl651={"listen": f"127.0.0.1:{port}"})
    gateway = Floodwatch(cfg, tmp_path, command="sl651-gateway")
    gateway.start()
    try:
        gateway.wait_log("floodwatch sl651-gateway running", timeout=30)
        readings = [
            r for r in _storm() if r.ts < datetime(2026, 7, 6, 17, tzinfo=UTC)
        ]  # an hour: 12 sweeps of 3 stations
        played: list[Played] = []
        _player(cfg, readings, port, played).join(timeout=120)
        assert played and played[0].reports == len(readings) == 36
        messages = kafka.consume("readings", len(readings))
        fields = ("station", "kind", "value", "ts")
        got = sorted((m.key.decode(), *(json.loads(m.value)[f] for f in fields)) for m in messages)
        want = sorted(
            (KEYS[r.station], *(r.to_json()[f] for f in fields)) for r in played[0].readings
        )
        assert got == want
    finally:
        assert gateway.stop() == 0


def test_gateway_over_mqtt_feeds_floodwatch_run_behind_the_broker(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """RTUs → `floodwatch sl651-gateway` (in a DMZ, its own broker account) →
    mosquitto → `floodwatch run`: the alerts of the same readings' replay."""
    port = free_port()
    gw_cfg = service_config(
        tmp_path / "gw",
        mosquitto.port,
        sl651={"listen": f"127.0.0.1:{port}", "mqtt_topic": "gateway/county-gw"},
    )
    service_yaml = gw_cfg / "service.yaml"
    doc = yaml.safe_load(service_yaml.read_text())
    doc["service"]["mqtt"].update(username="county-gw", client_id="county-gw-sl651")
    service_yaml.write_text(yaml.safe_dump(doc))
    run_cfg = service_config(tmp_path / "run", mosquitto.port)
    gateway = Floodwatch(gw_cfg, tmp_path / "gw", command="sl651-gateway")
    fw = Floodwatch(run_cfg, tmp_path / "run")
    fw.start()
    gateway.start()
    try:
        fw.wait_log("mqtt connected", timeout=30)
        gateway.wait_log("floodwatch sl651-gateway running", timeout=30)
        played: list[Played] = []
        _player(gw_cfg, _storm(), port, played).join(timeout=300)
        assert played, "the RTUs did not get every report confirmed"
        want = expected_transitions(run_cfg, played[0].readings)
        assert want
        db = tmp_path / "run" / "var" / "floodwatch.db"
        wait_for(lambda: stored_transitions(db) == want, 60, "the replay's alerts stored")
    finally:
        assert gateway.stop() == 0
        assert fw.stop() == 0
