"""`rules.store`: the engine's state as numpy columns, one row per series and
per window probe, read and written by the per-reading objects through `Column`
descriptors — one source of truth for the exact and the fast path."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from floodwatch.rules.build import build_series
from floodwatch.rules.store import (
    ACCUM_COLUMNS,
    RATE_COLUMNS,
    SERIES_COLUMNS,
    UNITS_PER,
    Column,
    Store,
    bind_rows,
    to_units,
)
from floodwatch.testing import compile_yaml
from tests.conftest import POND

RULES = """
rules:
  - id: rise
    kind: rate_of_rise
    stations: [p1]
    window: 30m
    levels: {yellow: {enter: 0.3}}
  - id: rain
    kind: rainfall
    stations: [r1]
    levels: {blue: {within: {1h: 30, 3h: 50}}}
"""


class Row:
    """A state object with one plain and one optional column."""

    ts = Column[int]("ts")
    rate = Column[float | None]("rate", optional=True)


def table(rows: int) -> dict[str, np.ndarray]:
    return {"ts": np.full(rows, -1, dtype="i8"), "rate": np.full(rows, math.nan, dtype="f8")}


def test_a_column_reads_and_writes_its_objects_row() -> None:
    cols = table(3)
    a, b = Row(), Row()
    bind_rows(a, cols=cols, row=0)
    bind_rows(b, cols=cols, row=2)
    a.ts = 5
    b.ts = 7
    assert cols["ts"].tolist() == [5, -1, 7]
    assert (a.ts, b.ts) == (5, 7) and isinstance(a.ts, int)  # a Python int, not numpy
    cols["ts"][2] = 9  # the array is the truth: the object sees a bulk update
    assert b.ts == 9


def test_an_optional_column_reads_nan_as_none_and_stores_none_as_nan() -> None:
    cols = table(1)
    r = Row()
    bind_rows(r, cols=cols, row=0)
    assert r.rate is None
    r.rate = 0.25
    assert r.rate == 0.25
    r.rate = None
    assert math.isnan(cols["rate"][0]) and r.rate is None
    assert isinstance(Row.rate, Column)  # on the class: the descriptor itself


def test_to_units_rounds_to_millionths_so_sums_do_not_depend_on_order() -> None:
    values = [0.1, 0.2, 0.3, 1e-7, 12.5]
    assert to_units(0.1) == UNITS_PER // 10
    assert to_units(0.0000004) == 0 and to_units(0.0000006) == 1
    forward = sum(to_units(v) for v in values)
    assert forward == sum(to_units(v) for v in reversed(values)) == 13_100_000


def test_a_store_binds_every_series_ring_and_probe_to_rows_of_its_own() -> None:
    series = list(build_series(compile_yaml(stations=POND, rules=RULES)).values())
    store = Store(series)
    assert set(store.series) == set(SERIES_COLUMNS)
    assert set(store.rate) == set(RATE_COLUMNS) and set(store.accum) == set(ACCUM_COLUMNS)
    assert len(store.series["last_ts"]) == len(series)
    # initial values as specified
    for name, (_, init) in SERIES_COLUMNS.items():
        col = store.series[name]
        assert np.isnan(col).all() if math.isnan(init) else (col == init).all(), name
    # each series its own row
    for s in series:
        s.last_ts = 1000 + s.order
    assert store.series["last_ts"].tolist() == [1000 + s.order for s in series]
    # the rings lie end to end in the flat arrays, without overlap
    rings = [(s.order, s.ring) for s in series if s.ring is not None]
    assert len(rings) == 2  # p1 level (the rise window), r1 rain (the rain windows)
    assert int(store.ring_cap.sum()) == len(store.rts) == len(store.rval)
    spans = sorted((r.base, r.base + r.cap) for _, r in rings)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    for order, ring in rings:
        assert store.ring_base[order] == ring.base
        ring.append(60_000, 1.5)
        assert store.rts[ring.base] == 60_000 and store.rval[ring.base] == 1.5
    # probes: one rate probe (30m) and one accumulation probe per rain window (1h, 3h)
    assert len(store.rate_probes) == 1 and len(store.accum_probes) == 2
    store.rate_probes[0].updated = 42
    assert store.rate["updated"].tolist() == [42]
    assert [p.window for p in store.accum_probes] == [3_600_000, 10_800_000]


def test_columns_are_every_dynamic_array_by_table_and_share_memory() -> None:
    series = list(build_series(compile_yaml(stations=POND, rules=RULES)).values())
    store = Store(series)
    cols = store.columns()
    assert set(cols) == {"series", "rate", "accum", "ring"}
    assert cols["ring"]["ts"] is store.rts and cols["series"] is store.series
    series[0].last_raw = 3.25
    assert cols["series"]["last_raw"][0] == pytest.approx(3.25)


def test_a_store_of_series_without_rings_has_empty_slot_arrays() -> None:
    series = list(build_series(compile_yaml(stations=POND)).values())
    store = Store(series)
    assert len(store.rts) == 0 and store.rate_probes == [] and store.accum_probes == []
    assert store.ring_base.tolist() == [0] * len(series)
