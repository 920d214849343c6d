"""The live service over a real mosquitto (started from deploy/mosquitto/)."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from floodwatch.readings import Reading
from floodwatch.sim import simulate
from tests.integration.services import (
    Floodwatch,
    Mosquitto,
    assert_announced_at_most_once,
    batch_lines,
    expected_transitions,
    make_certificates,
    running,
    service_config,
    stored_transitions,
    storm_days,
    wait_for,
)

pytestmark = pytest.mark.integration

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings


def test_readings_published_with_mosquitto_pub_raise_the_expected_alerts(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    cfg = service_config(tmp_path, mosquitto.port)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    fw.wait_log("mqtt connected")
    # The storm comes through a telemetry gateway, one JSON array per sweep.
    mosquitto.publish("gateway/county-gw", batch_lines(STORM), user="county-gw")
    # Then gauges on their own topics (station and kind from the topic). A gauge
    # may publish only its own topics: the broker drops the first message (ACL).
    later = STORM[-1].ts + timedelta(minutes=3)
    bogus = {"value": 999.0, "ts": later.isoformat()}
    mosquitto.publish("hydro/xiawu-pond/level", [json.dumps(bogus)], user="maokeng-rain")
    own = [
        Reading("xiawu-pond", "level", 999.0, later + timedelta(minutes=5)),
        Reading("xiawu-pond", "level", 203.8, later + timedelta(minutes=10)),
    ]
    mosquitto.publish(
        "hydro/xiawu-pond/level",
        [json.dumps({"value": r.value, "ts": r.ts.isoformat()}) for r in own],
        user="xiawu-pond",
    )
    expected = expected_transitions(cfg, [*STORM, *own])
    db = tmp_path / "var" / "floodwatch.db"
    wait_for(lambda: stored_transitions(db) == expected, 30, "alerts stored")
    assert fw.stop() == 0
    assert len(expected) > 10
    out_of_range = [k for k in expected if k[0] == "sensor-health/out_of_range"]
    assert [k[4] for k in out_of_range] == [own[0].to_json()["ts"]]
    assert not (tmp_path / "var" / "dead-letter.jsonl").exists()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_readings_published_while_floodwatch_is_down_are_processed_when_it_returns(
    tmp_path: Path, mosquitto: Mosquitto, protocol: str
) -> None:
    cfg = service_config(tmp_path, mosquitto.port, protocol=protocol)
    expected = expected_transitions(cfg, STORM)
    lines = batch_lines(STORM)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    fw.wait_log("mqtt connected")
    mosquitto.publish("gateway/county-gw", lines[:100], user="county-gw")
    time.sleep(1)
    assert fw.stop() == 0
    mosquitto.publish("gateway/county-gw", lines[100:], user="county-gw")  # nobody listening
    fw.start()
    fw.wait_log("floodwatch running", count=2)
    db = tmp_path / "var" / "floodwatch.db"
    wait_for(lambda: stored_transitions(db) == expected, 30, "alerts after restart")
    assert fw.stop() == 0


@pytest.mark.slow
def test_kill_9_five_times_during_a_storm_loses_and_repeats_nothing(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    # About 20,000 readings: one storm a day for 18 days, 4 gauges every 5 minutes.
    readings = storm_days(18)
    assert len(readings) >= 20_000
    cfg = service_config(tmp_path, mosquitto.port)
    expected = expected_transitions(cfg, readings)
    lines = batch_lines(readings)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    fw.wait_log("mqtt connected")
    publisher = threading.Thread(
        target=lambda: [
            mosquitto.publish("gateway/county-gw", lines[i : i + 250], user="county-gw")
            for i in range(0, len(lines), 250)
        ]
    )
    publisher.start()
    rng = random.Random(5)
    db = tmp_path / "var" / "floodwatch.db"
    try:
        for n in range(1, 6):
            fw.wait_log("mqtt connected", count=n)
            time.sleep(rng.uniform(0.3, 2.5))
            fw.kill()
            time.sleep(rng.uniform(0.0, 1.0))
            fw.start()
    finally:
        publisher.join()  # (also on a failure: it publishes to the fixture's broker)
    wait_for(lambda: stored_transitions(db) == expected, 60, "every alert after 5 crashes")
    fw.wait_log("floodwatch running", count=6)
    assert fw.stop() == 0
    assert_announced_at_most_once(fw.log.read_text(), expected, kills=5)
    assert len(expected) > 100
    log = fw.log.read_text()
    assert log.count("floodwatch running") == 6
    assert "engine restored from snapshot" in log


def test_broker_restart_reconnects_promptly_without_hammering(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    cfg = service_config(tmp_path, mosquitto.port)
    expected = expected_transitions(cfg, STORM)
    lines = batch_lines(STORM)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    fw.wait_log("mqtt connected")
    mosquitto.publish("gateway/county-gw", lines[:150], user="county-gw")
    time.sleep(1)
    mosquitto.stop()
    time.sleep(40)
    attempts = fw.log.read_text().count("unavailable")
    assert 3 <= attempts <= 12, attempts  # 12 a minute at most; this is 40 s
    mosquitto.start()
    back = time.monotonic()
    fw.wait_log("mqtt connected", count=2, timeout=10)
    # Promptly: no wait between tries is longer than reconnect_max (5 s), as the
    # service logs each one — exact, whatever the machine's load; and the try
    # after the broker is back connects (slack for a loaded machine's start-up;
    # an uncapped backoff would be waiting 20 s and more by now).
    delays = [float(d) for d in re.findall(r"retrying in ([0-9.]+)s", fw.log.read_text())]
    assert len(delays) >= attempts and max(delays) <= 5.0, delays
    assert time.monotonic() - back <= 10.0
    mosquitto.publish("gateway/county-gw", lines[150:], user="county-gw")
    db = tmp_path / "var" / "floodwatch.db"
    wait_for(lambda: stored_transitions(db) == expected, 30, "alerts after the broker restart")
    assert fw.stop() == 0


def test_an_unreachable_broker_is_named_at_start(tmp_path: Path) -> None:
    from tests.integration.services import free_port

    port = free_port()
    cfg = service_config(tmp_path, port)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    assert fw.proc is not None
    assert fw.proc.wait(timeout=30) == 2
    log = fw.log.read_text()
    assert f"cannot reach the MQTT broker at mqtt://127.0.0.1:{port}" in log
    assert "Traceback" not in log


def _with_tls(cfg: Path, ca: Path) -> Path:
    path = cfg / "service.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["service"]["mqtt"]["tls"] = {"ca_file": str(ca)}
    path.write_text(yaml.safe_dump(doc))
    return cfg


def test_tls_to_the_broker_with_its_ca_and_a_clear_refusal_with_another(tmp_path: Path) -> None:
    ca, cert, key = make_certificates(tmp_path / "certs")
    other_ca = make_certificates(tmp_path / "other")[0]
    broker = Mosquitto(tmp_path / "mosquitto", tls=(ca, cert, key))
    fw = Floodwatch(_with_tls(service_config(tmp_path / "ok", broker.port), ca), tmp_path / "ok")
    with running(broker):
        fw.start()
        fw.wait_log("mqtt connected")
        broker.publish("gateway/county-gw", batch_lines(STORM), user="county-gw")
        expected = expected_transitions(fw.config, STORM)
        db = tmp_path / "ok" / "var" / "floodwatch.db"
        wait_for(lambda: stored_transitions(db) == expected, 30, "alerts stored over TLS")
        assert fw.stop() == 0
        # A broker whose certificate our CA did not sign: named at start, exit 2.
        wrong = _with_tls(service_config(tmp_path / "wrong", broker.port), other_ca)
        done = subprocess.run(
            [sys.executable, "-m", "floodwatch", "run", "--config", str(wrong)],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path / "wrong",
        )
        assert done.returncode == 2
        assert "cannot reach the MQTT broker" in done.stderr
        assert "certificate verify failed" in done.stderr
        assert "Traceback" not in done.stderr


def test_sigterm_right_after_start_still_stops_within_10_s(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """A stop that lands while the MQTT client subscribes (a cancellation Python
    3.11's wait_for can swallow) must still end the process promptly."""
    cfg = service_config(tmp_path, mosquitto.port)
    fw = Floodwatch(cfg, tmp_path)
    try:
        for n in range(1, 4):
            fw.start()
            fw.wait_log("floodwatch running", count=n)
            started = time.monotonic()
            assert fw.stop(timeout=10) == 0
            assert time.monotonic() - started < 10
    finally:
        fw.kill()
    assert fw.log.read_text().count("SIGTERM received: stopping") == 3
