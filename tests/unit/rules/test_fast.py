"""`rules.fast` piece by piece: which series `FastPath.split` lets go fast, and
what `apply` leaves behind. (`test_fast_path.py` holds the whole engine, fast
and exact, to the same output; this file drives a `FastPath` over its own
state store, one batch at a time, so each check can be seen to bite.)"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floodwatch.readings import Reading, ts_to_ms
from floodwatch.rules.bound import FastBound, Watch
from floodwatch.rules.build import Series, build_series
from floodwatch.rules.engine import Engine, EngineOutput
from floodwatch.rules.fast import (
    MARGIN,
    Batch,
    FastPath,
    _group_starts,
    _lower,
    _never,
)
from floodwatch.rules.store import Store
from floodwatch.testing import T0, compile_yaml, series
from tests.conftest import POND

MIN = 60_000
START = ts_to_ms(T0)

LEVEL = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    levels: {yellow: {enter: design_flood}, red: {enter: crest - 0.2}}
"""
RAIN = """
rules:
  - id: rain
    kind: rainfall
    stations: [r1]
    levels: {blue: {within: {1h: 30}}}
"""
RISE = """
rules:
  - id: rise
    kind: rate_of_rise
    stations: [p1]
    window: 30m
    levels: {yellow: {enter: 0.3}}
"""
HEALTH = """
  - id: health
    kind: sensor_health
    stations: [p1]
    stale_after: 2
    stuck_for: 30m
"""
COMPOUND = """
rules:
  - id: blocked
    kind: compound
    stations: [p1]
    severity: orange
    all:
      - {station: self, metric: rate_of_rise, window: 30m, above: 0.15}
      - {station: $outlet, kind: flow, below: 0.3}
"""

Item = tuple[str, str, float, float] | tuple[str, str, float, float, bool]


class Rig:
    """A FastPath over a state store of its own, fed one batch at a time."""

    def __init__(self, rules: str, stations: str = POND) -> None:
        self.series = build_series(compile_yaml(stations=stations, rules=rules))
        self.rows: list[Series] = list(self.series.values())
        self.store = Store(self.rows)
        self.fast = FastPath(self.rows, self.store)

    def row(self, station: str, kind: str) -> int:
        return self.series[(station, kind)].order

    def batch(self, items: list[Item]) -> Batch:
        """(station, kind, minute, value[, bad]) in any order → a grouped batch."""
        keyed = sorted(
            (self.row(i[0], i[1]), START + int(i[2] * MIN), i[3], bool(i[4:5] and i[4]))  # type: ignore[misc]
            for i in items
        )
        s = np.array([k[0] for k in keyed], dtype=np.int64)
        t = np.array([k[1] for k in keyed], dtype=np.int64)
        v = np.array([k[2] for k in keyed], dtype=np.float64)
        bad = np.array([k[3] for k in keyed], dtype=bool)
        return Batch(s, t, v, bad if bad.any() else None)

    def slow(self, items: list[Item]) -> dict[tuple[str, str], bool]:
        slow, _ = self.fast.split(self.batch(items))
        return {key: bool(slow[s.order]) for key, s in self.series.items()}

    def run(self, items: list[Item]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """split, then apply what is quiet (as the engine does)."""
        b = self.batch(items)
        slow, facts = self.fast.split(b)
        self.fast.apply(b, slow, facts)
        return slow, facts


def every_5(station: str, kind: str, values: list[float], start: float = 0) -> list[Item]:
    return [(station, kind, start + 5 * k, v) for k, v in enumerate(values)]


# -- Batch ----------------------------------------------------------------------------


def test_a_batch_knows_each_series_segment() -> None:
    s = np.array([0, 0, 2, 2, 2, 5], dtype=np.int64)
    b = Batch(s, np.arange(6, dtype=np.int64), np.zeros(6), None)
    assert b.starts.tolist() == [0, 2, 5]
    assert b.ends.tolist() == [1, 4, 5]
    assert b.useries.tolist() == [0, 2, 5]
    assert b.counts.tolist() == [2, 3, 1]
    assert b.seg.tolist() == [0, 0, 1, 1, 1, 2]


# -- levels: the ceiling and its margin ---------------------------------------------------


def test_readings_under_the_lowest_line_go_fast_and_at_it_go_exact() -> None:
    rig = Rig(LEVEL)
    assert rig.slow(every_5("p1", "level", [311.0, 311.1, 311.3]))[("p1", "level")] is False
    assert rig.slow(every_5("p1", "level", [311.2, 311.4, 311.2]))[("p1", "level")] is True
    # series without any rule (the culvert here) are always quiet on values
    assert rig.slow(every_5("c1", "flow", [1e6]))[("c1", "flow")] is False


def test_a_hair_under_the_line_is_in_doubt_and_goes_exact() -> None:
    rig = Rig(LEVEL)
    line = 311.4
    assert rig.fast.ceiling[rig.row("p1", "level")] < line
    assert rig.slow(every_5("p1", "level", [line - 1e-10]))[("p1", "level")] is True
    assert rig.slow(every_5("p1", "level", [line - 1e-6]))[("p1", "level")] is False


def test_a_busy_series_always_goes_exact() -> None:
    rig = Rig(LEVEL)
    rig.store.series["busy"][rig.row("p1", "level")] = True  # an alert is active
    assert rig.slow(every_5("p1", "level", [300.0]))[("p1", "level")] is True


SEASONAL = POND.replace(
    "flood_limit: 310.6}", 'flood_limit: {"05-01..06-30": 310.4, default: 310.8}}'
)
SEASONAL_RULE = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    levels: {yellow: {enter: flood_limit}}
"""


def test_a_season_inside_a_long_batch_is_seen() -> None:
    # An archive replayed in one batch from April to July at 310.6 m: under the
    # line before and after the plum-rain season (310.8), over it during (310.4).
    # The ceiling used to be taken at the batch's two ends only: quiet, no alert.
    rig = Rig(SEASONAL_RULE, SEASONAL)
    april = (datetime(2026, 4, 25, tzinfo=UTC) - T0) / timedelta(minutes=1)
    hours = [("p1", "level", april + 60 * h, 310.6) for h in range(24 * 70)]
    assert rig.slow(hours)[("p1", "level")] is True  # type: ignore[arg-type]
    assert rig.slow(hours[: 24 * 5])[("p1", "level")] is False  # type: ignore[arg-type]


HOURLY_SEASONAL = compile_yaml(
    stations=SEASONAL.replace("interval: 5m\n    levels", "interval: 1h\n    levels", 1),
    rules=SEASONAL_RULE,
)


def test_the_engine_warns_in_season_whatever_the_batching() -> None:
    compiled = HOURLY_SEASONAL
    start = datetime(2026, 4, 25, tzinfo=UTC)
    readings = series("p1", "level", [310.6] * (24 * 70), start=start, every=timedelta(hours=1))
    timelines = []
    for fast in (True, False):
        engine = Engine(compiled, fast=fast)
        out = engine.process(readings)
        out.extend(engine.flush())
        timelines.append([(e.transition.value, e.ts) for e in out.alerts])
    assert timelines[0] == timelines[1]
    assert [tr for tr, _ in timelines[0]] == ["firing", "resolved"]


# a three-day season: a ten-day record may hold all of it between its ends
SHORT_SEASON = compile_yaml(
    stations=SEASONAL.replace("05-01..06-30", "05-10..05-12").replace(
        "interval: 5m\n    levels", "interval: 1h\n    levels", 1
    ),
    rules=SEASONAL_RULE,
)


@settings(max_examples=25, deadline=None)
@given(
    start_day=st.integers(25, 45),
    level=st.sampled_from([310.3, 310.5, 310.7, 310.9]),
    sizes=st.lists(st.integers(1, 2_000), min_size=1, max_size=3),
)
def test_seasonal_lines_fast_equals_exact_for_any_batching(
    start_day: int, level: float, sizes: list[int]
) -> None:
    """Ten days of hourly readings starting anywhere around a short season, cut
    into batches of any size: the fast engine warns exactly when the exact one does."""
    start = datetime(2026, 4, 1, tzinfo=UTC) + timedelta(days=start_day, hours=7)
    wobble = [level + 0.05 * math.sin(h / 5) for h in range(24 * 10)]
    readings = series("p1", "level", wobble, start=start, every=timedelta(hours=1))
    timelines = []
    for fast in (True, False):
        engine = Engine(SHORT_SEASON, fast=fast)
        out = EngineOutput()
        i = k = 0
        while i < len(readings):
            size = sizes[k % len(sizes)]
            out.extend(engine.process(readings[i : i + size]))
            i, k = i + size, k + 1
        out.extend(engine.flush())
        timelines.append([e.to_json() for e in out.alerts])
    assert timelines[0] == timelines[1]


# -- the quality gate ---------------------------------------------------------------------


def test_duplicates_bad_quality_and_silence_go_exact() -> None:
    rig = Rig(LEVEL + HEALTH)
    key = ("p1", "level")
    assert rig.slow(every_5("p1", "level", [310.0, 310.0]))[key] is False
    assert rig.slow([("p1", "level", 0, 310.0), ("p1", "level", 0, 310.0)])[key] is True
    assert rig.slow([("p1", "level", 0, 310.0, True)])[key] is True  # quality not good
    # silent for 20 minutes between two readings of the batch (stale after 10)
    assert rig.slow([("p1", "level", 0, 310.0), ("p1", "level", 20, 310.0)])[key] is True
    assert rig.slow([("p1", "level", 0, 310.0), ("p1", "level", 10, 310.0)])[key] is False


def test_out_of_range_and_steps_beyond_max_step_go_exact() -> None:
    rig = Rig(LEVEL + HEALTH)
    key = ("p1", "level")
    assert rig.slow(every_5("p1", "level", [299.0]))[key] is True  # min 300
    assert rig.slow(every_5("p1", "level", [315.5]))[key] is True  # max 315
    assert rig.slow(every_5("p1", "level", [310.0, 310.31]))[key] is True  # max_step 0.3
    assert rig.slow(every_5("p1", "level", [310.0, 310.29, 310.0]))[key] is False


def test_the_first_step_of_a_batch_counts_from_the_last_good_value() -> None:
    rig = Rig(LEVEL + HEALTH)
    key = ("p1", "level")
    rig.run(every_5("p1", "level", [310.0, 310.0]))
    assert rig.store.series["h_last_good"][rig.row(*key)] == 310.0
    assert rig.slow([("p1", "level", 10, 310.5)])[key] is True  # a 0.5 m jump
    assert rig.slow([("p1", "level", 10, 310.2)])[key] is False


def test_a_stuck_run_reaching_its_time_goes_exact_and_its_start_is_kept() -> None:
    rig = Rig(LEVEL + HEALTH)
    key = ("p1", "level")
    assert rig.slow(every_5("p1", "level", [310.0] * 6))[key] is False  # 25 min the same
    assert rig.slow(every_5("p1", "level", [310.0] * 7))[key] is True  # 30 min: stuck
    rig.run(every_5("p1", "level", [310.1, 310.0, 310.0, 310.0]))
    assert rig.store.series["h_same_since"][rig.row(*key)] == START + 5 * MIN
    # the run goes on in the next batch: from 5 min, 30 min is reached at 35
    assert rig.slow(every_5("p1", "level", [310.0] * 3, start=20))[key] is False
    assert rig.slow(every_5("p1", "level", [310.0] * 4, start=20))[key] is True


# -- windows: rain totals and rates ---------------------------------------------------------


def test_rain_goes_exact_once_the_window_total_plus_the_batch_may_reach_the_line() -> None:
    rig = Rig(RAIN)
    key = ("r1", "rain")
    assert rig.slow(every_5("r1", "rain", [10.0, 10.0, 9.9]))[key] is False  # 29.9 mm
    assert rig.slow(every_5("r1", "rain", [10.0, 10.0, 10.0]))[key] is True  # 30 mm
    rig.run(every_5("r1", "rain", [10.0, 10.0]))  # 20 mm held in the window
    assert rig.store.accum["units"][0] == 20_000_000
    assert rig.slow([("r1", "rain", 10, 9.0)])[key] is False
    assert rig.slow([("r1", "rain", 10, 10.0)])[key] is True  # 20 held + 10 new


def test_a_steep_rise_goes_exact_and_a_flat_one_fast() -> None:
    rig = Rig(RISE)
    key = ("p1", "level")
    flat = every_5("p1", "level", [310.0 + 0.001 * k for k in range(12)])
    assert rig.slow(flat)[key] is False
    steep = every_5("p1", "level", [310.0 + 0.05 * k for k in range(12)])  # 0.6 m/h
    assert rig.slow(steep)[key] is True


def test_apply_leaves_the_state_the_exact_path_leaves() -> None:
    rules = RISE + RAIN.replace("rules:\n", "") + HEALTH
    items = [
        *every_5("p1", "level", [310.0 + 0.002 * k for k in range(40)]),
        *every_5("r1", "rain", [0.5] * 40),
        *every_5("c1", "flow", [1.0] * 40),
    ]
    rig = Rig(rules)
    half = [i for i in items if i[2] < 100]
    rest = [i for i in items if i[2] >= 100]
    for chunk in (half, rest):
        slow, _ = rig.run(chunk)
        assert not slow.any()  # all quiet: everything went through apply
    exact = Engine(compile_yaml(stations=POND, rules=rules), fast=False)
    exact.process(
        [Reading(st, kind, v, T0 + timedelta(minutes=m)) for st, kind, m, v, *_ in items]  # type: ignore[arg-type]
    )
    exact.flush()
    mine, theirs = rig.store.columns(), exact.store.columns()
    for table in ("rate", "accum", "ring"):
        for name, column in mine[table].items():
            assert np.array_equal(column, theirs[table][name], equal_nan=True), (table, name)
    for name in (
        "last_ts",
        "last_raw",
        "lv_ts",
        "lv_value",
        "ring_n",
        "h_last_good",
        "h_last_value",
    ):
        assert np.array_equal(mine["series"][name], theirs["series"][name], equal_nan=True), name


def test_a_batch_longer_than_the_ring_keeps_its_newest_readings() -> None:
    rig = Rig(RAIN)
    ring = rig.series[("r1", "rain")].ring
    assert ring is not None
    n = ring.cap + 7
    rig.run(every_5("r1", "rain", [0.1 * (k % 3) for k in range(n)]))
    assert ring.n == n
    ts, _ = ring.since(0)
    assert len(ts) == ring.cap and ts[-1] == START + 5 * MIN * (n - 1)
    probe = rig.series[("r1", "rain")].accum_probes()[0]
    check = round(sum(0.1 * (k % 3) for k in range(n - 12, n)) * 1e6)
    assert abs(probe.units - check) <= 1 and probe.count == 12 and probe.complete


# -- compounds and readers -------------------------------------------------------------------


def test_a_compound_is_quiet_while_one_of_its_conditions_cannot_hold() -> None:
    rig = Rig(COMPOUND)
    rising = every_5("p1", "level", [310.0 + 0.05 * k for k in range(12)])  # 0.6 m/h
    flowing = every_5("c1", "flow", [1.5] * 12)
    blocked = every_5("c1", "flow", [0.1] * 12)
    flat = every_5("p1", "level", [310.0] * 12)
    assert rig.slow([*flat, *blocked]) == {k: False for k in rig.series}
    assert rig.slow([*rising, *flowing])[("p1", "level")] is False
    both = rig.slow([*rising, *blocked])
    assert both[("p1", "level")] is True and both[("c1", "flow")] is True


class _Rule:
    """A rule instance that only answers `fast_bound` (what FastPath reads)."""

    def __init__(self, bound: FastBound | None) -> None:
        self.bound = bound

    def fast_bound(self) -> FastBound | None:
        return self.bound


def _with(rules: str, bound: FastBound | None) -> Rig:
    rig = Rig(rules)
    rig.series[("p1", "level")].rules.append(_Rule(bound))  # type: ignore[arg-type]
    rig.fast = FastPath(rig.rows, rig.store)
    return rig


def test_a_condition_the_tables_cannot_express_is_refused_when_built() -> None:
    with pytest.raises(TypeError, match="cannot bound a condition"):
        _with(LEVEL, FastBound(watches=(Watch(object(), "above", 1.0),)))


def test_a_rule_without_a_bound_makes_its_series_always_exact() -> None:
    rig = _with(LEVEL, None)  # fail closed: slower, never silent
    assert rig.fast.ceiling[rig.row("p1", "level")] == -math.inf
    assert rig.slow(every_5("p1", "level", [300.5]))[("p1", "level")] is True
    assert rig.slow(every_5("c1", "flow", [1.0]))[("c1", "flow")] is False


# -- helpers -------------------------------------------------------------------------------


def test_lower_keeps_infinities_and_lowers_by_a_relative_margin() -> None:
    out = _lower(np.array([math.inf, -math.inf, 0.0, 1000.0, -5.0]))
    assert out[0] == math.inf and out[1] == -math.inf
    assert out[2] == -MARGIN
    assert out[3] == 1000.0 - 1000.0 * MARGIN
    assert out[4] == -5.0 - 5.0 * MARGIN


def test_group_starts_and_the_never_ceiling() -> None:
    assert _group_starts(np.array([0, 0, 1, 3, 3, 3])).tolist() == [0, 2, 3]
    assert _group_starts(np.array([], dtype=np.int64)).tolist() == []
    assert _never(START) == -math.inf
