"""Golden timelines per rule kind: input series → expected alert timeline (rainfall,
compound, sensor health; level, freeboard and rate of rise in test_threshold.py,
time to crest in test_crest.py)."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from floodwatch.readings import Reading
from floodwatch.testing import T0, compile_yaml, run, series, timeline
from tests.conftest import POND


def cfg(rules: str):  # type: ignore[no-untyped-def]
    return compile_yaml(stations=POND, rules=rules)


RAIN = """
rules:
  - id: rain
    kind: rainfall
    stations: [r1]
    levels:
      blue: {within: {1h: 30, 3h: 50}}
      red: {within: {1h: 70, 3h: 120}, stage: evacuate}
"""


def test_rainfall_any_window_fires_and_carries_stage() -> None:
    # 36 reports of 0 (3 h of history), then 10 mm per 5 min for an hour.
    values = [0.0] * 36 + [10.0] * 12 + [0.0] * 60
    events = run(cfg(RAIN), series("r1", "rain", values))
    assert events[0].severity.value == "blue" and events[0].details["window"] == "1h"
    red = next(e for e in events if e.severity.value == "red")
    assert red.stage is not None and red.stage.value == "evacuate"
    assert "立即转移" in red.message_zh
    assert events[-1].transition.value == "resolved"


def test_rainfall_gap_is_not_zero_rain() -> None:
    values = [0.0] * 36 + [10.0] * 4  # 40 mm in 20 minutes → blue
    readings = series("r1", "rain", values)
    # then the gauge reports only every 30 min (gaps): the window is incomplete,
    # so the alert is never cleared even though the reported sum falls.
    last = readings[-1].ts
    readings += [Reading("r1", "rain", 0.0, last + timedelta(minutes=30 * k)) for k in range(1, 9)]
    events = run(cfg(RAIN), readings)
    assert timeline(events) == [(190, "blue", "firing")]


COMPOUND = """
rules:
  - id: blocked
    kind: compound
    stations: [p1]
    severity: orange
    for: 10m
    all:
      - {station: self, metric: rate_of_rise, window: 30m, above: 0.15}
      - {station: $outlet, kind: flow, below: 0.3}
"""


def test_compound_blocked_culvert() -> None:
    levels = series("p1", "level", [310.5 + 0.03 * i for i in range(14)])
    flow_open = series("c1", "flow", [1.5] * 14)
    flow_blocked = series("c1", "flow", [0.05] * 14)
    assert run(cfg(COMPOUND), [*levels, *flow_open]) == []
    events = run(cfg(COMPOUND), [*levels, *flow_blocked])
    assert timeline(events)[0][1:] == ("orange", "firing")


def test_compound_unknown_when_linked_gauge_is_silent() -> None:
    levels = series("p1", "level", [310.5 + 0.03 * i for i in range(14)])
    flow = series("c1", "flow", [0.05] * 2)  # culvert meter silent after 10 min
    assert run(cfg(COMPOUND), [*levels, *flow]) == []


HOLD = (
    COMPOUND
    + """    clear_for: 10m
    hold_while:
      all:
        - {station: $outlet, kind: flow, below: 0.3}
        - {station: self, above: flood_limit}
"""
)


def _blocked_storm(flow: list[float]) -> list[Reading]:
    """The pond rises 0.36 m/h for an hour, then stands still at 311.0 (above its
    flood limit, 310.6) for two hours: the rise stops, the culvert does not clear."""
    rise = [310.5 + 0.03 * i for i in range(14)]
    return [*series("p1", "level", rise + [rise[-1]] * 24), *series("c1", "flow", flow)]


def test_a_compound_alert_holds_while_its_hold_conditions_may_be_true() -> None:
    without_hold = run(cfg(COMPOUND + "    clear_for: 10m\n"), _blocked_storm([0.05] * 38))
    assert [e.transition.value for e in without_hold] == ["firing", "resolved"]  # the old bug
    held = run(cfg(HOLD), _blocked_storm([0.05] * 38))
    assert [e.transition.value for e in held] == ["firing"]  # still blocked: still warned
    cleared = run(cfg(HOLD), _blocked_storm([0.05] * 20 + [1.2] * 18))  # cleared at 100 min
    assert timeline(cleared)[1] == (110, "orange", "resolved")  # after clear_for
    assert "放水" in cleared[1].message_zh or "涵管" in cleared[1].message_zh
    assert set(cleared[1].details["hold_while"]) == {"c1.flow.value", "p1.level.value"}


def test_unknown_hold_data_never_clears() -> None:
    # The culvert meter falls silent after 60 min: the hold is unknown, the alert stays.
    events = run(cfg(HOLD), _blocked_storm([0.05] * 12))
    assert [e.transition.value for e in events] == ["firing"]


def test_clear_when_gives_clearing_its_own_conditions() -> None:
    rules = (
        COMPOUND
        + """    clear_for: 10m
    clear_when:
      any:
        - {station: $outlet, kind: flow, above: 1.0}
"""
    )
    held = run(cfg(rules), _blocked_storm([0.05] * 38))
    assert [e.transition.value for e in held] == ["firing"]
    cleared = run(cfg(rules), _blocked_storm([0.05] * 20 + [1.2] * 18))
    assert timeline(cleared)[1] == (110, "orange", "resolved")


HEALTH = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    levels: {yellow: {enter: design_flood}, red: {enter: crest - 0.2}}
  - id: health
    kind: sensor_health
    stations: [p1]
    stale_after: 2
    stuck_for: 1h
"""


def test_spike_is_a_sensor_alert_not_a_flood_alert() -> None:
    values = [310.5] * 5 + [315.5 - 0.6] + [310.5] * 5  # one +4.4 m spike, in range
    events = run(cfg(HEALTH), series("p1", "level", values))
    assert {e.severity.value for e in events} == {"info"}
    assert [e.rule for e in events] == ["health/spike", "health/spike"]


def test_out_of_range_never_clears_a_flood_alert() -> None:
    values = [311.5, 311.5, 0.0, 0.0, 0.0]  # gauge reads 0 (broken) while yellow is active
    events = run(cfg(HEALTH), series("p1", "level", values))
    assert [(e.rule, e.transition.value) for e in events] == [
        ("lvl", "firing"),
        ("health/out_of_range", "firing"),
    ]


def test_stuck_gauge() -> None:
    events = run(cfg(HEALTH), series("p1", "level", [310.5] * 20))
    assert [(e.rule, e.transition.value) for e in events] == [("health/stuck", "firing")]


def test_stale_gauge_keeps_its_flood_alert() -> None:
    readings = series("p1", "level", [311.5] * 4)
    # Another station keeps reporting, so event time moves on.
    readings += series("c1", "flow", [1.0] * 12)
    events = run(cfg(HEALTH), readings)
    assert [(e.rule, e.transition.value) for e in events] == [
        ("lvl", "firing"),
        ("health/stale", "firing"),
    ]
    stale = events[1]
    assert stale.severity.value == "info"
    assert (stale.ts - T0) <= timedelta(minutes=15 + 10)


def _flagged(values: list[float], flags: dict[int, str]) -> list[Reading]:
    return [
        msgspec.structs.replace(r, quality=flags.get(i))
        for i, r in enumerate(series("p1", "level", values))
    ]


def test_a_gauge_the_rtu_reports_faulty_is_a_sensor_alert_and_held_back() -> None:
    # the RTU's status word says "level gauge fault" on readings 2 and 3 (SL 651 `45`)
    values = [310.5, 310.5, 311.6, 311.6, 310.6]
    events = run(cfg(HEALTH), _flagged(values, {2: "gauge_fault", 3: "gauge_fault"}))
    assert [(e.rule, e.transition.value) for e in events] == [
        ("health/gauge_fault", "firing"),
        ("health/gauge_fault", "resolved"),
    ]
    assert "经遥测终端自检报告故障" in events[0].message_zh


def test_over_the_rtu_limit_is_a_sensor_alert_and_the_reading_is_used() -> None:
    values = [311.0, 311.25, 311.5, 311.5, 311.25, 311.0]  # yellow at 311.4
    flags = {2: "over_limit", 3: "over_limit"}
    events = run(cfg(HEALTH), _flagged(values, flags))
    assert [(e.rule, e.transition.value) for e in events] == [
        ("health/over_limit", "firing"),
        ("lvl", "firing"),
        ("health/over_limit", "resolved"),
        ("lvl", "resolved"),
    ]
    assert "311.50 m, over the alarm limit set in its telemetry terminal" in events[0].message_en
    assert "311.50米，遥测终端报告超过其设定的报警限值" in events[0].message_zh
    # without a sensor rule the reading still counts
    alone = HEALTH.split("  - id: health", maxsplit=1)[0]
    plain = run(cfg(alone), _flagged(values, flags))
    assert [(e.rule, e.transition.value) for e in plain] == [("lvl", "firing"), ("lvl", "resolved")]
