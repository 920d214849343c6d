"""Build fresh runtime state (series, probes, rule instances) from bindings.

Generic: each binding's kind (`rules/registry.py`) says how much history its
series must keep and attaches its instances (`rules/kind.py`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from floodwatch.alerts.messages import MEASURES
from floodwatch.rules.base import RuleInstance
from floodwatch.rules.compile import Binding, CompiledConfig, StationInfo
from floodwatch.rules.conditions import LastValue
from floodwatch.rules.kinds.health import Health, limits_of
from floodwatch.rules.registry import KINDS
from floodwatch.rules.store import Column, bind_rows
from floodwatch.rules.windows import AccumProbe, RateProbe, Ring

RING_SLACK = 1.25


@dataclass(eq=False, slots=True)
class Series:
    """Runtime state of one (station, kind) stream of readings."""

    order: int
    station: StationInfo
    kind: str
    last: LastValue = field(default_factory=LastValue)
    ring: Ring | None = None
    window_ms: int = 0
    probes: list[RateProbe | AccumProbe] = field(default_factory=list)
    rules: list[RuleInstance] = field(default_factory=list)
    dependents: list[RuleInstance] = field(default_factory=list)
    health: Health | None = None
    stale_ms: int = 0
    stale: bool = False
    in_heap: bool = False
    _rate: dict[int, RateProbe] = field(default_factory=dict)
    _accum: dict[tuple[int, float], AccumProbe] = field(default_factory=dict)
    _cols: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # the store's row
    _i: int = 0

    # Row `order` of the store's series table (see `Store`).
    last_ts = Column[int]("last_ts")  # event time of the latest reading released, good or bad
    last_raw = Column[float]("last_raw")  # its value: an exact duplicate or a conflict
    expected_from = Column[int]("expected_from")  # when the engine started expecting reports

    def bind(self, cols: dict[str, np.ndarray]) -> None:
        """Point this series and its row-sharing state at the store's series table."""
        bind_rows(
            self, self.last, *([self.health] if self.health else []), cols=cols, row=self.order
        )

    def rate_probes(self) -> list[RateProbe]:
        return list(self._rate.values())

    def accum_probes(self) -> list[AccumProbe]:
        return list(self._accum.values())

    def need_window(self, window: int) -> None:
        self.window_ms = max(self.window_ms, window)

    def rate_probe(self, window: int) -> RateProbe:
        assert self.ring is not None
        if window not in self._rate:
            self._rate[window] = RateProbe(self.ring, window)
            self.probes.append(self._rate[window])
        return self._rate[window]

    def accum_probe(self, window: int, tolerance: float) -> AccumProbe:
        assert self.ring is not None
        key = (window, tolerance)
        if key not in self._accum:
            probe = AccumProbe(self.ring, window, self.station.interval_ms, tolerance)
            self._accum[key] = probe
            self.probes.append(probe)
        return self._accum[key]


def build_series(compiled: CompiledConfig) -> dict[tuple[str, str], Series]:
    """Fresh series for every station and kind, with rule instances attached."""
    series: dict[tuple[str, str], Series] = {}
    for info in compiled.stations.values():
        for kind in info.model.kinds:
            series[(info.id, kind)] = Series(len(series), info, kind)
    # First pass: how much history each series must keep.
    for binding in compiled.bindings:
        for key, window in KINDS[_kind(binding)].history(binding):
            series[key].need_window(window)
    for s in series.values():
        if s.window_ms:
            s.ring = Ring(math.ceil(s.window_ms / s.station.interval_ms * RING_SLACK) + 4)
    for binding in compiled.bindings:
        KINDS[_kind(binding)].attach(compiled, binding, series)
    for s in series.values():
        if s.health is None:
            limits = s.station.model.limits.get(s.kind)  # type: ignore[call-overload]
            if limits is not None or s.kind == "rain":
                s.health = Health(
                    limits_of(s.kind, limits), s.station.interval_ms, MEASURES[s.kind]
                )
    return series


def _kind(binding: Binding) -> str:
    return getattr(binding.rule, "kind", "?")
