"""`rules.kinds.compound`: three-valued all/any with missing data, when an alert
may clear (`clear_when`, `hold_while`), and what a binding reads."""

from __future__ import annotations

from typing import Any, cast

import pytest
from pydantic import ValidationError

from floodwatch.rules.conditions import BoundCondition, ConditionGroup
from floodwatch.rules.kinds.compound import (
    COMPOUND,
    CompoundInstance,
    CompoundRule,
    Condition,
    ConditionSet,
)
from floodwatch.testing import compile_yaml, run, series, timeline
from tests.conftest import POND


class Fixed:
    """A condition whose truth is given: true, false or unknown (None)."""

    def __init__(self, truth: bool | None) -> None:
        self.value = truth

    def truth(self, ts: int) -> bool | None:
        return self.value


def group(*truths: bool | None, all_of: bool = True) -> ConditionGroup:
    return ConditionGroup(cast("list[BoundCondition]", [Fixed(t) for t in truths]), all_of)


def instance(
    clear_when: ConditionGroup | None = None, hold_while: ConditionGroup | None = None
) -> CompoundInstance:
    bare = CompoundInstance.__new__(CompoundInstance)
    bare.clear_when = clear_when
    bare.hold_while = hold_while
    return bare


@pytest.mark.parametrize(("result", "may_clear"), [(True, False), (None, False), (False, True)])
def test_without_clear_conditions_only_a_false_raise_result_clears(
    result: bool | None, may_clear: bool
) -> None:
    assert instance()._may_clear(0, result) is may_clear


@pytest.mark.parametrize(
    ("clear", "result", "may_clear"),
    [
        (True, False, True),
        (True, None, True),  # the raise side unknown: clear_when decides
        (True, True, False),  # still raising: never clears
        (None, False, False),  # unknown clear data never clears
        (False, False, False),
    ],
)
def test_clear_when_must_be_definitely_true(
    clear: bool | None, result: bool | None, may_clear: bool
) -> None:
    assert instance(clear_when=group(clear))._may_clear(0, result) is may_clear


@pytest.mark.parametrize(("hold", "may_clear"), [(False, True), (None, False), (True, False)])
def test_hold_while_holds_unless_definitely_false(hold: bool | None, may_clear: bool) -> None:
    assert instance(hold_while=group(hold))._may_clear(0, False) is may_clear
    both = instance(clear_when=group(True), hold_while=group(hold))
    assert both._may_clear(0, None) is may_clear


def test_a_hold_group_of_all_is_false_when_any_member_is_false() -> None:
    assert instance(hold_while=group(True, None, False))._may_clear(0, False)
    assert not instance(hold_while=group(True, None, False, all_of=False))._may_clear(0, False)


ANY = """
rules:
  - id: blocked
    kind: compound
    stations: [p1]
    severity: orange
    any:
      - {station: self, metric: rate_of_rise, window: 30m, above: 0.15}
      - {station: $outlet, kind: flow, below: 0.3}
"""
RISE = [310.5 + 0.03 * i for i in range(14)]  # 0.36 m/h


def test_any_fires_on_one_true_condition_while_the_other_is_unknown() -> None:
    # the culvert meter reported once (an open culvert), then fell silent for good
    flow = series("c1", "flow", [1.5])
    level = series("p1", "level", [310.5] * 6 + RISE)  # the rise starts at 30 min
    events = run(compile_yaml(stations=POND, rules=ANY), [*level, *flow])
    assert timeline(events) == [(45, "orange", "firing")]


def test_a_compound_rule_s_advice_is_said_at_its_severity() -> None:
    rules = ANY.replace(
        "severity: orange\n",
        "severity: orange\n    advice: {zh: 请检查涵管。, en: Check the culvert.}\n",
    )
    level = series("p1", "level", [310.5] * 6 + RISE)
    [fired] = run(compile_yaml(stations=POND, rules=rules), [*level, *series("c1", "flow", [1.5])])
    assert "请检查涵管。" in fired.message_zh and "Check the culvert." in fired.message_en
    [plain] = run(compile_yaml(stations=POND, rules=ANY), [*level, *series("c1", "flow", [1.5])])
    assert "请检查涵管。" not in plain.message_zh


def test_any_stays_quiet_when_every_condition_is_false_or_unknown() -> None:
    still = series("p1", "level", [310.5] * 14)
    open_ = series("c1", "flow", [1.5] * 14)
    assert run(compile_yaml(stations=POND, rules=ANY), [*still, *open_]) == []
    assert run(compile_yaml(stations=POND, rules=ANY), still) == []  # flow never known


def test_all_with_one_condition_false_never_fires() -> None:
    rules = ANY.replace("any:", "all:")
    open_ = series("c1", "flow", [1.5] * 14)
    assert (
        run(compile_yaml(stations=POND, rules=rules), [*series("p1", "level", RISE), *open_]) == []
    )
    blocked = series("c1", "flow", [0.05] * 14)
    events = run(compile_yaml(stations=POND, rules=rules), [*series("p1", "level", RISE), *blocked])
    assert timeline(events)[0][1:] == ("orange", "firing")


def test_a_binding_links_every_station_its_conditions_and_hold_read() -> None:
    rules = ANY.replace("any:", "all:") + (
        "    hold_while:\n      any:\n        - {station: r1, kind: rain, metric: accumulation,"
        " window: 1h, above: 10}\n"
    )
    compiled = compile_yaml(stations=POND, rules=rules)
    (binding,) = compiled.bindings
    assert COMPOUND.linked(binding) == {"p1", "c1", "r1"}
    assert dict(COMPOUND.history(binding)) == {
        ("p1", "level"): 1_800_000,
        ("r1", "rain"): 3_600_000,
    }


def test_all_clears_on_one_false_condition_though_another_is_unknown() -> None:
    rules = ANY.replace("any:", "all:")
    level = series("p1", "level", RISE + [RISE[-1]] * 12)  # the rise stops at 65 min
    blocked = series("c1", "flow", [0.05] * 14)  # then the culvert meter falls silent
    events = run(compile_yaml(stations=POND, rules=rules), [*level, *blocked])
    assert [e.transition.value for e in events] == ["firing", "resolved"]


# -- its config model (the kind's own keys and problems, without a file) -----------


Found = list[tuple[tuple[str | int, ...], str]]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"above": 1}, []),
        ({"station": "$outlet", "kind": "flow", "below": 0.05}, []),
        ({}, [((), "give exactly one of 'above' or 'below'")]),
        ({"above": 1, "below": 2}, [((), "give exactly one of 'above' or 'below'")]),
        (
            {"metric": "rate_of_rise", "above": 0.2},
            [(("window",), "metric 'rate_of_rise' needs a window, e.g. '30m'")],
        ),
        (
            {"metric": "accumulation", "window": "1h", "above": 30},
            [(("metric",), "accumulation applies to kind 'rain'")],
        ),
        ({"metric": "accumulation", "kind": "rain", "window": "1h", "above": 30}, []),
    ],
)
def test_a_condition_is_one_comparison_with_what_its_metric_needs(
    data: dict[str, Any], expected: Found
) -> None:
    assert list(Condition.model_validate(data).problems()) == expected


@pytest.mark.parametrize("ref", ["$Outlet", "a/b", "", 5])
def test_a_condition_reads_self_a_link_or_a_station(ref: object) -> None:
    with pytest.raises(ValidationError):
        Condition.model_validate({"station": ref, "above": 1})


def test_a_condition_set_is_all_or_any_of_at_least_one() -> None:
    assert list(ConditionSet.model_validate({"all": [{"above": 1}]}).problems()) == []
    assert list(ConditionSet().problems()) == [((), "give exactly one of 'all' or 'any'")]
    assert list(ConditionSet.model_validate({"any": [], "all": [{}]}).problems()) == [
        ((), "give exactly one of 'all' or 'any'"),
        (("all", 0), "give exactly one of 'above' or 'below'"),
        (("any",), "give at least one condition"),
    ]


def test_a_compound_rule_s_problems_are_at_their_conditions() -> None:
    compound = CompoundRule.model_validate(
        {
            "id": "r1",
            "stations": ["p1"],
            "kind": "compound",
            "severity": "orange",
            "all": [{"above": 1}, {"metric": "rate_of_rise", "above": 0.1}],
            "any": [{}],
            "clear_when": {"any": []},
            "hold_while": {"all": [{"above": 1, "below": 0}]},
        }
    )
    assert list(compound.problems()) == [
        ((), "give exactly one of 'all' or 'any'"),
        (("all", 1, "window"), "metric 'rate_of_rise' needs a window, e.g. '30m'"),
        (("any", 0), "give exactly one of 'above' or 'below'"),
        (("clear_when", "any"), "give at least one condition"),
        (("hold_while", "all", 0), "give exactly one of 'above' or 'below'"),
    ]
