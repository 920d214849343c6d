"""Bounded per-series window state: a ring buffer of (ts, value) and probes on it.

Memory per series is fixed at construction: 16 bytes per slot. A ring is sized
for the longest window any rule needs on that series at the station's report
interval (plus slack); if a gauge reports faster than its interval, the oldest
samples are overwritten and a window covers less than it asks for — probes then
report the span they actually cover.

The ring's slots and every probe's position live in the engine's `Store`
(numpy columns); these classes are the per-reading view of one row.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from floodwatch.rules.store import UNITS_PER, Column, to_units


class Ring:
    """Sample k (k = 0, 1, ...) of a series lives in slot `base + k % cap` of the
    store's flat arrays; `ts` and `val` view those arrays."""

    __slots__ = ("_cols", "_i", "base", "cap", "ts", "val")

    n: Column[int] = Column("ring_n")  # total samples ever appended

    def __init__(self, capacity: int) -> None:
        self.cap = max(2, capacity)
        self.base = 0

    def bind(self, cols: dict[str, np.ndarray], row: int, base: int, ts: Any, val: Any) -> None:
        self._cols = cols
        self._i = row
        self.base = base
        self.ts = ts  # memoryviews of the store's flat slot arrays
        self.val = val

    def slot(self, k: int) -> int:
        return self.base + k % self.cap

    def append(self, ts: int, value: float) -> None:
        n = self.n
        slot = self.base + n % self.cap
        self.ts[slot] = ts
        self.val[slot] = value
        self.n = n + 1

    @property
    def oldest(self) -> int:
        """Absolute index of the oldest sample still held."""
        return max(0, self.n - self.cap)

    def since(self, start_ts: int) -> tuple[np.ndarray, np.ndarray]:
        """Samples with ts ≥ start_ts, oldest first, as numpy arrays (ts ms, value)."""
        n = self.n
        first = max(0, n - self.cap)
        idx = self.base + np.arange(first, n) % self.cap
        ts = np.frombuffer(self.ts, dtype=np.int64)[idx]
        # From just after the newest sample before `start_ts` (a walk back from
        # the newest sample would stop there, whatever the order before it).
        before = np.flatnonzero(ts < start_ts)
        k = int(before[-1]) + 1 if len(before) else 0
        return ts[k:], np.frombuffer(self.val, dtype=np.float64)[idx[k:]]

    def nbytes(self) -> int:
        return 16 * self.cap


class RateProbe:
    """Rate of change (units per hour) over a trailing window, updated per sample."""

    __slots__ = ("_cols", "_i", "min_span", "ring", "window")

    start: Column[int] = Column("start")
    rate: Column[float | None] = Column("rate", optional=True)
    updated: Column[int] = Column("updated")

    def __init__(self, ring: Ring, window_ms: int) -> None:
        self.ring = ring
        self.window = window_ms
        self.min_span = window_ms // 2

    def bind(self, cols: dict[str, np.ndarray], row: int) -> None:
        self._cols = cols
        self._i = row

    def update(self, ts: int, value: float) -> None:
        ring = self.ring
        cap = ring.cap
        base = ring.base
        rts = ring.ts
        n = ring.n
        start = max(self.start, n - cap, 0)
        last = n - 1
        cutoff = ts - self.window
        while start < last and rts[base + start % cap] < cutoff:
            start += 1
        self.start = start
        span = ts - rts[base + start % cap]
        self.updated = ts
        if span < self.min_span or span <= 0:
            self.rate = None
        else:
            self.rate = (value - ring.val[base + start % cap]) * 3_600_000.0 / span


class AccumProbe:
    """Sum over a trailing window with gap awareness (a missing report is not 0).

    Totals are kept in integer millionths, so the same samples give the same
    total whatever order they were added and removed in."""

    __slots__ = ("_cols", "_i", "expected", "ring", "window")

    start: Column[int] = Column("start")
    units: Column[int] = Column("units")
    count: Column[int] = Column("count")
    complete: Column[bool] = Column("complete")
    updated: Column[int] = Column("updated")

    def __init__(self, ring: Ring, window_ms: int, interval_ms: int, tolerance: float) -> None:
        self.ring = ring
        self.window = window_ms
        self.expected = max(1, math.floor((window_ms / interval_ms) * (1.0 - tolerance) + 1e-9))

    def bind(self, cols: dict[str, np.ndarray], row: int) -> None:
        self._cols = cols
        self._i = row

    @property
    def total(self) -> float:
        return self.units / UNITS_PER

    def update(self, ts: int, value: float) -> None:
        ring = self.ring
        n = ring.n
        start = self.start
        if start < n - ring.cap:  # part of the window was overwritten: count again
            self.recount(ts)
            return
        cap = ring.cap
        base = ring.base
        rts = ring.ts
        rval = ring.val
        units = self.units + to_units(value)
        count = self.count + 1
        cutoff = ts - self.window
        while rts[base + start % cap] <= cutoff and start < n - 1:
            units -= to_units(rval[base + start % cap])
            count -= 1
            start += 1
        self.start = start
        self.units = units
        self.count = count
        self.complete = count >= self.expected
        self.updated = ts

    def recount(self, ts: int) -> None:
        ring = self.ring
        n = ring.n
        cutoff = ts - self.window
        units = 0
        count = 0
        first = n
        for k in range(max(0, n - ring.cap), n):
            if ring.ts[ring.slot(k)] > cutoff:
                units += to_units(ring.val[ring.slot(k)])
                count += 1
                first = min(first, k)
        self.start = first if count else n - 1
        self.units = units
        self.count = count
        self.complete = count >= self.expected
        self.updated = ts
