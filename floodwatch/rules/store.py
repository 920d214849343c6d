"""Columnar runtime state: one numpy row per series and per window probe.

Every piece of per-series state that changes with each reading (last reading,
last good value, ring buffer position and contents, window probe positions and
totals) lives here, in numpy columns, so the vectorised fast path can update
thousands of series with a few array operations. The state objects the exact
per-reading path uses (`Series`, `Ring`, `RateProbe`, ...) read and write the
same rows through `Column` descriptors: there is one source of truth.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import numpy as np

if TYPE_CHECKING:
    from floodwatch.rules.build import Series

T = TypeVar("T")

# name: (dtype, initial value)
SERIES_COLUMNS: dict[str, tuple[str, float]] = {
    "last_ts": ("i8", -1),  # event time of the latest reading released, good or bad
    "last_raw": ("f8", math.nan),  # its value (tells an exact duplicate from a conflict)
    "expected_from": ("i8", -1),  # when the engine started expecting reports
    "lv_ts": ("i8", -1),  # latest good reading
    "lv_value": ("f8", 0.0),
    "h_last_good_ts": ("i8", -1),  # health gate: last reading that passed
    "h_last_good": ("f8", 0.0),
    "h_last_value": ("f8", math.nan),  # last value seen (for the stuck check)
    "h_same_since": ("i8", -1),
    "ring_n": ("i8", 0),  # samples ever appended to the ring
    "busy": ("?", 0),  # a latch, a health notice or staleness is active: exact path only
}
RATE_COLUMNS: dict[str, tuple[str, float]] = {
    "start": ("i8", 0),  # absolute ring index of the window's first sample
    "rate": ("f8", math.nan),  # units per hour (nan: not enough span)
    "updated": ("i8", -1),
}
ACCUM_COLUMNS: dict[str, tuple[str, float]] = {
    "start": ("i8", 0),
    "units": ("i8", 0),  # window total in millionths (integer: order-independent sums)
    "count": ("i8", 0),
    "complete": ("?", 0),
    "updated": ("i8", -1),
}

UNITS_PER = 1_000_000


def to_units(value: float) -> int:
    """A window value in integer millionths (how totals are accumulated)."""
    return round(value * UNITS_PER)


class Column(Generic[T]):
    """An attribute of a state object stored in row `obj._i` of column `obj._cols[name]`."""

    __slots__ = ("name", "optional")

    def __init__(self, name: str, *, optional: bool = False) -> None:
        self.name = name
        self.optional = optional  # NaN reads as None

    @overload
    def __get__(self, obj: None, owner: type) -> Column[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...
    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        value = obj._cols[self.name].item(obj._i)
        if self.optional and math.isnan(value):
            return None
        return value

    def __set__(self, obj: Any, value: T) -> None:
        obj._cols[self.name][obj._i] = math.nan if value is None else value


def _table(spec: dict[str, tuple[str, float]], rows: int) -> dict[str, np.ndarray]:
    return {name: np.full(rows, init, dtype=dtype) for name, (dtype, init) in spec.items()}


class Store:
    """The numpy columns of one engine's state, plus the flat ring storage."""

    def __init__(self, series: list[Series]) -> None:
        n = len(series)
        self.series = _table(SERIES_COLUMNS, n)
        caps = np.array([s.ring.cap if s.ring is not None else 0 for s in series], dtype=np.int64)
        self.ring_cap = caps
        self.ring_base = np.concatenate(([0], np.cumsum(caps)[:-1])).astype(np.int64)
        # Filled, not just allocated: the pages are committed now, not one page
        # fault at a time in the middle of a storm.
        self.rts = np.full(int(caps.sum()), 0, dtype=np.int64)
        self.rval = np.full(int(caps.sum()), 0.0, dtype=np.float64)
        self.rate_probes = [p for s in series for p in s.rate_probes()]
        self.accum_probes = [p for s in series for p in s.accum_probes()]
        self.rate = _table(RATE_COLUMNS, len(self.rate_probes))
        self.accum = _table(ACCUM_COLUMNS, len(self.accum_probes))
        # One memoryview over all slots, shared: Python-speed element access.
        rts = memoryview(self.rts)  # type: ignore[arg-type]
        rval = memoryview(self.rval)  # type: ignore[arg-type]
        for s in series:
            s.bind(self.series)
            if s.ring is not None:
                s.ring.bind(self.series, s.order, int(self.ring_base[s.order]), rts, rval)
        for i, rp in enumerate(self.rate_probes):
            rp.bind(self.rate, i)
        for i, ap in enumerate(self.accum_probes):
            ap.bind(self.accum, i)

    def columns(self) -> dict[str, dict[str, np.ndarray]]:
        """Every dynamic column by table (snapshots and equality checks use this)."""
        return {
            "series": self.series,
            "rate": self.rate,
            "accum": self.accum,
            "ring": {"ts": self.rts, "val": self.rval},
        }


def bind_rows(*objects: Any, cols: dict[str, np.ndarray], row: int) -> None:
    """Point state objects at their row of a table."""
    for obj in objects:
        obj._cols = cols
        obj._i = row
