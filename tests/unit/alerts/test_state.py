"""`alerts.state`: the four colours ordered once (blue IV < yellow III < orange II
< red I, `info` below them all) and the one function that says which event a
change of severity is."""

from __future__ import annotations

import itertools

import pytest

from floodwatch.alerts.state import WARNING_LEVELS, Severity, Transition, transition

ORDER = [Severity.INFO, Severity.BLUE, Severity.YELLOW, Severity.ORANGE, Severity.RED]


def test_the_colours_rank_blue_below_yellow_below_orange_below_red_and_info_below_all() -> None:
    assert sorted(Severity, key=lambda s: s.rank) == ORDER
    assert [s.rank for s in ORDER] == [0, 1, 2, 3, 4]
    assert list(WARNING_LEVELS) == ORDER[1:]  # the warning colours, lowest first


def test_the_chinese_grade_is_iv_for_blue_up_to_i_for_red_and_none_for_info() -> None:
    assert [s.roman for s in ORDER] == ["", "IV", "III", "II", "I"]


def test_severities_read_from_their_config_and_json_strings() -> None:
    assert Severity("orange") is Severity.ORANGE
    assert f"{Severity.RED}" == "red"  # a StrEnum: said as its value in texts and JSON
    with pytest.raises(ValueError, match="'purple'"):
        Severity("purple")


def test_no_change_is_no_event() -> None:
    assert transition(None, None) is None
    for severity in Severity:
        assert transition(severity, severity) is None


def test_from_no_alert_is_firing_and_to_no_alert_is_resolved() -> None:
    for severity in Severity:
        assert transition(None, severity) is Transition.FIRING
        assert transition(severity, None) is Transition.RESOLVED


@pytest.mark.parametrize(("before", "after"), list(itertools.permutations(ORDER, 2)))
def test_up_the_scale_is_escalated_and_down_is_downgraded(
    before: Severity, after: Severity
) -> None:
    expected = Transition.ESCALATED if after.rank > before.rank else Transition.DOWNGRADED
    assert transition(before, after) is expected


def test_the_order_is_by_rank_not_by_name() -> None:
    # alphabetically "blue" < "orange" < "red" < "yellow": yellow → orange is still up
    assert transition(Severity.YELLOW, Severity.ORANGE) is Transition.ESCALATED
    assert transition(Severity.RED, Severity.YELLOW) is Transition.DOWNGRADED
    assert transition(Severity.INFO, Severity.BLUE) is Transition.ESCALATED
