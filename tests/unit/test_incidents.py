"""Incidents on a fake clock (event time): grouping of a pond with its culvert
and rain gauge, changes per severity, all-clear only when every flood alert has
resolved, never on silence, lost-observation warnings, inhibition."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from msgspec.structs import replace

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.config import load_config_dir
from floodwatch.config.errors import ConfigError
from floodwatch.config.incidents import IncidentSettings
from floodwatch.replay.run import replay_lines
from floodwatch.rules.compile import compile_config
from floodwatch.rules.incidents.inhibit import inhibited
from floodwatch.rules.incidents.text import notice, rule_names
from floodwatch.rules.incidents.tracker import Change, Groups, IncidentTracker
from floodwatch.sim import SCENARIOS, simulate

CONFIG = compile_config(load_config_dir("config"))
STATIONS = {s.id: s for s in CONFIG.config.stations}
T0 = datetime(2026, 7, 7, 6, 0, tzinfo=UTC)
R, OR, Y, B, INFO = Severity.RED, Severity.ORANGE, Severity.YELLOW, Severity.BLUE, Severity.INFO
F, E, D, X = (Transition.FIRING, Transition.ESCALATED, Transition.DOWNGRADED,
              Transition.RESOLVED)  # fmt: skip
KINDS = {"pond-level": "level", "pond-overtop": "time_to_crest", "pond-freeboard": "freeboard",
         "rain-accumulation": "rainfall", "culvert-blocked": "compound",
         "sensor-health/stale": "sensor_health"}  # fmt: skip


def alert(
    minute: int,
    rule: str,
    severity: Severity,
    transition: Transition = F,
    station: str = "maokeng-pond",
    value: float | None = None,
) -> AlertEvent:
    kind = KINDS[rule]
    return AlertEvent(
        id=f"{station}:{rule}",
        rule=rule,
        kind=kind,
        station=station,
        station_name=STATIONS[station].name,
        severity=severity,
        previous_severity=None,
        transition=transition,
        ts=T0 + timedelta(minutes=minute),
        episode_start=T0,
        value=value,
        threshold=None,
        unit="",
        forecast={"minutes_to_crest": 25.0} if kind == "time_to_crest" else None,
        message_zh="",
        message_en="",
        details={"check": "stale"} if kind == "sensor_health" else {},
    )


def tracker() -> IncidentTracker:
    return IncidentTracker(CONFIG.config.stations, CONFIG.config.engine.incidents)


def changes(t: IncidentTracker, *events: AlertEvent) -> list[tuple[int, str, str]]:
    """(minute, change, severity) of the changes (`updated` left out)."""
    out = t.apply(events)
    return [(int((c.ts - T0).total_seconds() // 60), c.change.value, c.severity.value)
            for c in out.changes if c.change is not Change.UPDATED]  # fmt: skip


def test_a_pond_its_culvert_and_its_rain_gauge_are_one_incident() -> None:
    groups = Groups.of(CONFIG.config.stations, CONFIG.config.engine.incidents)
    assert groups.head("maokeng-culvert") == "maokeng-pond"
    assert groups.head("maokeng-rain") == "maokeng-pond"
    assert groups.head("xiawu-pond") == "xiawu-pond"
    custom = IncidentSettings(links=["outlet"], groups=[["xiawu-pond", "maokeng-rain"]])
    other = Groups.of(CONFIG.config.stations, custom)
    assert other.head("maokeng-rain") == "xiawu-pond"
    assert other.head("maokeng-culvert") == "maokeng-pond"


def test_one_change_per_severity_change_and_all_clear_only_when_all_resolved() -> None:
    t = tracker()
    assert changes(t, alert(0, "pond-level", B)) == [(0, "raised", "blue")]
    assert changes(t, alert(5, "rain-accumulation", B, station="maokeng-rain")) == []
    assert changes(t, alert(10, "pond-overtop", OR)) == [(10, "escalated", "orange")]
    assert changes(t, alert(15, "pond-level", OR, E), alert(15, "pond-overtop", R, E)) == [
        (15, "escalated", "red")
    ]
    assert changes(t, alert(40, "pond-overtop", R, X)) == [(40, "downgraded", "orange")]
    assert changes(t, alert(50, "pond-level", OR, X)) == [(50, "downgraded", "blue")]
    assert changes(t, alert(80, "rain-accumulation", B, X, "maokeng-rain")) == [
        (80, "all_clear", "blue")
    ]
    assert changes(t, alert(90, "pond-level", Y)) == [(90, "raised", "yellow")]


def test_every_alert_of_the_group_carries_the_incident_id() -> None:
    t = tracker()
    out = t.apply([alert(0, "pond-level", OR), alert(1, "rain-accumulation", B,
                                                    station="maokeng-rain")])  # fmt: skip
    stale = t.apply([alert(2, "sensor-health/stale", INFO, station="maokeng-culvert")])
    incident = out.changes[0].incident
    assert incident.startswith("maokeng-pond:incident:")
    assert {a.incident for a in out.alerts + stale.alerts} == {incident}
    quiet = t.apply([alert(3, "sensor-health/stale", INFO, station="xiawu-pond")])
    assert quiet.alerts[0].incident is None  # a sensor notice outside any incident


def test_a_gauge_lost_during_a_warning_raises_a_warning_and_holds_the_incident() -> None:
    t = tracker()
    t.apply([alert(0, "pond-level", OR)])
    lost = t.apply([alert(10, "sensor-health/stale", INFO)])
    warning = [a for a in lost.alerts if a.rule == "observation-lost"]
    assert len(warning) == 1 and warning[0].severity is OR  # a warning, not info
    assert warning[0].message_zh == (
        "毛坑山塘水位计失联，当前橙色预警，请巡查责任人立即到现场人工观测。"
    )
    assert [c.change for c in lost.changes] == [Change.LOST_OBSERVATION]
    # the other alerts resolve; the incident never clears while the gauge is silent
    assert changes(t, alert(30, "pond-level", OR, X)) == []
    back = t.apply([alert(45, "sensor-health/stale", INFO, X)])
    assert [a.transition for a in back.alerts if a.rule == "observation-lost"] == [X]
    assert [c.change for c in back.changes] == [Change.ALL_CLEAR]


def test_a_gauge_already_silent_when_the_warning_rises_to_yellow_is_reported() -> None:
    t = tracker()
    assert changes(t, alert(0, "sensor-health/stale", INFO, station="maokeng-rain")) == []
    assert changes(t, alert(5, "pond-level", B)) == [(5, "raised", "blue")]
    assert changes(t, alert(10, "pond-level", Y, E)) == [
        (10, "escalated", "yellow"),
        (10, "lost_observation", "yellow"),
    ]


def test_a_red_time_to_crest_inhibits_the_red_level_and_a_stale_gauge_nothing() -> None:
    rules = CONFIG.config.engine.incidents.inhibit
    level, crest = alert(0, "pond-level", R), alert(0, "pond-overtop", R)
    stale = alert(0, "sensor-health/stale", INFO)
    assert inhibited([level, crest, stale], rules) == {level.id}
    assert inhibited([alert(0, "pond-level", R), alert(0, "pond-overtop", OR)], rules) == set()
    t = tracker()
    out = t.apply([level, crest])
    assert out.changes[-1].inhibited == [level.id]
    text = notice(out.changes[-1], STATIONS, rule_names(CONFIG.config.rules))
    assert text.message_zh.startswith("【红色预警】毛坑村毛坑山塘预计25分钟后漫坝")
    assert text.id == text.incident == out.changes[-1].incident


def test_inhibition_from_a_sensor_notice_is_a_config_error(tmp_path: Path) -> None:
    for name in ("stations", "rules", "people"):
        (tmp_path / f"{name}.yaml").write_text(
            Path(f"config/{name}.yaml").read_text(encoding="utf-8"), encoding="utf-8"
        )
    (tmp_path / "engine.yaml").write_text(
        "engine:\n  incidents:\n    inhibit:\n"
        "      - {source: {min_severity: info}, target: {kinds: [level]}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_config_dir(tmp_path)
    assert "engine.incidents.inhibit[0].source.min_severity" in str(err.value)
    assert "a sensor notice (info) never inhibits" in str(err.value)


def test_an_overtopping_storm_is_one_incident_with_one_change_per_severity_change() -> None:
    result = simulate(SCENARIOS["blocked"], start=T0, seed=7, quiet_ponds={"xiawu-pond": 203.8})
    lines = [msgspec_line(r.to_json()) for r in result.readings]
    events: list[AlertEvent] = []
    replay_lines(CONFIG, lines, events.append, lambda r: None)
    out = tracker().apply(events)
    out.changes = [c for c in out.changes if c.change is not Change.UPDATED]
    assert len({c.incident for c in out.changes}) == 1
    flood = [a for a in out.alerts if a.severity is not INFO]
    assert len(flood) > 3 * len(out.changes)  # many alert transitions, few incident changes
    severities = [c.severity for c in out.changes]
    for a, b in itertools.pairwise(out.changes):  # a change of colour, or overtopping now
        assert a.severity != b.severity or (b.cause.forecast or {}).get("overtopping")
    assert [c.change for c in out.changes][:3] == [Change.RAISED, Change.ESCALATED,
                                                    Change.ESCALATED]  # fmt: skip
    assert Severity.RED in severities


def msgspec_line(obj: dict[str, object]) -> bytes:
    import msgspec

    return msgspec.json.encode(obj)


def test_overtopping_now_is_told_even_at_the_same_red() -> None:
    t = tracker()
    t.apply([alert(0, "pond-overtop", R), alert(0, "pond-level", R)])
    over = replace(
        alert(20, "pond-overtop", R, E),
        previous_severity=R,
        forecast={"overtopping": True, "minutes_to_crest": 0.0},
    )
    out = t.apply([over, alert(20, "pond-freeboard", R)])
    assert [(c.change, c.severity) for c in out.changes] == [(Change.ESCALATED, R)]
    text = notice(out.changes[0], STATIONS, rule_names(CONFIG.config.rules))
    assert text.message_zh.startswith(
        "【红色预警·漫坝】毛坑村毛坑山塘正在漫坝"
    )  # not "raised to red": it was red


def test_an_overtopping_alert_reads_back_from_the_store_format() -> None:
    over = replace(
        alert(0, "pond-overtop", R), forecast={"overtopping": True, "minutes_to_crest": 0.0}
    )
    back = AlertEvent.from_json(over.to_json())
    assert back.forecast == {"overtopping": True, "minutes_to_crest": 0.0}
