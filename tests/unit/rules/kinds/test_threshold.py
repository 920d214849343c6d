"""`rules.kinds.threshold`: level (rising), freeboard to the crest (falling) and
rate of rise (rising) — one measure against multi-level thresholds with
hysteresis and dwell, one alert; the levels' lines resolved and checked when
bound; each instance's quiet region for the fast path."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from floodwatch.alerts.event import AlertEvent
from floodwatch.config.errors import ConfigError
from floodwatch.rules.build import build_series
from floodwatch.rules.compile import CompiledConfig
from floodwatch.rules.kinds.threshold import (
    FREEBOARD,
    RATE_OF_RISE,
    FreeboardInstance,
    LevelInstance,
    LevelRule,
    RateInstance,
)
from floodwatch.rules.kinds.threshold import (
    LEVEL as LEVEL_KIND,
)
from floodwatch.rules.store import Store
from floodwatch.testing import T0, compile_yaml, run, series, timeline
from tests.conftest import POND

MIN = 60_000
START = int(T0.timestamp() * 1000)


def cfg(rules: str) -> CompiledConfig:
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


# -- the instances directly -----------------------------------------------------------


def instance(rules: str, kind: type) -> object:
    """The rule instance of `kind` in a built engine state (bound to its store)."""
    built = build_series(cfg(rules))
    Store(list(built.values()))
    [found] = [r for s in built.values() for r in s.rules if isinstance(r, kind)]
    return found


def feed(rule: object, values: list[float], out: list[AlertEvent]) -> None:
    for i, value in enumerate(values):
        rule.on_reading(START + 5 * MIN * i, value, out)  # type: ignore[attr-defined]


def test_a_level_below_its_lowest_line_is_quiet_and_not_even_evaluated() -> None:
    rule = instance(LEVEL, LevelInstance)
    assert isinstance(rule, LevelInstance)
    out: list[AlertEvent] = []
    feed(rule, [311.0, 311.39], out)
    assert out == [] and rule.figure() is None  # nothing looked at: nothing to tell
    assert rule.quiet(311.39) and not rule.quiet(311.4)
    feed(rule, [311.4], out)
    assert [(e.severity.value, e.value, e.threshold) for e in out] == [("yellow", 311.4, 311.4)]
    assert not rule.quiet(300.0)  # busy now: every reading counts
    figure = rule.figure()
    assert figure is not None and figure.value == 311.4 and figure.ts == START
    assert rule.active() is out[0].severity


def test_the_exit_line_defaults_to_the_enter_line_less_the_hysteresis() -> None:
    [binding] = cfg(LEVEL).bindings
    yellow, red = binding.levels
    assert (yellow.enter.at(0), yellow.exit.at(0)) == (311.4, pytest.approx(311.35))
    assert (red.enter.at(0), red.exit.at(0)) == (pytest.approx(311.8), pytest.approx(311.75))
    falling = """
rules:
  - id: fb
    kind: freeboard
    stations: [p1]
    hysteresis: 0.05
    levels: {orange: {enter: 0.4}, red: {enter: 0.2, exit: 0.3}}
"""
    [fb] = cfg(falling).bindings
    orange, red = fb.levels
    assert orange.exit.at(0) == pytest.approx(0.45)  # falling: above the enter line
    assert red.exit.at(0) == 0.3  # given: as given
    assert fb.extra["crest"].at(0) == 312.0


def test_a_seasonal_line_keeps_its_season_in_the_exit_and_moves_with_the_date() -> None:
    stations = POND.replace(
        "flood_limit: 310.6", "flood_limit: {07-07..07-31: 310.4, default: 310.6}"
    )
    rules = LEVEL.replace("yellow: {enter: design_flood}", "yellow: {enter: flood_limit}")
    compiled = compile_yaml(stations=stations, rules=rules)
    [binding] = compiled.bindings
    yellow = binding.levels[0]
    july_7 = START  # 2026-07-07 08:00 in Shanghai
    assert yellow.enter.at(july_7) == 310.4 and yellow.exit.at(july_7) == pytest.approx(310.35)
    june = july_7 - 30 * 24 * 60 * MIN
    assert yellow.enter.at(june) == 310.6 and yellow.exit.at(june) == pytest.approx(310.55)
    events = run(compiled, series("p1", "level", [310.5, 310.5]))
    assert timeline(events) == [(0, "yellow", "firing")]  # in its season: the lower line
    rule = instance(rules, LevelInstance)  # the same rule on POND as it is
    assert isinstance(rule, LevelInstance) and not rule.seasonal  # POND's own: constant
    seasonal = next(
        r for s in build_series(compiled).values() for r in s.rules if isinstance(r, LevelInstance)
    )
    assert seasonal.seasonal and seasonal.fast_bound().seasonal


def test_line_order_and_hysteresis_are_checked_per_station() -> None:
    bad = LEVEL.replace("red: {enter: crest - 0.2}", "red: {enter: design_flood - 0.1}")
    with pytest.raises(ConfigError) as caught:
        cfg(bad)
    assert "levels.red.enter: must be above yellow (311.4), got 311.3" in str(caught.value)
    exits = LEVEL.replace("red: {enter: crest - 0.2}", "red: {enter: crest - 0.2, exit: crest}")
    with pytest.raises(ConfigError) as caught:
        cfg(exits)
    assert "levels.red.exit: must be at or below enter (311.8) for hysteresis, got 312" in str(
        caught.value
    )
    fb = "rules:\n  - id: fb\n    kind: freeboard\n    stations: [p1]\n"
    fb += "    levels: {orange: {enter: 0.2}, red: {enter: 0.4}}\n"
    with pytest.raises(ConfigError) as caught:
        cfg(fb)
    assert "levels.red.enter: must be below orange (0.2), got 0.4" in str(caught.value)


def test_freeboard_needs_the_crest_and_a_level_line_its_attribute() -> None:
    no_crest = POND.replace("crest: 312.0, ", "")
    rules = "rules:\n  - id: fb\n    kind: freeboard\n    stations: [p1]\n"
    rules += "    levels: {red: {enter: 0.2}}\n"
    with pytest.raises(ConfigError) as caught:
        compile_yaml(stations=no_crest, rules=rules)
    assert "freeboard needs the station's levels.crest (rule 'fb', station 'p1')" in str(
        caught.value
    )
    with pytest.raises(ConfigError) as caught:
        compile_yaml(stations=no_crest, rules=LEVEL)
    assert "station 'p1' has no levels.crest to compute 'crest - 0.2'" in str(caught.value)


def test_freeboard_reports_the_level_it_read_and_bounds_the_fast_path_by_crest() -> None:
    rules = "rules:\n  - id: fb\n    kind: freeboard\n    stations: [p1]\n"
    rules += "    levels: {orange: {enter: 0.4}, red: {enter: 0.2}}\n"
    rule = instance(rules, FreeboardInstance)
    assert isinstance(rule, FreeboardInstance)
    out: list[AlertEvent] = []
    feed(rule, [311.5, 311.65], out)
    assert [(e.severity.value, e.value, e.details) for e in out] == [
        ("orange", 0.35, {"level": 311.65})
    ]
    bound = rule.fast_bound()
    assert bound.below(START) == pytest.approx(311.6) and not bound.seasonal


def test_rate_of_rise_is_unknown_until_its_window_has_span_and_bounds_by_its_probe() -> None:
    rules = "rules:\n  - id: rise\n    kind: rate_of_rise\n    stations: [p1]\n    window: 30m\n"
    rules += "    levels: {yellow: {enter: 0.3}}\n"
    built = build_series(cfg(rules))
    Store(list(built.values()))
    level = built[("p1", "level")]
    [rule] = level.rules
    assert isinstance(rule, RateInstance)
    out: list[AlertEvent] = []
    for i, value in enumerate([310.0, 310.05, 310.1, 310.15]):  # 0.6 m/h
        ts = START + 5 * MIN * i
        assert level.ring is not None
        level.ring.append(ts, value)
        rule.probe.update(ts, value)
        rule.on_reading(ts, value, out)
    # no rate before 15 min of span (half the window): nothing at 0, 5, 10 min
    assert [(e.ts, e.value, e.details["level"]) for e in out] == [
        (T0.replace(minute=15), 0.6, 310.15)
    ]
    bound = rule.fast_bound()
    assert math.isinf(bound.below(START)) and bound.rates == ((rule.probe, 0.3),)


def test_each_kind_reads_its_series_and_keeps_only_the_rise_window() -> None:
    compiled = cfg(LEVEL)
    [binding] = compiled.bindings
    assert LEVEL_KIND.reads(binding.rule) == "level"  # type: ignore[arg-type]
    assert list(LEVEL_KIND.history(binding)) == [] and LEVEL_KIND.linked(binding) == set()
    rise = cfg("rules:\n  - id: r\n    kind: rate_of_rise\n    stations: [p1]\n    window: 1h\n"
               "    levels: {yellow: {enter: 0.3}}\n")  # fmt: skip
    [rb] = rise.bindings
    assert list(RATE_OF_RISE.history(rb)) == [(("p1", "level"), 3_600_000)]
    assert FREEBOARD.reads(None) == "level"  # type: ignore[arg-type]


# -- its config model (the kind's own keys and problems, without a file) -----------


def test_a_level_s_dwell_is_read_from_for() -> None:
    level = LevelRule.model_validate(
        {
            "id": "r1",
            "stations": ["p1"],
            "kind": "level",
            "levels": {"red": {"enter": "crest - 0.3", "for": "10m"}},
        }
    )
    assert level.levels["red"].for_ == timedelta(minutes=10)
    with pytest.raises(ValidationError):
        LevelRule.model_validate(
            {"id": "r1", "stations": ["p1"], "kind": "level", "levels": {"purple": {"enter": 1}}}
        )


def test_a_level_rule_is_only_kind_level() -> None:
    data: dict[str, Any] = {"id": "r1", "stations": ["p1"], "levels": {}}
    assert LevelRule.model_validate({**data, "kind": "level"}).of == "level"
    with pytest.raises(ValidationError):
        LevelRule.model_validate({**data, "kind": "freeboard"})
