"""`rules.kinds.crest`: time to crest by a robust straight line (`CrestInstance`)
and what every time-to-crest forecast shares (`CrestCore`): the gate, levels
by minutes to crest (fewer is worse), and overtopping — red at once at the
target, held until the level falls below it by the exit margin."""

from __future__ import annotations

import math

import numpy as np
import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.rules.build import build_series
from floodwatch.rules.incidents.text import notice, rule_names
from floodwatch.rules.incidents.tracker import IncidentTracker
from floodwatch.rules.kinds.crest import CrestInstance, Projection, _shown, robust_trend
from floodwatch.rules.store import Store
from floodwatch.testing import T0, compile_yaml, run, series, timeline
from tests.conftest import POND

MIN = 60_000
START = int(T0.timestamp() * 1000)


def cfg(rules: str):  # type: ignore[no-untyped-def]
    return compile_yaml(stations=POND, rules=rules)


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
    # at the crest (312.00): it said "已漫坝，正在漫顶：水位312.00米，高出坝顶0.00米"
    assert "测试山塘水位312.00米，已到达坝顶。" in over.message_zh
    assert "漫顶" not in over.message_zh and "at the dam crest" in over.message_en
    assert "漫顶停止" in events[3].message_zh


def test_a_reading_at_the_crest_is_overtopping_said_as_reaching_it() -> None:
    # up to 5 mm over: "水位312.00米，已到达坝顶"; over it "正在漫坝：…超过坝顶0.12米"
    values = [311.0 + 0.1 * i for i in range(10)]
    for last, said in [
        (312.004, "【红色预警·漫坝】测试山塘水位312.00米，已到达坝顶。"),
        (312.12, "【红色预警·漫坝】测试山塘正在漫坝：水位312.12米，超过坝顶0.12米。"),
    ]:
        over = run(cfg(TTC), series("p1", "level", [*values, last]))[-1]
        assert over.forecast == {"overtopping": True, "minutes_to_crest": 0.0}
        assert over.message_zh == said + "请立即组织下游群众转移，人员撤离坝体。"
    assert over.message_en.startswith("[RED warning: OVERTOPPING] Test pond is overtopping now: ")


def test_a_trend_at_the_crest_below_it_is_within_a_minute_not_at_the_crest() -> None:
    # rising fast just below the crest: the fitted line is at 312.04 m, the reading
    # 311.98 m — a forecast of 0 minutes. It said "水位已到达坝顶，短于红色预警线60分钟"
    # and the incident "正在漫坝"; only a reading at the crest is overtopping.
    rules = TTC.replace("red: {enter: 30m}", "red: {enter: 60m}")
    compiled = cfg(rules)
    events = run(compiled, series("p1", "level", [311.4, 311.65, 311.9, 311.98]))
    [red] = events
    assert red.forecast is not None and red.forecast["minutes_to_crest"] == 0.0
    assert "overtopping" not in red.forecast and red.details["level"] == 311.98
    assert red.message_zh == (
        "【红色预警】测试山塘预计1分钟内水位到达坝顶，短于红色预警线60分钟。"
        "请立即组织下游群众转移，人员撤离坝体。"
    )
    assert "projected to reach the crest within 1 min" in red.message_en
    stations = {s.id: s for s in compiled.config.stations}
    tracker = IncidentTracker(compiled.config.stations, compiled.config.engine.incidents)
    [change] = tracker.apply(events).changes
    sms = notice(change, stations, rule_names(compiled.config.rules))
    assert sms.message_zh.startswith("【红色预警】测试山塘预计1分钟内漫坝；"), sms.message_zh
    assert "正在漫坝" not in sms.message_zh and "overtop within 1 min" in sms.message_en


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


# -- the instance directly ------------------------------------------------------------

TTC = """
rules:
  - id: ttc
    kind: time_to_crest
    stations: [p1]
    window: 30m
    levels: {orange: {enter: 2h}, red: {enter: 30m}}
"""


def crest_rule(rules: str = TTC) -> CrestInstance:
    built = build_series(cfg(rules))
    Store(list(built.values()))
    [rule] = [r for s in built.values() for r in s.rules if isinstance(r, CrestInstance)]
    return rule


def feed(rule: CrestInstance, values: list[float], out: list[AlertEvent], start: int = 0) -> None:
    """Readings every 5 minutes into the ring, then the rule (as the engine does)."""
    for i, value in enumerate(values, start):
        ts = START + 5 * MIN * i
        rule.ring.append(ts, value)
        rule.on_reading(ts, value, out)


def test_no_projection_before_min_points_then_minutes_to_the_target() -> None:
    rule = crest_rule()
    out: list[AlertEvent] = []
    feed(rule, [311.0, 311.05, 311.1], out)
    assert rule.latest is None and out == []  # 3 points: not yet (min_points 4)
    assert rule.project(START + 10 * MIN, 311.1, 312.0) is None
    feed(rule, [311.15], out, start=3)
    projection = rule.project(START + 15 * MIN, 311.15, 312.0)
    assert projection is not None and projection.minutes == pytest.approx(85.0)
    assert projection.forecast == {"minutes_to_crest": 85.0, "rate_m_per_h": 0.6}
    assert projection.details == {"fitted_level": 311.15}
    assert "0.60米/小时" in projection.what[0]
    assert rule.latest == (START + 15 * MIN, {"minutes_to_crest": 85.0, "rate_m_per_h": 0.6})


def test_a_falling_or_flat_pond_is_never_within_reach() -> None:
    rule = crest_rule()
    out: list[AlertEvent] = []
    feed(rule, [311.5, 311.45, 311.4, 311.35], out)
    projection = rule.project(START + 15 * MIN, 311.35, 312.0)
    assert projection is not None and math.isinf(projection.minutes)
    assert projection.forecast is None and projection.what == ("", "")
    assert out == [] and rule.latest == (START + 15 * MIN, {})  # shown live: no minutes
    assert rule.figure() is None  # not within reach: the alert's own forecast stands


def test_a_fitted_level_at_the_target_is_zero_minutes() -> None:
    rule = crest_rule()
    feed(rule, [312.0, 312.05, 312.1, 312.15], [])
    projection = rule.project(START + 15 * MIN, 312.15, 312.0)
    assert projection is not None and projection.minutes == 0.0
    assert projection.what == ("", "")  # no "at the current rise": it is there


def test_overtopping_is_red_at_once_with_its_own_figure_and_ends_below_the_margin() -> None:
    rule = crest_rule(
        TTC.replace("{orange: {enter: 2h}, red: {enter: 30m}}", "{yellow: {enter: 2h}}")
    )
    out: list[AlertEvent] = []
    feed(rule, [311.9, 311.9, 311.9, 312.0], out)  # flat, then at the crest
    assert [(e.severity.value, e.transition.value) for e in out] == [("red", "firing")]
    assert out[0].forecast == {"overtopping": True, "minutes_to_crest": 0.0}
    assert out[0].details == {"level": 312.0, "target": 312.0, "overtopping": True}
    assert "水位312.00米，已到达坝顶。" in out[0].message_zh
    figure = rule.figure()
    assert figure is not None and figure.value == 0.0 and figure.details == {"level": 312.0}
    feed(rule, [311.96], out, start=4)  # within the 5 cm margin: still overtopping
    assert len(out) == 1
    feed(rule, [311.94], out, start=5)  # below it: back to what the forecast says
    assert [(e.severity.value, e.transition.value) for e in out][1:] == [("yellow", "downgraded")]
    assert "漫顶停止" in out[1].message_zh and out[1].details["overtopping"] is False


def test_the_gate_keeps_the_rule_from_looking_on_quiet_days() -> None:
    gated = crest_rule(TTC.replace("window: 30m", "window: 30m\n    evaluate_above: design_flood"))
    out: list[AlertEvent] = []
    feed(gated, [311.0, 311.1, 311.2, 311.3], out)
    assert gated.seen is None and gated.latest is None  # below 311.4: never looked
    bound = gated.fast_bound()
    assert bound is not None and bound.below(START) == 311.4 and not bound.seasonal
    feed(gated, [311.4], out, start=4)
    assert gated.seen == (START + 20 * MIN, 311.4) and gated.latest is not None
    assert crest_rule().fast_bound() is None  # no gate: it projects on every reading


def test_shown_forecast_adds_minutes_only_when_within_reach() -> None:
    assert _shown(Projection(12.34, {"rate_m_per_h": 0.5})) == {
        "rate_m_per_h": 0.5,
        "minutes_to_crest": 12.3,
    }
    assert _shown(Projection(math.inf, None)) == {}
    assert _shown(Projection(5.0, {"minutes_to_crest": 6.0})) == {"minutes_to_crest": 6.0}


def test_robust_trend_of_an_even_and_an_odd_count() -> None:
    t = np.arange(0, 6 * 5 * MIN, 5 * MIN, dtype=np.int64)  # 6 points
    y = 310.0 + 0.3 * t / 3_600_000
    slope, fitted = robust_trend(t, y, int(t[-1]))
    assert slope * 3_600_000 == pytest.approx(0.3) and fitted == pytest.approx(y[-1])
    slope, fitted = robust_trend(t[:5], y[:5], int(t[4]) + 5 * MIN)  # 5 points, fitted ahead
    assert fitted == pytest.approx(310.0 + 0.3 * 25 / 60)
