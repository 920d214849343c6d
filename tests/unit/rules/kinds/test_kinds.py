"""Golden timelines per rule kind: input series → expected alert timeline."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import numpy as np

from floodwatch.readings import Reading
from floodwatch.rules.kinds.crest import robust_trend
from floodwatch.testing import T0, compile_yaml, run, series, timeline
from tests.conftest import POND


def cfg(rules: str):  # type: ignore[no-untyped-def]
    return compile_yaml(stations=POND, rules=rules)


LEVEL = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    hysteresis: 0.05
    levels:
      yellow: {enter: design_flood}
      red: {enter: crest - 0.2}
"""


def test_level_fires_escalates_downgrades_resolves() -> None:
    values = [311.2, 311.45, 311.5, 311.75, 311.85, 311.9, 311.7, 311.5, 311.3]
    events = run(cfg(LEVEL), series("p1", "level", values))
    assert timeline(events) == [
        (5, "yellow", "firing"),
        (20, "red", "escalated"),
        (30, "yellow", "downgraded"),
        (40, "yellow", "resolved"),
    ]
    assert len({e.id for e in events}) == 1  # one episode, one id


def test_hysteresis_hovering_gives_one_firing_and_one_resolve() -> None:
    # ±2 cm around the yellow line (311.4) for 6 hours, then clearly below.
    hover = [311.4 + (0.02 if i % 2 else -0.02) for i in range(72)]
    events = run(cfg(LEVEL), series("p1", "level", [*hover, 311.2]))
    assert [(e.severity.value, e.transition.value) for e in events] == [
        ("yellow", "firing"),
        ("yellow", "resolved"),
    ]


def test_dwell_up_and_down() -> None:
    rules = LEVEL.replace("hysteresis: 0.05", "hysteresis: 0.05\n    for: 10m\n    clear_for: 15m")
    # 5 min above (too short) → nothing; then 10 min above → fires at the dwell end.
    values = [311.3, 311.5, 311.3, 311.5, 311.5, 311.5, 311.3, 311.3, 311.3, 311.3]
    events = run(cfg(rules), series("p1", "level", values))
    assert timeline(events) == [(25, "yellow", "firing"), (45, "yellow", "resolved")]


def test_freeboard_is_a_falling_hazard() -> None:
    rules = """
rules:
  - id: fb
    kind: freeboard
    stations: [p1]
    hysteresis: 0.05
    levels: {orange: {enter: 0.4}, red: {enter: 0.2}}
"""
    events = run(cfg(rules), series("p1", "level", [311.5, 311.65, 311.85, 311.7, 311.5]))
    assert timeline(events) == [
        (5, "orange", "firing"),
        (10, "red", "escalated"),
        (15, "orange", "downgraded"),
        (20, "orange", "resolved"),
    ]
    assert events[0].value == 0.35 and events[0].threshold == 0.4


def test_rate_of_rise() -> None:
    rules = """
rules:
  - id: rise
    kind: rate_of_rise
    stations: [p1]
    window: 30m
    levels: {yellow: {enter: 0.3}, red: {enter: 1.0}}
"""
    # 2 cm per 5 min = 0.24 m/h, then 10 cm per 5 min = 1.2 m/h.
    values = [310.0 + 0.02 * i for i in range(8)] + [310.14 + 0.1 * i for i in range(1, 8)]
    events = run(cfg(rules), series("p1", "level", values))
    assert [e.severity.value for e in events][:2] == ["yellow", "red"]


def test_robust_trend_ignores_a_single_outlier() -> None:
    t = np.arange(0, 35 * 60_000, 5 * 60_000, dtype=np.int64)
    y = 311.0 + 0.6 * t / 3_600_000
    y[3] += 0.2
    slope, fitted = robust_trend(t, y, int(t[-1]))
    assert abs(slope * 3_600_000 - 0.6) < 1e-9
    assert abs(fitted - y[-1]) < 1e-9


def test_time_to_crest_carries_the_projection() -> None:
    rules = """
rules:
  - id: ttc
    kind: time_to_crest
    stations: [p1]
    window: 30m
    levels: {orange: {enter: 2h}, red: {enter: 30m}}
"""
    # Rising 0.6 m/h from 311.0; the first projection needs 4 points (at 311.15):
    # 0.85 m at 0.6 m/h = 85 min to the crest.
    values = [311.0 + 0.05 * i for i in range(20)]
    events = run(cfg(rules), series("p1", "level", values))
    assert timeline(events)[:2] == [(15, "orange", "firing"), (70, "red", "escalated")]
    assert events[0].forecast == {"minutes_to_crest": 85.0, "rate_m_per_h": 0.6}
    assert "85分钟" in events[0].message_zh


def test_time_to_crest_reports_overtopping_and_holds_until_below_the_crest() -> None:
    rules = """
rules:
  - id: ttc
    kind: time_to_crest
    stations: [p1]
    window: 30m
    clear_for: 10m
    overtop_exit: 0.05
    levels: {orange: {enter: 2h}, red: {enter: 30m}}
"""
    rise = [311.0 + 0.1 * i for i in range(11)]  # reaches the crest (312.0) at 50 min
    peak = [312.1, 312.15, 312.1]
    # falling: still above crest − 0.05 for 20 min, then below it
    fall = [312.0, 311.98, 311.96, 311.96, 311.94, 311.9, 311.85, 311.8, 311.7, 311.6]
    events = run(cfg(rules), series("p1", "level", rise + peak + fall))
    assert timeline(events) == [
        (15, "orange", "firing"),
        (25, "red", "escalated"),
        (50, "red", "escalated"),  # at the crest: overtopping now
        (100, "red", "resolved"),  # 10 min after it fell below 311.95 (at 90 min)
    ]
    over = events[2]
    assert over.forecast == {"overtopping": True, "minutes_to_crest": 0.0}
    assert over.previous_severity is not None and over.previous_severity.value == "red"
    assert "已漫坝，正在漫顶" in over.message_zh and "overtopping now" in over.message_en
    assert "漫顶停止" in events[3].message_zh


def test_overtopping_raises_red_even_without_a_red_forecast_level() -> None:
    rules = """
rules:
  - id: ttc
    kind: time_to_crest
    stations: [p1]
    levels: {yellow: {enter: 2h}}
"""
    values = [311.0 + 0.1 * i for i in range(11)]
    events = run(cfg(rules), series("p1", "level", values))
    assert timeline(events) == [(15, "yellow", "firing"), (50, "red", "escalated")]


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
