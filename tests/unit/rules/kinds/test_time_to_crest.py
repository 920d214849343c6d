"""`rules.kinds.time_to_crest`: the warning lines per method, their checks, what a
binding reads, and the overtopping state with its exit margin."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from floodwatch.config.errors import ConfigError
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import Binding, CompiledConfig, compile_config
from floodwatch.rules.kinds.time_to_crest import TIME_TO_CREST, TimeToCrestRule
from floodwatch.testing import compile_yaml, run, series, timeline
from tests.conftest import POND

EXAMPLE = compile_config(load_config_dir("config"))


def _overtop(compiled: CompiledConfig, station: str = "maokeng-pond") -> Binding:
    (binding,) = (
        b
        for b in compiled.bindings
        if b.rule.id == "pond-overtop" and b.station.id == station  # type: ignore[attr-defined]
    )
    return binding


def _lines(binding: Binding) -> list[tuple[str, float, float]]:
    return [(lb.severity.value, lb.enter.at(0), lb.exit.at(0)) for lb in binding.levels]


def test_water_balance_runs_on_its_own_lines_and_borrows_advice() -> None:
    binding = _overtop(EXAMPLE)
    assert binding.extra["method"] == "water_balance"
    assert _lines(binding) == [("yellow", 150, 180), ("orange", 90, 120), ("red", 60, 75)]
    red = binding.levels[-1]
    assert red.advice is not None and "漫坝" in red.advice[0]  # as levels.red


def test_water_balance_reads_its_outlet_flow_and_rain_gauge() -> None:
    binding = _overtop(EXAMPLE)
    assert TIME_TO_CREST.linked(binding) == {"maokeng-culvert", "maokeng-rain"}
    reads = dict(TIME_TO_CREST.history(binding))
    assert set(reads) == {("maokeng-pond", "level"), ("maokeng-rain", "rain")}


TREND = """
rules:
  - id: ttc
    kind: time_to_crest
    stations: [p1]
    window: 30m
    levels:
      yellow: {enter: 2h, exit: 3h}
      red: {enter: 30m}
"""


def test_trend_lines_exit_defaults_to_enter_and_reads_only_its_level() -> None:
    (binding,) = compile_yaml(stations=POND, rules=TREND).bindings
    assert binding.extra["method"] == "trend"
    assert _lines(binding) == [("yellow", 120, 180), ("red", 30, 30)]
    assert TIME_TO_CREST.linked(binding) == set()
    assert dict(TIME_TO_CREST.history(binding)) == {("p1", "level"): 30 * 60_000}


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        (
            "{yellow: {enter: 2h, exit: 1h}}",
            "rules[0].levels.yellow.exit: must be at least enter (120 min), got 60 min",
        ),
        (
            "{yellow: {enter: 1h}, red: {enter: 2h}}",
            "rules[0].levels.red.enter: must be shorter than yellow (60 min), got 120 min",
        ),
    ],
)
def test_lines_are_checked(levels: str, message: str) -> None:
    rules = TREND.split("    levels:", maxsplit=1)[0] + f"    levels: {levels}\n"
    with pytest.raises(ConfigError, match=re.escape(message)):
        compile_yaml(stations=POND, rules=rules)


def test_water_balance_without_a_structure_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="water_balance needs the station's structure"):
        compile_yaml(stations=POND, rules=TREND + "    method: water_balance\n")


def test_overtopping_is_red_until_the_level_falls_below_the_exit_margin() -> None:
    rules = TREND + "    overtop_exit: 0.2\n"
    rise = [311.0 + 0.1 * i for i in range(11)]  # at the crest (312.0) at 50 min
    fall = [312.1, 311.9, 311.85, 311.81, 311.79, 311.7]  # below 312.0 - 0.2 at 75 min
    events = run(compile_yaml(stations=POND, rules=rules), series("p1", "level", rise + fall))
    assert timeline(events) == [
        (15, "yellow", "firing"),
        (25, "red", "escalated"),
        (50, "red", "escalated"),
        (75, "red", "resolved"),
    ]
    assert events[2].forecast == {"overtopping": True, "minutes_to_crest": 0.0}


# -- its config model (the kind's own keys and problems, without a file) -----------


def test_a_time_to_crest_rule_projects_to_the_crest_by_a_line_by_default() -> None:
    data = {"id": "r1", "stations": ["p1"], "kind": "time_to_crest"}
    crest = TimeToCrestRule.model_validate({**data, "levels": {"red": {"enter": "30m"}}})
    assert (str(crest.target), crest.method, crest.min_points) == ("crest", "trend", 4)
    with pytest.raises(ValidationError):
        TimeToCrestRule.model_validate({**data, "levels": {}, "min_points": 2})
