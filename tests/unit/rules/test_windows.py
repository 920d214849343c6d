"""`rules.windows`: the ring buffer of a series and the window probes on it
(rate of change, gap-aware accumulation), one row of the engine's store each.

The engine releases readings to them in event-time order; these tests drive
them directly, the way `Series` does, and hold the incremental sums to a
recount from the ring."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from floodwatch.rules.store import ACCUM_COLUMNS, RATE_COLUMNS, SERIES_COLUMNS, UNITS_PER
from floodwatch.rules.windows import AccumProbe, RateProbe, Ring

MIN = 60_000
HOUR = 60 * MIN


def _row(spec: dict[str, tuple[str, float]]) -> dict[str, np.ndarray]:
    return {name: np.full(1, init, dtype=dtype) for name, (dtype, init) in spec.items()}


def ring(capacity: int) -> Ring:
    """A ring bound to a one-row store of its own, as `Store` binds it."""
    r = Ring(capacity)
    ts = np.zeros(r.cap, dtype=np.int64)
    val = np.zeros(r.cap, dtype=np.float64)
    r.bind(_row(SERIES_COLUMNS), 0, 0, memoryview(ts), memoryview(val))  # type: ignore[arg-type]
    return r


def rate_probe(r: Ring, window: int) -> RateProbe:
    p = RateProbe(r, window)
    p.bind(_row(RATE_COLUMNS), 0)
    return p


def accum_probe(r: Ring, window: int, interval: int = 5 * MIN, tol: float = 0.0) -> AccumProbe:
    p = AccumProbe(r, window, interval, tol)
    p.bind(_row(ACCUM_COLUMNS), 0)
    return p


def feed(r: Ring, probes: list[RateProbe | AccumProbe], ts: int, value: float) -> None:
    """One released reading: into the ring, then every probe (as `Series` does)."""
    r.append(ts, value)
    for p in probes:
        p.update(ts, value)


# -- Ring ---------------------------------------------------------------------------


def test_a_ring_keeps_the_last_cap_samples_oldest_first() -> None:
    r = ring(4)
    for k in range(6):
        r.append(k * MIN, float(k))
    assert (r.n, r.oldest, r.cap) == (6, 2, 4)
    ts, val = r.since(0)
    assert ts.tolist() == [2 * MIN, 3 * MIN, 4 * MIN, 5 * MIN]
    assert val.tolist() == [2.0, 3.0, 4.0, 5.0]
    assert r.nbytes() == 64


def test_since_starts_at_the_first_sample_at_or_after_the_time() -> None:
    r = ring(8)
    for k in range(5):
        r.append(k * 5 * MIN, float(k))
    assert r.since(10 * MIN)[0].tolist() == [10 * MIN, 15 * MIN, 20 * MIN]  # ≥, not >
    assert r.since(11 * MIN)[1].tolist() == [3.0, 4.0]
    assert len(r.since(21 * MIN)[0]) == 0  # nothing that recent
    empty = ring(3)
    assert len(empty.since(0)[0]) == 0 and empty.oldest == 0


def test_a_ring_never_holds_fewer_than_two_samples() -> None:
    r = ring(0)  # a rate needs two ends
    assert r.cap == 2
    r.append(0, 1.0)
    r.append(MIN, 2.0)
    r.append(2 * MIN, 3.0)
    assert r.since(0)[1].tolist() == [2.0, 3.0]


def test_since_with_an_earlier_sample_after_a_later_one_starts_after_the_newest_earlier() -> None:
    # A station's own backfill can put an older time after a newer one in the ring:
    # the window is what a walk back from the newest sample would reach.
    r = ring(8)
    for t, v in ((0, 0.0), (10 * MIN, 1.0), (5 * MIN, 2.0), (20 * MIN, 3.0)):
        r.append(t, v)
    assert r.since(8 * MIN)[1].tolist() == [3.0]


# -- RateProbe ----------------------------------------------------------------------


def test_a_rate_needs_half_its_window_of_history() -> None:
    r = ring(16)
    p = rate_probe(r, 30 * MIN)
    values = [310.0 + 0.05 * k for k in range(8)]  # 5 cm per 5 min: 0.6 m/h
    rates = []
    for k, v in enumerate(values):
        feed(r, [p], k * 5 * MIN, v)
        rates.append(p.rate)
    assert rates[:3] == [None, None, None]  # 0, 5, 10 minutes of span
    assert all(x is not None and abs(x - 0.6) < 1e-9 for x in rates[3:])  # from 15 minutes
    assert p.updated == 35 * MIN


def test_a_rate_looks_back_no_further_than_its_window() -> None:
    r = ring(32)
    p = rate_probe(r, 30 * MIN)
    for k in range(13):  # flat for an hour
        feed(r, [p], k * 5 * MIN, 310.0)
    feed(r, [p], 65 * MIN, 310.3)  # +0.3 m in the last 5 minutes, over a 30-minute window
    assert p.rate is not None and abs(p.rate - 0.6) < 1e-9
    assert r.ts[r.slot(p.start)] == 35 * MIN  # the sample exactly a window back is kept
    falling = rate_probe(r, 30 * MIN)
    falling.start = p.start
    feed(r, [falling], 70 * MIN, 309.9)
    assert falling.rate is not None and falling.rate < 0


def test_after_a_gap_longer_than_the_window_there_is_no_rate() -> None:
    # A gauge silent for two hours: a rate across the gap would be invented.
    r = ring(16)
    p = rate_probe(r, 30 * MIN)
    for k in range(7):
        feed(r, [p], k * 5 * MIN, 310.0)
    feed(r, [p], 3 * HOUR, 311.0)
    assert p.rate is None
    feed(r, [p], 3 * HOUR + 20 * MIN, 311.1)  # 20 min of span again: a rate
    assert p.rate is not None and abs(p.rate - 0.3) < 1e-9


def test_a_repeated_time_has_no_span_and_no_rate() -> None:
    r = ring(4)
    p = rate_probe(r, 0)  # window 0
    feed(r, [p], MIN, 1.0)
    feed(r, [p], MIN, 2.0)
    assert p.rate is None  # never a division by zero


def test_a_rate_uses_only_what_the_ring_still_holds() -> None:
    # A gauge reporting faster than its interval overwrites the ring: the rate
    # covers the span actually held.
    r = ring(4)
    p = rate_probe(r, HOUR)
    for k in range(10):
        feed(r, [p], k * MIN, float(k))  # 1 per minute = 60 per hour
    assert p.start >= r.oldest
    assert p.rate is None  # 3 minutes held of the 30 a rate needs
    wide = ring(64)
    q = rate_probe(wide, 4 * MIN)
    for k in range(10):
        feed(wide, [q], k * MIN, float(k))
    assert q.rate is not None and abs(q.rate - 60.0) < 1e-9


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 40 * MIN), st.floats(-5, 5, allow_nan=False)),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 12),
    st.integers(1, 90),
)
def test_the_incremental_rate_equals_one_computed_from_the_ring(
    steps: list[tuple[int, float]], cap: int, window_min: int
) -> None:
    r = ring(cap)
    window = window_min * MIN
    p = rate_probe(r, window)
    t = 0
    for gap, value in steps:
        t += gap
        feed(r, [p], t, value)
        ts, val = r.since(t - window)
        if len(ts) == 0:  # even the newest sample is held: never empty
            ts, val = r.since(t)
        span = t - int(ts[0])
        expected = None if span < window // 2 or span <= 0 else (value - val[0]) * HOUR / span
        assert (p.rate is None) == (expected is None)
        if expected is not None:
            assert p.rate == expected


# -- AccumProbe ---------------------------------------------------------------------


def test_reports_expected_in_a_window_with_the_missing_tolerance() -> None:
    r = ring(4)
    assert accum_probe(r, HOUR, 5 * MIN, 0.0).expected == 12
    assert accum_probe(r, HOUR, 5 * MIN, 0.2).expected == 9  # 9.6: at least 9 of 12
    assert accum_probe(r, 3 * HOUR, HOUR, 0.5).expected == 1
    assert accum_probe(r, 5 * MIN, HOUR, 0.0).expected == 1  # a window shorter than a report
    # 30 reports with 90 % missing allowed: 3, though 30 * (1 - 0.9) is 2.9999999999999996
    assert accum_probe(r, 150 * MIN, 5 * MIN, 0.9).expected == 3


def test_an_hour_of_rain_is_the_reports_in_the_last_hour_end_included() -> None:
    r = ring(32)
    p = accum_probe(r, HOUR)
    for k in range(13):  # reports at 0, 5, …, 60 min
        feed(r, [p], k * 5 * MIN, 1.0)
    # (0, 60]: the report at 0 min is an hour old and belongs to the hour before
    assert (p.total, p.count, p.complete) == (12.0, 12, True)
    assert p.updated == HOUR


def test_a_window_with_missing_reports_is_incomplete_not_drier() -> None:
    r = ring(32)
    p = accum_probe(r, HOUR)
    for k in range(0, 13, 2):  # every other report lost
        feed(r, [p], k * 5 * MIN, 2.0)
    assert p.total == 12.0 and p.count == 6 and not p.complete
    tolerant = ring(32)
    q = accum_probe(tolerant, HOUR, tol=0.5)
    for k in range(0, 13, 2):
        feed(tolerant, [q], k * 5 * MIN, 2.0)
    assert q.complete  # 6 of 12 allowed


def test_rain_leaves_the_window_as_it_ages() -> None:
    r = ring(64)
    p = accum_probe(r, HOUR)
    feed(r, [p], 0, 30.0)  # a burst
    for k in range(1, 12):
        feed(r, [p], k * 5 * MIN, 0.0)
    assert p.total == 30.0
    feed(r, [p], HOUR, 0.0)
    assert p.total == 0.0 and p.count == 12
    feed(r, [p], 5 * HOUR, 0.4)  # after a four-hour outage: only the new report
    assert (p.total, p.count, p.complete) == (0.4, 1, False)


def test_a_long_run_of_drizzle_leaves_no_float_drift() -> None:
    # A week of 0.1 mm every 5 minutes, then an hour dry: the hour's total is 0
    # exactly, not 1e-12 (a "0.0 mm" window that never reads as dry).
    r = ring(32)
    p = accum_probe(r, HOUR)
    n = 7 * 24 * 12
    for k in range(n):
        feed(r, [p], k * 5 * MIN, 0.1)
    assert p.total == 1.2 and p.units == 12 * UNITS_PER // 10
    for k in range(n, n + 12):
        feed(r, [p], k * 5 * MIN, 0.0)
    assert p.total == 0.0 and p.units == 0


def test_totals_do_not_depend_on_the_order_values_came_and_went() -> None:
    values = [0.1, 0.2, 0.7, 1e-6, 33.3, 0.05]
    assert sum(values) != sum(values[::-1])  # in floats they would differ
    totals = []
    for order in (values, values[::-1]):
        r = ring(16)
        p = accum_probe(r, 30 * MIN)
        for k, v in enumerate(order):
            feed(r, [p], k * 5 * MIN, v)
        totals.append(p.total)
        for k in range(len(order), len(order) + 6):
            feed(r, [p], k * 5 * MIN, 0.0)
        assert p.units == 0  # each left as exactly what it brought
    assert totals[0] == totals[1] == 34.350001


def test_a_ring_overwritten_within_the_window_is_counted_again() -> None:
    # A gauge reporting every minute against a 5-minute interval: the 1-hour
    # window asks for more than the ring holds; the total covers what is held.
    r = ring(6)
    p = accum_probe(r, HOUR)
    for k in range(20):
        feed(r, [p], k * MIN, 1.0)
    assert p.count == 6 and p.total == 6.0
    assert p.start == r.oldest


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 90 * MIN), st.floats(0, 80, allow_nan=False)),
        min_size=1,
        max_size=80,
    ),
    st.integers(2, 24),
    st.sampled_from([15 * MIN, HOUR, 3 * HOUR]),
)
def test_the_incremental_total_equals_a_recount(
    steps: list[tuple[int, float]], cap: int, window: int
) -> None:
    r = ring(cap)
    p = accum_probe(r, window, 5 * MIN, 0.2)
    check = accum_probe(r, window, 5 * MIN, 0.2)
    t = 0
    for gap, value in steps:
        t += gap
        feed(r, [p], t, value)
        check.recount(t)
        assert (p.units, p.count, p.complete) == (check.units, check.count, check.complete)
        ts, val = r.since(t - window + 1)
        assert p.count == len(ts)
        assert p.units == sum(round(v * UNITS_PER) for v in val.tolist())
