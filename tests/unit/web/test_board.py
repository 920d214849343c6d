"""`floodwatch.web.board` on its own: `Recent` (time order with late readings,
the 24 h window, saved to and loaded from a real store, nothing written when
nothing arrived), a chart's lines (`thresholds`: characteristic levels of the
season, the level rules' lines, a rain gauge's windows), the stations table
(`station_rows`: level from the worst warning, health checks, ages by the
event clock, `only`), and on a service that ran the storm, an alert's
summary and its timeline (transitions, the incident's notices, recipients by
name)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading, ts_to_ms
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.service.run import Service
from floodwatch.store import Store
from floodwatch.web.board import DAY_MS, Recent, alert_summary, station_rows, thresholds, timeline
from floodwatch.web.live import Live
from tests.web.conftest import STORM, feed

Setup = tuple[Service, Live, TestClient]
HOUR = 3_600_000
T0 = datetime(2026, 6, 20, 8, tzinfo=UTC)
T0_MS = ts_to_ms(T0)


@pytest.fixture(scope="module")
def compiled() -> CompiledConfig:
    return compile_config(load_config_dir("config"))


def reading(station: str, kind: str, ms: int, value: float) -> Reading:
    return Reading(station, kind, value, datetime.fromtimestamp(ms / 1000, UTC))


def test_recent_keeps_time_order_with_late_readings_and_a_day_at_most() -> None:
    recent = Recent()
    recent.add([reading("p", "level", T0_MS + i * HOUR, float(i)) for i in (0, 2, 3)])
    recent.add([reading("p", "level", T0_MS + HOUR, 1.0)])  # late
    assert [v for _, v in recent.since("p", "level", 0)] == [0.0, 1.0, 2.0, 3.0]
    assert recent.latest("p", "level") == (T0_MS + 3 * HOUR, 3.0)
    assert recent.since("p", "level", T0_MS + 2 * HOUR) == [
        (T0_MS + 2 * HOUR, 2.0),
        (T0_MS + 3 * HOUR, 3.0),
    ]
    recent.add([reading("p", "level", T0_MS + DAY_MS + 2 * HOUR, 9.0)])
    assert [v for _, v in recent.since("p", "level", 0)] == [2.0, 3.0, 9.0]  # the day before
    assert recent.latest("p", "rain") is None and recent.since("q", "level", 0) == []


def test_recent_is_saved_and_loaded_through_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "floodwatch.db")
    try:
        recent = Recent()
        recent.flush(store)  # nothing arrived: nothing written
        assert store.recent_readings() == []
        recent.add([reading("p", "level", T0_MS + i * HOUR, float(i)) for i in range(3)])
        recent.add([reading("r", "rain", T0_MS, 1.5)])
        recent.flush(store)
        assert len(store.recent_readings()) == 4 and recent.unsaved == []
        recent.add([reading("p", "level", T0_MS + DAY_MS + HOUR + 1, 7.0)])
        recent.flush(store)  # what left the window leaves the store
        assert [(s, v) for s, _, _, v in store.recent_readings()] == [("p", 2.0), ("p", 7.0)]
        again = Recent()
        again.load(store)
        assert ("r", "rain") not in again.series  # older than a day before the newest
        assert again.since("p", "level", 0) == recent.since("p", "level", 0)
    finally:
        store.close()


def test_a_ponds_chart_lines_follow_the_season(compiled: CompiledConfig) -> None:
    june = thresholds(compiled, "maokeng-pond", T0_MS)
    august = thresholds(compiled, "maokeng-pond", ts_to_ms(datetime(2026, 8, 1, tzinfo=UTC)))
    structure = {line["structure"]: line for line in june if "structure" in line}
    assert structure["crest"] == {"kind": "level", "structure": "crest", "label": "坝顶",
                                  "label_en": "dam crest", "value": 312.0}  # fmt: skip
    assert structure["flood_limit"]["value"] == 310.4
    assert {line["structure"]: line["value"] for line in august if "structure" in line}[
        "flood_limit"
    ] == 310.6
    rule_lines = {
        (line["rule"], line["severity"]): line for line in june if line.get("rule") == "pond-level"
    }
    assert rule_lines[("pond-level", "blue")]["value"] == 310.4
    assert rule_lines[("pond-level", "red")]["value"] == pytest.approx(311.8)
    assert rule_lines[("pond-level", "red")]["label"] == "山塘水位红色"
    assert rule_lines[("pond-level", "red")]["label_en"] == "pond level red"
    assert not any(line["kind"] == "rain" for line in june)


def test_a_rain_gauges_lines_are_its_windows_and_an_unknown_station_has_none(
    compiled: CompiledConfig,
) -> None:
    lines = thresholds(compiled, "maokeng-rain", T0_MS)
    assert all(line["kind"] == "rain" for line in lines)
    by = {(line["severity"], line["window"]): line["value"] for line in lines}
    assert by[("blue", "1h")] == 30 and by[("red", "24h")] == 250
    assert len(by) == 16
    assert thresholds(compiled, "nowhere", T0_MS) == []


def event(station: str, severity: str, rule: str = "pond-level", **extra: Any) -> dict[str, Any]:
    return {"station": station, "severity": severity, "rule": rule, **extra}


def test_a_stations_row_shows_its_worst_warning_health_and_ages(
    compiled: CompiledConfig,
) -> None:
    recent = Recent()
    recent.add([reading("maokeng-pond", "level", T0_MS + i * 300_000, 310.0 + i / 100)
                for i in range(100)])  # fmt: skip
    clock = T0_MS + 99 * 300_000 + 60_000
    active = [
        event("maokeng-pond", "blue"),
        event("maokeng-pond", "orange"),
        event("maokeng-pond", "yellow"),
        event("maokeng-pond", "info", "sensor-health", details={"check": "stale"}),
        event("maokeng-pond", "info", "sensor-health"),
        event("xiawu-pond", "red"),
    ]
    rows = station_rows(compiled, recent, active, clock, only={"maokeng-pond", "maokeng-rain"})
    assert [r["id"] for r in rows] == ["maokeng-pond", "maokeng-rain"]
    pond, rain = rows
    assert pond["level"] == "orange"
    assert pond["health"] == ["sensor-health", "stale"]
    assert pond["latest"]["level"]["age_s"] == 60.0
    assert pond["latest"]["level"]["value"] == pytest.approx(310.99)
    assert len(pond["spark"]) <= 72 + 1 and pond["spark"][-1][0] <= clock
    assert pond["spark"][0][0] >= clock - 6 * HOUR
    assert {line["severity"] for line in pond["lines"]} == {"blue", "yellow", "orange", "red"}
    assert pond["village"] == "毛坑村" and pond["name_en"] == "Maokeng pond"
    assert rain["level"] is None and rain["latest"] == {} and rain["lines"] == []
    whole = station_rows(compiled, recent, active, None)
    assert len(whole) == len(compiled.stations)
    assert next(r for r in whole if r["id"] == "maokeng-pond")["latest"]["level"]["age_s"] is None
    assert next(r for r in whole if r["id"] == "xiawu-pond")["level"] == "red"


def test_an_alerts_summary_and_timeline_after_the_storm(setup: Setup) -> None:
    service, _, client = setup
    feed(client, service, STORM)
    store = service.store
    loop = client.portal
    assert store is not None and loop is not None
    active = loop.call(store.active)
    flood = next(a for a in active if a.get("incident"))
    summary = loop.call(alert_summary, flood, store.people, store)
    assert summary["acknowledged"] is None
    assert summary["unanswered"]  # people were called about its incident
    assert summary["id"] == flood["id"] and isinstance(summary["deliveries"], dict | list)
    line = loop.call(timeline, flood["id"], store.people, store)
    assert line is not None
    assert line["id"] == flood["id"] and line["active"] is True
    assert line["current"] == line["transitions"][-1]
    created = [float(d["created"]) for d in line["deliveries"]]
    assert created == sorted(created)
    told = [d for d in line["deliveries"] if d.get("incident") == flood["incident"]]
    assert told, "the incident's notices to people are on the alert's timeline"
    people = {p.name for p in service.compiled.config.people}
    sms = [d for d in told if d["recipient"] in people]
    assert sms and all(d["recipient_id"] for d in sms)
    assert loop.call(timeline, "no-such-alert", store.people, store) is None
