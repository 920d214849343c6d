"""`rules.latch`: one latch per warning level, each with its enter dwell (`for`)
and exit dwell (`clear_for`); the severity is the highest level on. Unknown
(stale or incomplete) data neither raises nor clears: it restarts both dwells."""

from __future__ import annotations

from floodwatch.rules.latch import Latch

MIN = 60_000


def two_levels(for_min: int = 0, clear_min: int = 0) -> Latch:
    return Latch([for_min * MIN, for_min * MIN], [clear_min * MIN, clear_min * MIN])


def test_without_dwell_a_level_is_on_at_the_first_evaluation_that_meets_it() -> None:
    latch = two_levels()
    assert latch.update(0, [True, False], [False, False]) == 1
    assert latch.update(MIN, [True, True], [False, False]) == 2
    assert latch.on == [True, True] and latch.busy
    # the upper level's exit holds: back to the lower one; then both exits: off
    assert latch.update(2 * MIN, [True, False], [False, True]) == 1
    assert latch.update(3 * MIN, [False, False], [True, True]) == 0
    assert not latch.busy and latch.top == 0


def test_the_enter_dwell_must_hold_continuously() -> None:
    latch = two_levels(for_min=10)
    assert latch.update(0, [True, False], [False, False]) == 0
    assert latch.pending == 1 and latch.busy  # a dwell running is busy, not quiet
    assert latch.update(5 * MIN, [False, False], [False, False]) == 0  # broken: restarts
    assert latch.pending == 0 and not latch.busy
    assert latch.update(6 * MIN, [True, False], [False, False]) == 0
    assert latch.update(15 * MIN, [True, False], [False, False]) == 0  # 9 min: not yet
    assert latch.update(16 * MIN, [True, False], [False, False]) == 1  # 10 min: on


def test_the_exit_dwell_must_hold_continuously_and_a_relapse_restarts_it() -> None:
    latch = two_levels(clear_min=15)
    latch.update(0, [True, False], [False, False])
    assert latch.update(MIN, [False, False], [True, True]) == 1  # exit starts
    assert latch.update(10 * MIN, [True, False], [False, False]) == 1  # relapse: restarts
    assert latch.exit_since == [None, None]
    assert latch.update(11 * MIN, [False, False], [True, True]) == 1
    assert latch.update(25 * MIN, [False, False], [True, True]) == 1  # 14 min
    assert latch.update(26 * MIN, [False, False], [True, True]) == 0  # 15 min: off


def test_hysteresis_neither_enter_nor_exit_keeps_the_level() -> None:
    latch = two_levels()
    latch.update(0, [True, False], [False, False])
    for k in range(1, 10):  # hovering between the exit and the enter line
        assert latch.update(k * MIN, [False, False], [False, False]) == 1


def test_an_unknown_measure_neither_raises_nor_clears_and_restarts_the_dwells() -> None:
    latch = Latch([10 * MIN], [10 * MIN])
    enters, exits = [311.0], [310.9]
    assert latch.update_measure(0, 311.2, enters, exits, rising=True) == 0
    assert latch.update_measure(5 * MIN, None, enters, exits, rising=True) == 0
    assert latch.enter_since == [None]  # the dwell restarts after the gap
    assert latch.update_measure(10 * MIN, 311.2, enters, exits, rising=True) == 0
    assert latch.update_measure(20 * MIN, 311.2, enters, exits, rising=True) == 1
    assert latch.update_measure(25 * MIN, 310.0, enters, exits, rising=True) == 1
    assert latch.update_measure(30 * MIN, None, enters, exits, rising=True) == 1  # unknown holds
    assert latch.exit_since == [None]
    assert latch.update_measure(40 * MIN, 310.0, enters, exits, rising=True) == 1
    assert latch.update_measure(50 * MIN, 310.0, enters, exits, rising=True) == 0


def test_a_falling_measure_enters_at_or_below_and_exits_above() -> None:
    latch = Latch([0, 0], [0, 0])
    enters, exits = [0.4, 0.2], [0.45, 0.25]  # freeboard: fewer metres is worse
    assert latch.update_measure(0, 0.4, enters, exits, rising=False) == 1  # at the line
    assert latch.update_measure(MIN, 0.2, enters, exits, rising=False) == 2
    assert latch.update_measure(2 * MIN, 0.25, enters, exits, rising=False) == 2  # not above
    assert latch.update_measure(3 * MIN, 0.26, enters, exits, rising=False) == 1
    assert latch.update_measure(4 * MIN, 0.46, enters, exits, rising=False) == 0


def test_a_rising_measure_enters_at_the_line_and_exits_only_below_the_reset() -> None:
    latch = Latch([0], [0])
    assert latch.update_measure(0, 310.99, [311.0], [310.95], rising=True) == 0
    assert latch.update_measure(MIN, 311.0, [311.0], [310.95], rising=True) == 1
    assert latch.update_measure(2 * MIN, 310.95, [311.0], [310.95], rising=True) == 1
    assert latch.update_measure(3 * MIN, 310.94, [311.0], [310.95], rising=True) == 0


def test_the_top_is_the_highest_level_on_even_with_a_lower_one_off() -> None:
    latch = Latch([0, 0, 0], [0, 0, 0])
    assert latch.update(0, [False, False, True], [False, False, False]) == 3
    assert latch.on == [False, False, True]
    assert latch.pending == 0


def test_pending_names_the_highest_level_whose_dwell_runs() -> None:
    latch = Latch([0, 10 * MIN, 10 * MIN], [0, 0, 0])
    latch.update(0, [True, True, True], [False, False, False])
    assert latch.top == 1 and latch.pending == 3


def test_state_and_restore_continue_exactly() -> None:
    latch = two_levels(for_min=10, clear_min=10)
    latch.update(0, [True, False], [False, False])
    latch.update(10 * MIN, [True, True], [False, False])  # lower on, upper dwell running
    saved = latch.state()
    copy = two_levels(for_min=10, clear_min=10)
    copy.restore(saved)  # type: ignore[arg-type]
    assert (
        (copy.top, copy.busy, copy.pending)
        == (latch.top, latch.busy, latch.pending)
        == (1, True, 2)
    )
    for k, enter in [(15, [True, True]), (20, [True, True]), (25, [False, False])]:
        exits = [not e for e in enter]
        assert copy.update(k * MIN, enter, exits) == latch.update(k * MIN, enter, exits)
    assert copy.state() == latch.state()


def test_a_restored_quiet_latch_is_not_busy() -> None:
    latch = two_levels()
    latch.restore({"on": [False, False], "enter_since": [None, None], "exit_since": [None, None]})
    assert (latch.top, latch.busy) == (0, False)
