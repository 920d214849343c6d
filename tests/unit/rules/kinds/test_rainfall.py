"""`rules.kinds.rainfall`: rain accumulated over sliding windows (1/3/6/24 h).

A level fires when any of its windows reaches its value; a window with missing
reports is a lower bound — enough to raise an alert, never enough to clear one.
The instance is driven here the way the engine's exact path drives it (ring,
probes, rule); the field's troubles (gaps, hourly archives, late, duplicate and
negative readings) go through the whole engine."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import RAIN_ADVICE
from floodwatch.alerts.state import EvacuationStage, Severity
from floodwatch.config.errors import ConfigError, Loc
from floodwatch.readings import Reading, RejectReason, ts_to_ms
from floodwatch.replay.run import run_readings
from floodwatch.rules.build import Series, build_series
from floodwatch.rules.compile import CompiledConfig
from floodwatch.rules.kind import BindContext
from floodwatch.rules.kinds.rainfall import (
    RAINFALL,
    RainfallInstance,
    RainfallRule,
    RainLevelSpec,
    format_duration_ms,
)
from floodwatch.rules.store import Store
from floodwatch.testing import T0, compile_yaml, run, series, timeline
from tests.conftest import POND

MIN = 60_000
HOUR = 60 * MIN
START = ts_to_ms(T0)

FOUR = """
rules:
  - id: rain
    kind: rainfall
    stations: [r1]
    clear_for: 30m
    levels:
      blue:   {within: {1h: 30, 3h: 50, 6h: 80, 24h: 120}}
      yellow: {within: {1h: 40, 3h: 70, 6h: 100, 24h: 150}}
      orange: {within: {1h: 50, 3h: 90, 6h: 130, 24h: 200}, stage: prepare}
      red:    {within: {1h: 70, 3h: 120, 6h: 160, 24h: 250}, stage: evacuate}
"""


def cfg(rules: str = FOUR, engine: str = "") -> CompiledConfig:
    files = {"stations": POND, "rules": rules}
    if engine:
        files["floodwatch"] = engine
    return compile_yaml(**files)


class Gauge:
    """One rain series with its rainfall instance, stepped as the exact path does."""

    def __init__(self, rules: str = FOUR) -> None:
        built = build_series(cfg(rules))
        self.store = Store(list(built.values()))
        self.s: Series = built[("r1", "rain")]
        rule = self.s.rules[0]
        assert isinstance(rule, RainfallInstance)
        self.rule = rule
        self.events: list[AlertEvent] = []

    def feed(self, minute: float, mm: float) -> list[AlertEvent]:
        ts = START + int(minute * MIN)
        assert self.s.ring is not None
        self.s.ring.append(ts, mm)
        for probe in self.s.probes:
            probe.update(ts, mm)
        out: list[AlertEvent] = []
        self.rule.on_reading(ts, mm, out)
        self.events += out
        return out

    def every_5_min(self, values: list[float], start: int = 0) -> None:
        for k, mm in enumerate(values):
            self.feed(start + 5 * k, mm)

    def totals(self) -> dict[str, float]:
        return {format_duration_ms(p.window): p.total for p in self.rule.probes}


def _moments(events: list[AlertEvent]) -> list[tuple[int, str, str, str]]:
    return [(*t, e.details["window"]) for t, e in zip(timeline(events), events, strict=True)]


# -- the instance ---------------------------------------------------------------------


def test_one_probe_per_window_shared_by_every_level() -> None:
    g = Gauge()
    assert [format_duration_ms(p.window) for p in g.rule.probes] == ["1h", "3h", "6h", "1d"]
    assert g.rule.min_enter == 30
    assert g.rule.ctx.levels == (Severity.BLUE, Severity.YELLOW, Severity.ORANGE, Severity.RED)
    assert g.rule.stages == [None, None, EvacuationStage.PREPARE, EvacuationStage.EVACUATE]
    assert g.rule.ctx.advice == RAIN_ADVICE  # the standard advice where a level gives none
    assert g.s.ring is not None and g.s.ring.cap >= 24 * 12  # a day of 5-minute reports


def test_a_burst_fires_on_the_short_window_and_escalates_with_its_stage() -> None:
    g = Gauge()
    g.every_5_min([0.0] * 36)  # three dry hours: every short window complete
    assert g.events == []
    g.every_5_min([6.0] * 12, start=180)  # 72 mm in an hour
    assert _moments(g.events) == [
        (200, "blue", "firing", "1h"),  # 30 mm: 5 reports, the line itself fires
        (210, "yellow", "escalated", "1h"),  # 42 mm
        (220, "orange", "escalated", "1h"),  # 54 mm
        (235, "red", "escalated", "1h"),  # 72 mm
    ]
    red = g.events[-1]
    assert red.stage is EvacuationStage.EVACUATE and red.threshold == 70
    assert red.value == 72.0 and red.unit == "mm"
    assert red.details["windows"]["1h"] == {"mm": 72.0, "complete": True}
    assert red.details["windows"]["1d"] == {"mm": 72.0, "complete": False}  # 4 h of 24
    assert "1小时累计雨量" in red.message_zh and "1-hour rainfall" in red.message_en


def test_a_steady_rain_fires_on_the_window_nearest_its_threshold() -> None:
    # 0.5 mm every 5 minutes (6 mm/h) all day: 1h 6, 3h 18, 6h 36 — only the
    # 24 h window ever reaches its line (120 mm after 20 hours).
    g = Gauge()
    g.every_5_min([0.5] * (24 * 12))
    assert _moments(g.events) == [(1195, "blue", "firing", "1d")]
    assert g.events[0].value == 120.0 and g.events[0].threshold == 120
    figure = g.rule.figure()
    assert figure is not None
    assert figure.value == 144.0 and figure.details == {"window": "1d"}
    assert figure.ts == START + 1435 * MIN


TWO = """
rules:
  - id: rain
    kind: rainfall
    stations: [r1]
    clear_for: 30m
    levels:
      blue: {within: {1h: 30, 3h: 50}}
"""


def test_a_window_with_missing_reports_never_clears_an_alert() -> None:
    g = Gauge(TWO)
    g.every_5_min([0.0] * 36 + [8.0] * 4)  # 32 mm in 20 min: blue
    assert timeline(g.events) == [(195, "blue", "firing")]
    for k in range(1, 9):  # then a report only every 30 minutes, dry
        g.feed(195 + 30 * k, 0.0)
    assert g.totals()["1h"] == 0.0
    assert len(g.events) == 1  # 0 mm reported, but 10 of 12 reports missing
    g.every_5_min([0.0] * 40, start=440)
    # both windows complete again (the 3 h one needs 32 of 36 reports: at 590),
    # dry, and 30 minutes of clear_for
    assert timeline(g.events)[1:] == [(620, "blue", "resolved")]


def test_an_alert_lasts_until_even_the_longest_window_is_complete() -> None:
    # Four hours after a start (or an outage), the 24 h window is a lower bound:
    # the alert it helped raise stays, though every window reads under its line.
    g = Gauge()
    g.every_5_min([0.0] * 36 + [6.0] * 12 + [0.0] * 60)
    assert [e.transition.value for e in g.events][-1] != "resolved"
    assert g.totals()["1h"] == 0.0 and g.totals()["3h"] == 0.0
    assert not g.rule.probes[-1].complete


def test_clearing_needs_every_window_of_the_level_below_its_line() -> None:
    g = Gauge(
        """
rules:
  - id: rain
    kind: rainfall
    stations: [r1]
    levels:
      blue: {within: {1h: 30, 3h: 50}}
"""
    )
    g.every_5_min([0.0] * 36 + [5.0] * 12)  # 60 mm in an hour: 1h and 3h over
    g.every_5_min([0.0] * 12, start=240)  # an hour dry: 1h is 0, 3h still 60
    assert [e.transition.value for e in g.events] == ["firing"]
    g.every_5_min([0.0] * 24, start=300)
    # the 3 h total falls under 50 when the first three reports (15 mm) have left it
    assert timeline(g.events)[-1] == (370, "blue", "resolved")
    assert g.events[-1].details["window"] == "3h"  # what held it: now below


def test_dwell_times_and_a_level_of_its_own_that_says_at_once() -> None:
    rules = """
rules:
  - id: rain
    kind: rainfall
    stations: [r1]
    for: 10m
    clear_for: 20m
    levels:
      blue: {within: {1h: 30}}
      red: {within: {1h: 60}, for: 0s}
"""
    g = Gauge(rules)
    g.every_5_min([0.0] * 12 + [10.0] * 3)  # 30 mm at 70 min
    assert g.events == []  # blue waits its 10 minutes …
    g.feed(75, 0.0)
    g.feed(80, 30.0)  # … and 60 mm at 80 min raises red at once, not 10 min later
    assert timeline(g.events) == [(80, "red", "firing")]


def test_quiet_rain_never_wakes_the_latch() -> None:
    g = Gauge()
    g.every_5_min([1.0] * 24)  # 12 mm/h: under every line
    assert g.events == [] and not g.rule.latch.busy
    assert g.rule.at == 0  # not even looked at: the cheap pre-check said so


def test_the_fast_path_is_told_every_window_and_its_lines() -> None:
    g = Gauge()
    totals = g.rule.fast_bound().totals
    assert len(totals) == 16
    assert {(format_duration_ms(p.window), thr) for p, thr in totals} >= {
        ("1h", 30),
        ("1d", 250),
    }
    assert all(p in g.rule.probes for p, _ in totals)


def test_format_duration_ms_says_windows_as_the_yaml_does() -> None:
    assert format_duration_ms(HOUR) == "1h"
    assert format_duration_ms(24 * HOUR) == "1d"
    assert format_duration_ms(90 * MIN) == "1h30m"
    assert format_duration_ms(30 * MIN) == "30m"


# -- the kind: compile and build --------------------------------------------------------


class _Issues:
    def __init__(self) -> None:
        self.found: list[tuple[Loc, str]] = []

    def add(self, loc: Loc, message: str) -> None:
        self.found.append((loc, message))


def test_bind_wants_each_window_to_rise_with_the_level() -> None:
    compiled = cfg()
    rule: Any = compiled.config.rules[0].model_copy(deep=True)
    rule.levels["yellow"].within["3h"] = 50.0  # same as blue's 3 h line
    issues = _Issues()
    ctx = BindContext(compiled.stations, compiled.zone, issues)
    RAINFALL.bind(rule, 0, compiled.stations["r1"], ctx)
    assert issues.found == [
        (
            ("rules", 0, "levels", "yellow", "within", "3h"),
            "must be above blue (50 mm over 3h), got 50 mm (rule 'rain', station 'r1')",
        )
    ]


def test_a_wrong_order_in_the_yaml_is_a_config_error_with_its_place() -> None:
    bad = FOUR.replace("orange: {within: {1h: 50,", "orange: {within: {1h: 35,")
    with pytest.raises(ConfigError, match=r"must be above yellow \(40 mm over 1h\), got 35 mm"):
        cfg(bad)


def test_the_kind_reads_rain_keeps_its_longest_window_and_links_nothing() -> None:
    compiled = cfg()
    binding = compiled.bindings[0]
    assert RAINFALL.name == "rainfall"
    assert RAINFALL.reads(binding.rule) == "rain"  # type: ignore[arg-type]
    assert list(RAINFALL.history(binding)) == [(("r1", "rain"), 24 * HOUR)]
    assert RAINFALL.linked(binding) == set()


def test_a_level_advice_replaces_the_standard_one() -> None:
    rules = FOUR.replace(
        "stage: evacuate}",
        "stage: evacuate, advice: {zh: 立即转移低洼处群众。, en: Evacuate low ground now.}}",
    )
    g = Gauge(rules)
    assert g.rule.ctx.advice[Severity.RED] == ("立即转移低洼处群众。", "Evacuate low ground now.")
    assert g.rule.ctx.advice[Severity.BLUE] == RAIN_ADVICE[Severity.BLUE]


# -- through the engine: what the field sends ---------------------------------------------


def _storm() -> list[Reading]:
    return series("r1", "rain", [0.0] * 36 + [6.0] * 12 + [0.0] * 60)


def test_late_and_duplicated_reports_give_the_same_alerts() -> None:
    compiled = cfg(engine="engine: {allowed_lateness: 15m}\n")
    clean = run(compiled, _storm())
    assert [e.severity.value for e in clean][:4] == ["blue", "yellow", "orange", "red"]
    shuffled = _storm()
    rng = random.Random(7)
    for i in range(0, len(shuffled) - 2, 3):  # each group of three arrives in any order
        group = shuffled[i : i + 3]
        rng.shuffle(group)
        shuffled[i : i + 3] = group
    redelivered = [r for r in shuffled for _ in (0, 1)]  # QoS 1: every message twice
    out = run_readings(compiled, redelivered)
    assert out.alerts == clean  # not 144 mm from 72
    assert {r.reason for r in out.rejected} <= {RejectReason.DUPLICATE}
    # the same time with another value (a resend after a correction): the first is kept
    conflicting = [*_storm(), Reading("r1", "rain", 50.0, _storm()[40].ts)]
    out = run_readings(compiled, conflicting)
    assert out.alerts == clean
    assert [r.reason for r in out.rejected] == [RejectReason.CONFLICTING_DUPLICATE]


def test_a_negative_report_is_a_sensor_fault_not_less_rain() -> None:
    # An RTU whose cumulative counter was reset can send a negative "increment":
    # it must not take rain out of a window (nor clear an alert). It counts as a
    # report that never came, and the gauge gets a maintenance notice.
    negative = _storm()
    negative[44] = Reading("r1", "rain", -40.0, negative[44].ts)
    watched = cfg(FOUR + "  - {id: health, kind: sensor_health, stations: [r1]}\n")
    events = run(watched, negative)
    missing = run(cfg(), [r for i, r in enumerate(_storm()) if i != 44])
    assert [e for e in events if e.rule == "rain"] == missing
    assert [e.severity for e in missing][:3] == [Severity.BLUE, Severity.YELLOW, Severity.ORANGE]
    notice = [e for e in events if e.rule == "health/out_of_range"]
    assert notice and notice[0].severity is Severity.INFO
    assert "低于量程下限0毫米" in notice[0].message_zh


def test_an_hourly_gauge_fills_its_windows_with_one_report_an_hour() -> None:
    hourly = POND.replace(
        "    type: rain_gauge\n    interval: 5m", "    type: rain_gauge\n    interval: 1h"
    )
    compiled = compile_yaml(stations=hourly, rules=FOUR)
    values = [0.0] * 6 + [20.0, 35.0, 10.0] + [0.0] * 30
    events = run(compiled, series("r1", "rain", values, every=timedelta(hours=1)))
    # 35 mm in the hour to 07:00 (1h line 30) and 55 mm in three hours (3h line 50);
    # the 24 h window is complete with 21 of 24 reports: cleared 30 minutes after
    assert _moments(events) == [
        (7 * 60, "blue", "firing", "1h"),
        (21 * 60, "blue", "resolved", "1d"),
    ]


# -- its config model (the kind's own keys and problems, without a file) -----------


def test_rain_windows_must_not_need_less_rain_over_a_longer_window() -> None:
    spec = RainLevelSpec.model_validate({"within": {"3h": 50, "1h": 30, "24h": 45}})
    assert list(spec.problems()) == [
        (
            ("within", "24h"),
            "must be at or above the 3h value (50 mm), got 45 mm "
            "(a longer window cannot need less rain)",
        )
    ]


def test_a_rain_window_is_a_duration_with_more_than_zero_mm() -> None:
    spec = RainLevelSpec.model_validate({"within": {"1h": 0, "soon": 30}})
    assert list(spec.problems()) == [
        (("within", "1h"), "must be above 0 mm, got 0"),
        (
            ("within", "soon"),
            "expected a duration with units, e.g. '90s', '10m', '1h30m', '2d'; got 'soon'",
        ),
    ]
    assert list(RainLevelSpec(within={}).problems()) == [
        (("within",), "give at least one window, e.g. {1h: 30}")
    ]


def test_a_rainfall_rule_s_level_problems_are_at_the_level() -> None:
    data = {"id": "r1", "stations": ["p1"], "kind": "rainfall"}
    rain = RainfallRule.model_validate({**data, "levels": {"blue": {"within": {}}}})
    assert list(rain.problems()) == [
        (("levels", "blue", "within"), "give at least one window, e.g. {1h: 30}")
    ]
    with pytest.raises(ValidationError):
        RainfallRule.model_validate({**data, "levels": {}, "missing_tolerance": 1})
