"""Incidents on a fake clock (event time): grouping of a pond with its culvert
and rain gauge, changes per severity, all-clear only when every flood alert has
resolved, never on silence, lost-observation warnings, inhibition."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from msgspec.structs import replace

from floodwatch.alerts.event import AlertEvent, episode_id
from floodwatch.alerts.state import Severity, Status, Transition
from floodwatch.config.errors import ConfigError
from floodwatch.config.incidents import IncidentSettings
from floodwatch.notify.sinks import load_config_dir
from floodwatch.replay.run import replay_lines
from floodwatch.rules.base import Figure
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine
from floodwatch.rules.incidents.inhibit import inhibited
from floodwatch.rules.incidents.text import notice, rule_names
from floodwatch.rules.incidents.tracker import Change, Groups, IncidentTracker, worst_first
from floodwatch.sim import SCENARIOS, simulate
from tests.events import alert_event

CONFIG = compile_config(load_config_dir("config"))
STATIONS = {s.id: s for s in CONFIG.config.stations}
T0 = datetime(2026, 7, 7, 6, 0, tzinfo=UTC)
R, OR, Y, B, INFO = Severity.RED, Severity.ORANGE, Severity.YELLOW, Severity.BLUE, Severity.INFO
F, E, D, X = (Transition.FIRING, Transition.ESCALATED, Transition.DOWNGRADED,
              Transition.RESOLVED)  # fmt: skip
KINDS = {"pond-level": "level", "pond-overtop": "time_to_crest", "pond-freeboard": "freeboard",
         "rain-accumulation": "rainfall", "culvert-blocked": "compound",
         "pond-rise": "rate_of_rise",
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
    return alert_event(
        rule,
        kind,
        severity,
        station,
        T0 + timedelta(minutes=minute),
        station_name=STATIONS[station].name,
        transition=transition,
        episode_start=T0,
        value=value,
        forecast={"minutes_to_crest": 25.0} if kind == "time_to_crest" else None,
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


def ms(minute: int) -> int:
    return int((T0 + timedelta(minutes=minute)).timestamp() * 1000)


def test_a_notice_tells_each_figure_as_of_its_change_not_of_the_alerts_last_transition() -> None:
    """The rise was 0.64 m/h when its alert went orange at 05:45 and 0.36 m/h
    when the dam overtopped: the overtopping notice says 0.36 (and never a
    figure from after it)."""
    t = tracker()
    rise = alert(0, "pond-rise", OR, value=0.64)
    level = alert(0, "pond-level", OR, value=311.65)
    rain = replace(alert(0, "rain-accumulation", OR, station="maokeng-rain", value=50.0),
                   details={"window": "1h"})  # fmt: skip
    t.apply([rise, level, rain], [(ms(0), {rise.id: Figure(ms(0), 0.64)})])
    over = replace(
        alert(20, "pond-overtop", R, E),
        previous_severity=R,
        forecast={"overtopping": True, "minutes_to_crest": 0.0},
        details={"level": 312.01},
    )
    figures = [
        (ms(20), {rise.id: Figure(ms(20), 0.36), level.id: Figure(ms(20), 312.01),
                  rain.id: Figure(ms(20), 61.0, None, {"window": "1h"})}),
        (ms(25), {rise.id: Figure(ms(25), 0.1)}),  # after the change: not told
    ]  # fmt: skip
    out = t.apply([over], figures)
    [change] = out.changes
    assert set(change.figures) == {rise.id, level.id, rain.id}
    zh = notice(change, STATIONS, rule_names(CONFIG.config.rules)).message_zh
    assert "水位312.01米（坝顶312.00米），每小时上涨0.36米" in zh, zh
    assert "1小时累计雨量61毫米" in zh and "0.64" not in zh and "0.10" not in zh, zh


def test_without_a_figure_an_alert_tells_its_own_value() -> None:
    t = tracker()
    out = t.apply([alert(0, "pond-rise", OR, value=0.64), alert(0, "pond-level", OR, value=311.7)])
    zh = notice(out.changes[0], STATIONS, rule_names(CONFIG.config.rules)).message_zh
    assert "水位311.70米（坝顶312.00米）；水位每小时上涨0.64米" in zh, zh


def test_the_engine_gives_each_active_alerts_figures_at_each_instant_that_raised_one() -> None:
    """At the instant of an alert's own transition its figure is the value of
    that transition; fast path or not, the figures are the same."""
    storm = simulate(SCENARIOS["blocked"], start=T0, seed=7).readings
    fast, exact = Engine(CONFIG).process(storm), Engine(CONFIG, fast=False).process(storm)
    assert fast.figures == exact.figures and fast.figures
    at = dict(fast.figures)
    told = 0
    for event in fast.alerts:
        if event.transition is X or event.kind in ("compound", "sensor_health"):
            continue
        figure = at[int(event.ts.timestamp() * 1000)].get(event.id)
        if event.kind == "time_to_crest" and figure is None:
            continue  # not within reach now: the alert's forecast stands
        assert figure is not None, event
        assert figure.value == pytest.approx(event.value, abs=0.05), (event, figure)
        told += 1
    assert told >= 10


def test_every_incident_notice_tells_the_level_read_at_its_moment() -> None:
    storm = simulate(SCENARIOS["blocked"], start=T0, seed=7).readings
    levels = {r.ts: r.value for r in storm if r.station == "maokeng-pond" and r.kind == "level"}
    out = Engine(CONFIG).process(storm)
    applied = tracker().apply(out.alerts, out.figures)
    names = rule_names(CONFIG.config.rules)
    checked = 0
    for change in applied.changes:
        if change.station != "maokeng-pond" or change.change in (
            Change.ALL_CLEAR,
            Change.LOST_OBSERVATION,
        ):
            continue  # fmt: skip
        made = notice(change, STATIONS, names)
        read = levels[max(t for t in levels if t <= change.ts)]
        assert made.details["level"] == pytest.approx(read, abs=0.005), made.message_zh
        checked += 1
    assert checked >= 3


# -- the tracker's own guarantees, one by one ---------------------------------------


def test_the_incident_id_is_the_head_station_and_start_so_the_same_input_gives_it() -> None:
    first = tracker().apply([alert(3, "rain-accumulation", B, station="maokeng-rain")])
    again = tracker().apply([alert(3, "rain-accumulation", B, station="maokeng-rain")])
    start = int((T0 + timedelta(minutes=3)).timestamp() * 1000)
    assert first.changes[0].incident == episode_id("incident", "maokeng-pond", start)
    assert again.changes[0].incident == first.changes[0].incident
    assert first.changes[0].station == "maokeng-pond"  # named by the pond, not the gauge


def test_applying_a_transition_twice_changes_nothing_the_second_time() -> None:
    t = tracker()
    level = alert(0, "pond-level", B)
    assert [c.change for c in t.apply([level]).changes] == [Change.RAISED]
    assert t.apply([level]).changes == []  # not even an "updated": nobody new to tell
    assert [c.change for c in t.apply([alert(5, "pond-level", B, X)]).changes] == [Change.ALL_CLEAR]
    assert t.apply([alert(5, "pond-level", B, X)]).changes == []
    assert t.open == {}


def test_an_alert_raised_without_changing_the_severity_is_an_update() -> None:
    t = tracker()
    t.apply([alert(0, "pond-level", OR)])
    out = t.apply([alert(5, "rain-accumulation", Y, station="maokeng-rain")])
    assert [(c.change, c.severity, c.previous_severity) for c in out.changes] == [
        (Change.UPDATED, OR, OR)
    ]
    assert out.changes[0].cause.rule == "rain-accumulation"
    # a lowered alert that leaves the incident's colour as it was: no news at all
    assert t.apply([alert(10, "rain-accumulation", B, D, station="maokeng-rain")]).changes == []


def test_transitions_of_one_instant_make_one_change_per_incident() -> None:
    t = tracker()
    out = t.apply(
        [
            alert(0, "pond-level", B),
            alert(0, "pond-overtop", OR),
            alert(0, "rain-accumulation", R, station="maokeng-rain"),
            alert(0, "pond-level", Y, station="xiawu-pond"),
        ]
    )
    assert sorted((c.station, c.change.value, c.severity.value) for c in out.changes) == [
        ("maokeng-pond", "raised", "red"),
        ("xiawu-pond", "raised", "yellow"),
    ]
    [maokeng] = [c for c in out.changes if c.station == "maokeng-pond"]
    assert [a.severity for a in maokeng.alerts] == [R, OR, B]  # worst first


def test_a_drill_has_incidents_of_its_own() -> None:
    t = tracker()
    real = alert(0, "pond-level", OR)
    drill = replace(alert(1, "pond-level", R), id="drill", status=Status.EXERCISE)
    out = t.apply([real, drill])
    assert [(c.status.value, c.change.value, c.severity.value) for c in out.changes] == [
        ("actual", "raised", "orange"),
        ("exercise", "raised", "red"),
    ]
    assert len({c.incident for c in out.changes}) == 2
    ended = t.apply([replace(drill, transition=X, ts=T0 + timedelta(minutes=5))])
    assert [(c.change, c.status) for c in ended.changes] == [(Change.ALL_CLEAR, Status.EXERCISE)]
    assert t.incident_of("maokeng-culvert", Status.ACTUAL) is not None  # the real one goes on
    assert t.incident_of("maokeng-culvert", Status.EXERCISE) is None


def test_restore_takes_up_the_open_incidents_and_their_active_alerts() -> None:
    before = tracker()
    applied = before.apply(
        [alert(0, "pond-level", OR), alert(0, "sensor-health/stale", INFO, station="maokeng-rain")]
    )
    active = [a for a in applied.alerts if a.transition is not X]
    after = tracker()
    after.restore(list(before.open.values()), active)
    inc = after.incident_of("maokeng-pond", Status.ACTUAL)
    assert inc is not None and inc.id == applied.changes[0].incident
    assert set(after.stale) == set(before.stale) == {("maokeng-rain", Status.ACTUAL)}
    # the stale rain gauge holds the incident: the level resolving does not clear it
    out = after.apply([alert(20, "pond-level", OR, X)])
    assert [c.change for c in out.changes] == []
    back = after.apply([alert(30, "sensor-health/stale", INFO, X, station="maokeng-rain")])
    assert [c.change for c in back.changes] == [Change.ALL_CLEAR]


def test_operations_notices_and_unknown_stations_pass_through_unannotated() -> None:
    t = tracker()
    ops = replace(alert(0, "pond-level", B), kind="operations", rule="store-full")
    stranger = replace(alert(0, "pond-level", R), station="elsewhere")
    out = t.apply([ops, stranger])
    assert out.alerts == [ops, stranger] and out.changes == [] and t.open == {}


def test_without_lost_observation_a_silent_gauge_raises_no_warning() -> None:
    settings = IncidentSettings.model_validate({"lost_observation": {"enabled": False}})
    t = IncidentTracker(CONFIG.config.stations, settings)
    t.apply([alert(0, "pond-level", R)])
    lost = t.apply([alert(5, "sensor-health/stale", INFO)])
    assert lost.changes == [] and all(a.rule != "observation-lost" for a in lost.alerts)
    assert [a.incident is not None for a in lost.alerts] == [True]  # still of the incident


def test_below_the_lost_observation_severity_a_silent_gauge_raises_no_warning() -> None:
    t = tracker()
    t.apply([alert(0, "pond-level", B)])  # blue: below yellow
    lost = t.apply([alert(5, "sensor-health/stale", INFO)])
    assert lost.changes == [] and all(a.rule != "observation-lost" for a in lost.alerts)


def test_worst_first_orders_by_severity_then_by_what_says_most_of_the_hazard() -> None:
    alerts = [
        alert(0, "rain-accumulation", R, station="maokeng-rain"),
        alert(0, "pond-level", R),
        alert(0, "pond-overtop", R),
        alert(0, "pond-freeboard", OR),
        alert(0, "sensor-health/stale", INFO),
    ]
    assert [a.kind for a in sorted(alerts, key=worst_first)] == [
        "time_to_crest",
        "level",
        "rainfall",
        "freeboard",
        "sensor_health",
    ]
