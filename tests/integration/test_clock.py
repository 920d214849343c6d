"""A gauge with a wrong clock, through the real service and a real mosquitto."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.service.run import Service
from floodwatch.sim import simulate
from tests.integration.services import (
    Floodwatch,
    Mosquitto,
    batch_lines,
    expected_transitions,
    service_config,
    stored_transitions,
    wait_for,
)

pytestmark = pytest.mark.integration


def _storm_ending_now() -> list[Reading]:
    """The example storm of the three Maokeng gauges, shifted to end two minutes ago."""
    storm = [r for r in simulate("blocked").readings if r.station != "xiawu-pond"]
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    shift = end - storm[-1].ts
    return [Reading(r.station, r.kind, r.value, r.ts + shift, r.quality) for r in storm]


def test_a_gauge_eight_hours_ahead_is_dead_lettered_and_others_still_warn(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """Xiawu pond's gateway sends Beijing time labelled UTC. Before clock
    discipline its readings moved the event clock 8 h ahead and every real
    reading after them was refused as too late: no warning at all."""
    storm = _storm_ending_now()
    cfg = service_config(tmp_path, mosquitto.port)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    fw.wait_log("mqtt connected")
    now = datetime.now(UTC).replace(microsecond=0)
    wrong = [now + timedelta(hours=8, minutes=5 * i) for i in range(3)]
    mosquitto.publish(
        "hydro/xiawu-pond/level",
        [json.dumps({"value": 203.8, "ts": ts.isoformat()}) for ts in wrong],
        user="xiawu-pond",
    )
    mosquitto.publish("gateway/county-gw", batch_lines(storm), user="county-gw")
    db = tmp_path / "var" / "floodwatch.db"
    expected = expected_transitions(cfg, storm)
    assert any(k[0] == "pond-level" and k[3] == "red" for k in expected)

    def flood_alerts() -> list[tuple[str, str, str, str, str]]:
        return [k for k in stored_transitions(db) if k[0] != "clock"]

    wait_for(lambda: flood_alerts() == expected, 60, "the storm's alerts stored")
    notices = [k for k in stored_transitions(db) if k[0] == "clock"]
    assert [(k[2], k[3]) for k in notices] == [("firing", "info")]
    dead = tmp_path / "var" / "dead-letter.jsonl"
    wait_for(lambda: dead.exists() and dead.read_text().count("\n") >= 3, 10, "dead letters")
    records = [json.loads(line) for line in dead.read_text().splitlines()]
    assert [(r["reason"], r["reading"]["station"]) for r in records] == [
        ("too_far_in_future", "xiawu-pond")
    ] * 3
    assert fw.stop() == 0
    with sqlite3.connect(db) as conn:
        events = [json.loads(r[0]) for r in conn.execute("SELECT event FROM transitions")]
    notice = next(e for e in events if e["rule"] == "clock")
    assert notice["station"] == "xiawu-pond"
    assert "下坞山塘水位计时钟超前8小时，读数未采用，请校准时钟" in notice["message_zh"]
    assert "clock about 8 h ahead" in notice["message_en"]


def test_a_gauge_reset_to_2000_gets_a_clock_notice_until_its_clock_is_set(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """A battery swap reset Xiawu pond's RTU to 2000-01-01 while the service is
    still catching up on a day's storm: its readings are refused as too late
    and it is reported by name — not only dead-lettered; once its clock is set
    the notice resolves."""
    storm = _storm_ending_now()
    fixed = Reading("xiawu-pond", "level", 203.8, storm[-1].ts + timedelta(minutes=1))
    cfg = service_config(tmp_path, mosquitto.port)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    fw.wait_log("mqtt connected")
    mosquitto.publish("gateway/county-gw", batch_lines(storm), user="county-gw")
    reset = [datetime(2000, 1, 1, tzinfo=UTC) + timedelta(minutes=5 * i) for i in range(3)]
    mosquitto.publish(
        "hydro/xiawu-pond/level",
        [json.dumps({"value": 203.8, "ts": ts.isoformat()}) for ts in reset],
        user="xiawu-pond",
    )
    db = tmp_path / "var" / "floodwatch.db"
    wait_for(
        lambda: [k[2] for k in stored_transitions(db) if k[0] == "clock"] == ["firing"],
        60,
        "a clock notice for the reset gauge",
    )
    mosquitto.publish(
        "hydro/xiawu-pond/level",
        [json.dumps({"value": fixed.value, "ts": fixed.ts.isoformat()})],
        user="xiawu-pond",
    )
    expected = expected_transitions(cfg, [*storm, fixed])
    wait_for(
        lambda: [k for k in stored_transitions(db) if k[0] != "clock"] == expected,
        60,
        "the storm's alerts stored",
    )
    wait_for(
        lambda: (
            sorted(k[2] for k in stored_transitions(db) if k[0] == "clock")
            == ["firing", "resolved"]
        ),
        20,
        "the clock notice resolved",
    )
    assert fw.stop() == 0
    dead = (tmp_path / "var" / "dead-letter.jsonl").read_text(encoding="utf-8")
    records = [json.loads(line) for line in dead.splitlines()]
    assert [(r["reason"], r["reading"]["station"]) for r in records] == [
        ("too_late", "xiawu-pond")
    ] * 3
    with sqlite3.connect(db) as conn:
        events = [json.loads(r[0]) for r in conn.execute("SELECT event FROM transitions")]
    notice = next(e for e in events if e["rule"] == "clock" and e["transition"] == "firing")
    assert "下坞山塘水位计时钟滞后约27年" in notice["message_zh"]


def test_a_restart_decides_as_the_live_step_did_under_its_wall_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox keeps the wall clock each step ran at: after a crash the replay
    refuses the same readings and raises the same notice, whatever the time of
    the restart."""
    storm = _storm_ending_now()[-300:]
    now = datetime.now(UTC).replace(microsecond=0)
    ahead = Reading("xiawu-pond", "level", 203.8, now + timedelta(hours=8))
    cfg = service_config(tmp_path)
    first = Service(load_config_dir(cfg))
    first.open()
    items = [
        Incoming(json.dumps(r.to_json()).encode(), "hydro/x/y", "canonical", "mqtt")
        for r in [*storm, ahead]
    ]
    first.step(items)
    assert set(first.engine.notices.open) == {"xiawu-pond"}
    # Crash (no snapshot), and restart nine hours later: the gauge's time would
    # now look right; the replay must still decide as the live step did.
    later = time.time() + 9 * 3600
    second = Service(load_config_dir(cfg))
    monkeypatch.setattr(time, "time", lambda: later)
    second.open()
    monkeypatch.undo()
    assert second.engine.clock == first.engine.clock
    assert second.engine.buffered == first.engine.buffered
    assert set(second.engine.notices.open) == {"xiawu-pond"}
    assert [a.id for a in second.engine.active_alerts()] == [
        a.id for a in first.engine.active_alerts()
    ]
    second.close()
    assert first.store is not None
    first.store.close()
    first.dead_letter.close()
