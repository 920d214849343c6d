"""`rules.context`: how a rule instance speaks (its `RuleContext`: id, station,
place, measure, unit, levels, advice), and the threshold arguments of a
binding. Thousands of stations share a rule, so they share its strings,
level tuples and advice dicts: one object each, not one per station."""

from __future__ import annotations

from floodwatch.alerts.messages import MEASURES
from floodwatch.alerts.state import Severity
from floodwatch.rules.compile import Binding, CompiledConfig
from floodwatch.rules.context import context, threshold_args
from floodwatch.testing import compile_yaml
from tests.conftest import POND

TWO_PONDS = POND.replace(
    "  - id: c1\n",
    """  - id: p2
    name: 第二山塘
    type: pond
    interval: 5m
    levels: {crest: 212.0, design_flood: 211.4, check_flood: 211.6, flood_limit: 210.6}
  - id: c1
""",
)

RULES = """
rules:
  - id: lvl
    kind: level
    stations: [p1, p2]
    hysteresis: 0.05
    for: 10m
    clear_for: 15m
    levels:
      yellow: {enter: design_flood}
      red:
        enter: crest - 0.2
        for: 0s
        advice: {zh: 立即转移坝下群众。, en: Evacuate below the dam now.}
  - id: blocked
    kind: compound
    stations: [p1]
    severity: orange
    all:
      - {station: self, metric: rate_of_rise, window: 30m, above: 0.15}
    advice: {zh: 请检查涵管。, en: Check the culvert.}
  - id: rise
    kind: rate_of_rise
    stations: [p1]
    window: 30m
    levels: {yellow: {enter: 0.3}}
"""


def _compiled(engine: str = "") -> CompiledConfig:
    files = {"stations": TWO_PONDS, "rules": RULES}
    if engine:
        files["floodwatch"] = engine
    return compile_yaml(**files)


def _binding(compiled: CompiledConfig, rule: str, station: str) -> Binding:
    return next(
        b
        for b in compiled.bindings
        if getattr(b.rule, "id", None) == rule and b.station.id == station
    )


def test_a_level_rule_speaks_with_its_station_measure_levels_and_advice() -> None:
    compiled = _compiled()
    b = _binding(compiled, "lvl", "p1")
    ctx = context(compiled, b, "level")
    assert (ctx.rule, ctx.kind, ctx.station) == ("lvl", "level", "p1")
    assert ctx.place == b.station.place and ctx.place.zh.startswith("测试山塘")
    assert ctx.measure is MEASURES["level"] and ctx.unit == "m"
    assert ctx.levels == (Severity.YELLOW, Severity.RED)
    assert ctx.advice == {Severity.RED: ("立即转移坝下群众。", "Evacuate below the dam now.")}
    assert ctx.exercise is False


def test_a_rule_s_own_advice_is_given_at_its_one_severity() -> None:
    """How a compound rule's `advice:` (it has no levels) reaches its texts."""
    compiled = _compiled()
    binding = _binding(compiled, "blocked", "p1")
    assert context(compiled, binding, "level").advice == {}
    own = (Severity.ORANGE, ("请检查涵管。", "Check the culvert."))
    ctx = context(compiled, binding, "level", own_advice=own)
    assert ctx.kind == "compound"
    assert ctx.advice == {Severity.ORANGE: ("请检查涵管。", "Check the culvert.")}


def test_a_suffix_and_explicit_levels_make_a_sub_rule() -> None:
    # how sensor_health names its checks: "health/stale" at `info` only
    compiled = _compiled()
    ctx = context(compiled, _binding(compiled, "lvl", "p2"), "rain", "/stale", (Severity.INFO,))
    assert ctx.rule == "lvl/stale" and ctx.levels == (Severity.INFO,)
    assert ctx.measure is MEASURES["rain"] and ctx.unit == "mm"
    assert ctx.station == "p2"


def test_the_unit_follows_the_rule_kind_where_it_measures_something_else() -> None:
    compiled = _compiled()
    rise = context(compiled, _binding(compiled, "rise", "p1"), "rate_of_rise")
    assert rise.unit == "m/h" and rise.measure is MEASURES["rate_of_rise"]
    b = _binding(compiled, "lvl", "p1")
    assert context(compiled, b, "flow").unit == "m³/s"  # a level-like rule on a flow meter


def test_a_drill_config_marks_every_context_as_an_exercise() -> None:
    compiled = _compiled("engine: {exercise: true}\n")
    assert compiled.exercise
    assert context(compiled, _binding(compiled, "lvl", "p1"), "level").exercise is True


def test_stations_of_one_rule_share_its_strings_tuples_and_dicts() -> None:
    compiled = _compiled()
    a = context(compiled, _binding(compiled, "lvl", "p1"), "level")
    b = context(compiled, _binding(compiled, "lvl", "p2"), "level")
    assert a.rule is b.rule  # interned
    assert a.levels is b.levels
    assert a.advice is b.advice
    assert a.place != b.place  # what is the station's own stays its own
    # a rebuilt config (hot reload) with the same rule shares them too
    again = _compiled()
    c = context(again, _binding(again, "lvl", "p1"), "level")
    assert c.levels is a.levels and c.advice is a.advice


def test_different_advice_is_never_shared() -> None:
    compiled = _compiled()
    lvl = context(compiled, _binding(compiled, "lvl", "p1"), "level")
    blocked = context(compiled, _binding(compiled, "blocked", "p1"), "level")
    assert lvl.advice != blocked.advice and lvl.advice is not blocked.advice
    none = context(compiled, _binding(compiled, "lvl", "p1"), "level", "/x", (Severity.RED,))
    assert none.levels == (Severity.RED,) and none.levels is not lvl.levels


def test_threshold_args_list_each_level_in_order() -> None:
    compiled = _compiled()
    b = _binding(compiled, "lvl", "p1")
    enter, exit_, for_ms, clear_ms, rising = threshold_args(b, rising=True)
    assert [t.at(0) for t in enter] == [311.4, 311.8]
    assert [round(t.at(0), 6) for t in exit_] == [311.35, 311.75]  # hysteresis 0.05
    assert for_ms == [600_000, 0]  # a level's own `for` overrides the rule's
    assert clear_ms == [900_000, 900_000]
    assert rising is True
    assert threshold_args(b, rising=False)[4] is False
