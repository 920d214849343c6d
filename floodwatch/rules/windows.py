"""Bounded per-series window state: a ring buffer of (ts, value) and probes on it.

Memory per series is fixed at construction: 16 bytes per slot. A ring is sized
for the longest window any rule needs on that series at the station's report
interval (plus slack); if a gauge reports faster than its interval, the oldest
samples are overwritten and a window covers less than it asks for — probes then
report the span they actually cover.
"""

from __future__ import annotations

import math
from array import array

import numpy as np


class Ring:
    __slots__ = ("cap", "n", "ts", "val")

    def __init__(self, capacity: int) -> None:
        self.cap = max(2, capacity)
        self.ts = array("q", bytes(8 * self.cap))
        self.val = array("d", bytes(8 * self.cap))
        self.n = 0  # total samples ever appended; slot of sample k is k % cap

    def append(self, ts: int, value: float) -> None:
        slot = self.n % self.cap
        self.ts[slot] = ts
        self.val[slot] = value
        self.n += 1

    @property
    def oldest(self) -> int:
        """Absolute index of the oldest sample still held."""
        return max(0, self.n - self.cap)

    def since(self, start_ts: int) -> tuple[np.ndarray, np.ndarray]:
        """Samples with ts ≥ start_ts, oldest first, as numpy arrays (ts ms, value)."""
        first = self.oldest
        k = self.n - 1
        while k >= first and self.ts[k % self.cap] >= start_ts:
            k -= 1
        k += 1
        idx = np.arange(k, self.n) % self.cap
        return (
            np.frombuffer(self.ts, dtype=np.int64)[idx],
            np.frombuffer(self.val, dtype=np.float64)[idx],
        )

    def nbytes(self) -> int:
        return 16 * self.cap


class RateProbe:
    """Rate of change (units per hour) over a trailing window, updated per sample."""

    __slots__ = ("min_span", "rate", "ring", "start", "updated", "window")

    def __init__(self, ring: Ring, window_ms: int) -> None:
        self.ring = ring
        self.window = window_ms
        self.min_span = window_ms // 2
        self.start = 0
        self.rate: float | None = None
        self.updated = -1

    def update(self, ts: int, value: float) -> None:
        ring = self.ring
        cap = ring.cap
        rts = ring.ts
        start = max(self.start, ring.oldest)
        last = ring.n - 1
        cutoff = ts - self.window
        while start < last and rts[start % cap] < cutoff:
            start += 1
        self.start = start
        span = ts - rts[start % cap]
        self.updated = ts
        if span < self.min_span or span <= 0:
            self.rate = None
        else:
            self.rate = (value - ring.val[start % cap]) * 3_600_000.0 / span


class AccumProbe:
    """Sum over a trailing window with gap awareness (a missing report is not 0)."""

    __slots__ = (
        "complete",
        "count",
        "expected",
        "ring",
        "start",
        "total",
        "updated",
        "window",
    )

    def __init__(self, ring: Ring, window_ms: int, interval_ms: int, tolerance: float) -> None:
        self.ring = ring
        self.window = window_ms
        self.expected = max(1, math.floor((window_ms / interval_ms) * (1.0 - tolerance) + 1e-9))
        self.start = 0
        self.total = 0.0
        self.count = 0
        self.complete = False
        self.updated = -1

    def update(self, ts: int, value: float) -> None:
        ring = self.ring
        cap = ring.cap
        rts = ring.ts
        rval = ring.val
        self.total += value
        self.count += 1
        start = self.start
        if start < ring.oldest:  # part of the window was overwritten: count again
            self._recount(ts)
            return
        cutoff = ts - self.window
        while rts[start % cap] <= cutoff and start < ring.n - 1:
            self.total -= rval[start % cap]
            self.count -= 1
            start += 1
        self.start = start
        if self.total < 1e-9:
            self.total = 0.0
        self.complete = self.count >= self.expected
        self.updated = ts

    def _recount(self, ts: int) -> None:
        ring = self.ring
        cutoff = ts - self.window
        total = 0.0
        count = 0
        first = ring.n
        for k in range(ring.oldest, ring.n):
            if ring.ts[k % ring.cap] > cutoff:
                total += ring.val[k % ring.cap]
                count += 1
                first = min(first, k)
        self.start = first if count else ring.n - 1
        self.total = total
        self.count = count
        self.complete = count >= self.expected
        self.updated = ts
