"""A pond's hydraulics at run time: storage ↔ level, and outflow by level.

Built once from the station's `structure` (`config/structure.py`); pure
functions of plain floats (bisect on small tables, no numpy per call), so the
forecast can step them hundreds of times per evaluation.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from floodwatch.config.structure import Structure

G = 9.81


class Curve:
    """Piecewise-linear y(x) through increasing x; the end slopes continue outside."""

    __slots__ = ("x", "y")

    def __init__(self, x: Sequence[float], y: Sequence[float]) -> None:
        self.x = list(x)
        self.y = list(y)

    def __call__(self, v: float) -> float:
        x, y = self.x, self.y
        i = min(max(bisect_right(x, v) - 1, 0), len(x) - 2)
        x0, x1 = x[i], x[i + 1]
        return y[i] + (y[i + 1] - y[i]) * (v - x0) / (x1 - x0)


@dataclass(frozen=True)
class Orifice:
    invert: float
    area: float
    coefficient: float
    measured: bool  # a flow station measures it (see `PondModel.outflow`)

    def flow(self, level: float) -> float:
        head = level - self.invert
        return self.coefficient * self.area * math.sqrt(2 * G * head) if head > 0 else 0.0


class StorageCurve:
    """Storage ↔ level with the water surface linear in level between rows (an
    area table integrates exactly; a storage table has a constant area per row
    interval, so it is linear between its rows). Above the last row the surface
    of the top stays; below the first, the first interval's."""

    __slots__ = ("_arrays", "a", "g", "x", "y")

    def __init__(self, levels: Sequence[float], areas: Sequence[float], slopes: Sequence[float]):
        """`areas[i]` is the surface at `levels[i]`, growing by `slopes[i]` per m
        up to `levels[i + 1]` (one fewer slope than levels; the last area is the top's)."""
        self.x = list(levels)
        self.a = list(areas)
        self.g = [*slopes, 0.0]
        volumes = [0.0]
        for i in range(len(levels) - 1):
            d = levels[i + 1] - levels[i]
            volumes.append(volumes[-1] + areas[i] * d + slopes[i] * d * d / 2)
        self.y = volumes
        self._arrays = self._columns()

    def _columns(self) -> tuple[np.ndarray, ...]:
        return tuple(np.asarray(v, dtype=np.float64) for v in (self.x, self.a, self.g, self.y))

    @classmethod
    def from_areas(cls, rows: Sequence[tuple[float, float]]) -> StorageCurve:
        levels = [lv for lv, _ in rows]
        areas = [a for _, a in rows]
        slopes = [(a1 - a0) / (l1 - l0) for (l0, a0), (l1, a1) in itertools.pairwise(rows)]
        return cls(levels, areas, slopes)

    @classmethod
    def from_volumes(cls, rows: Sequence[tuple[float, float]]) -> StorageCurve:
        levels = [lv for lv, _ in rows]
        per_m = [(v1 - v0) / (l1 - l0) for (l0, v0), (l1, v1) in itertools.pairwise(rows)]
        curve = cls(levels, [*per_m, per_m[-1]], [0.0] * len(per_m))
        curve.y = [v - rows[0][1] for _, v in rows]
        curve._arrays = curve._columns()
        return curve

    def area(self, level: float) -> float:
        i = min(max(bisect_right(self.x, level) - 1, 0), len(self.x) - 1)
        if level < self.x[0]:
            return self.a[0]
        return self.a[i] + self.g[i] * (level - self.x[i])

    def __call__(self, level: float) -> float:
        """Storage (m³, relative to the first row) at `level`."""
        x = self.x
        if level <= x[0]:
            return self.y[0] + self.a[0] * (level - x[0])
        i = min(bisect_right(x, level) - 1, len(x) - 1)
        d = level - x[i]
        return self.y[i] + self.a[i] * d + self.g[i] * d * d / 2

    def many(self, levels: np.ndarray) -> np.ndarray:
        """Storage at each of `levels` (what `__call__` gives, for an array)."""
        x, a, g, y = self._arrays
        i = np.clip(np.searchsorted(x, levels, "right") - 1, 0, len(x) - 1)
        d = levels - x[i]
        below = levels <= x[0]
        i[below] = 0
        grow = g[i]
        grow[below] = 0.0
        out: np.ndarray = y[i] + a[i] * d + grow * d * d / 2
        return out

    def level(self, storage: float) -> float:
        """The level at which the pond holds `storage` (the inverse)."""
        x, y = self.x, self.y
        if storage <= y[0]:
            return x[0] + (storage - y[0]) / self.a[0]
        i = min(bisect_right(y, storage) - 1, len(y) - 1)
        extra = storage - y[i]
        a, g = self.a[i], self.g[i]
        return x[i] + 2 * extra / (a + math.sqrt(max(a * a + 2 * g * extra, 0.0)))


class PondModel:
    """Storage curve, spillway and outlets of one pond."""

    def __init__(
        self,
        storage: StorageCurve,
        spillway_crest: float | None,
        spillway_cl: float,
        rating: Curve | None,
        outlets: Sequence[Orifice],
    ) -> None:
        self.storage = storage
        self.level = storage.level
        self.spillway_crest = spillway_crest
        self.spillway_cl = spillway_cl
        self.rating = rating
        self.outlets = list(outlets)

    @classmethod
    def from_structure(cls, s: Structure, spillway_crest: float | None) -> PondModel:
        """`spillway_crest`: the station's levels.spillway_crest (the weir's default)."""
        if s.storage is not None:
            curve = StorageCurve.from_volumes(s.storage)
        else:
            assert s.area is not None
            curve = StorageCurve.from_areas(s.area)
        crest, cl, rating = None, 0.0, None
        if s.spillway is not None:
            if s.spillway.rating is not None:
                rating = Curve(
                    [lv for lv, _ in s.spillway.rating], [q for _, q in s.spillway.rating]
                )
            else:
                crest = s.spillway.crest if s.spillway.crest is not None else spillway_crest
                cl = s.spillway.coefficient * (s.spillway.width or 0.0)
        outlets = [
            Orifice(
                o.invert,
                o.area if o.area is not None else math.pi * (o.diameter or 0.0) ** 2 / 4,
                o.coefficient,
                o.measured_by is not None,
            )
            for o in s.outlets
        ]
        return cls(curve, crest, cl, rating, outlets)

    def spill(self, level: float) -> float:
        """Spillway discharge (m³/s) at `level`."""
        if self.rating is not None:
            x = self.rating.x
            if level <= x[0]:
                return 0.0
            return max(0.0, self.rating(level))
        if self.spillway_crest is None:
            return 0.0
        head = level - self.spillway_crest
        return self.spillway_cl * head**1.5 if head > 0 else 0.0

    def outlet_formula(self, level: float, measured_only: bool) -> float:
        """The outlets' formula discharge at `level` (only the measured ones, or all)."""
        return sum(o.flow(level) for o in self.outlets if o.measured or not measured_only)

    def outflow_many(self, levels: np.ndarray, efficiency: float) -> np.ndarray:
        """`outflow` at each of `levels`."""
        if self.rating is not None:
            r = self.rating
            x, y = np.asarray(r.x), np.asarray(r.y)
            slope = (y[-1] - y[-2]) / (x[-1] - x[-2])  # the last slope goes on, as `Curve`
            total = np.where(
                levels > x[-1], y[-1] + slope * (levels - x[-1]), np.interp(levels, x, y)
            )
            total = np.where(levels <= x[0], 0.0, np.maximum(total, 0.0))
        elif self.spillway_crest is not None:
            head = np.maximum(levels - self.spillway_crest, 0.0)
            total = self.spillway_cl * head**1.5
        else:
            total = np.zeros(len(levels))
        for o in self.outlets:
            head = np.maximum(levels - o.invert, 0.0)
            q = o.coefficient * o.area * np.sqrt(2 * G * head)
            total = total + (q * efficiency if o.measured else q)
        out: np.ndarray = total
        return out

    def outflow(self, level: float, efficiency: float) -> float:
        """Spillway + outlets at `level`; measured outlets scaled by `efficiency`
        (measured ÷ formula now: 1 for a clear culvert, near 0 for a blocked one)."""
        total = self.spill(level)
        for o in self.outlets:
            q = o.flow(level)
            total += q * efficiency if o.measured else q
        return total
