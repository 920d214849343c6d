"""Time to crest by the pond's water balance (`method: water_balance`).

A straight line through the recent levels cries wolf in a storm the spillway
can pass: below the spillway crest the pond rises fast, and then slows as the
weir's discharge grows with its head (Q = C·L·H^1.5). This forecast knows the
structure (`rules/pond.py`, from the station's `structure`):

1. Inflow now. At each held level sample k (inside the window), the storage
   change by central difference plus the outflow at that level gives an
   inflow estimate I_k = ΔS/Δt + O(h_k); a robust straight line through the
   I_k (median of pairwise slopes, as `robust_trend`) gives the inflow now and
   its trend, so a single bad sample cannot move either.
2. Outflow. Spillway and outlets by their formulas or tables; an outlet that a
   flow station measures is scaled by measured ÷ formula now (a blocked
   culvert carries a fraction of its formula); stale measurements: formula.
3. Inflow ahead. With a catchment and a fresh rain gauge (`structure.catchment`),
   a rainfall nowcast: the rain of the last `nowcast_window` goes on
   (persistence) and the inflow moves from its estimate now toward runoff ×
   rain × area with the catchment's response time (a linear reservoir).
   Without one, the inflow follows its recent trend for `trend_for` and is
   then held (never below 0).
4. Projection. From the robust current level, storage is stepped forward
   (Heun's method, 5-minute steps) over `horizon` until the level reaches
   the target (minutes to crest) or can only fall. It reports the minutes to
   crest, the expected peak level and when.

Levels are raised by minutes to crest exactly as the straight-line forecast
does (`crest.py`), overtopping included.
"""

from __future__ import annotations

import math

import numpy as np

from floodwatch.alerts.messages import balance_reason
from floodwatch.rules.bound import FastBound
from floodwatch.rules.conditions import LastValue
from floodwatch.rules.kinds.crest import CrestCore, Projection, robust_trend
from floodwatch.rules.pond import PondModel
from floodwatch.rules.windows import AccumProbe, Ring

STEP_S = 300.0  # Heun steps: the pond responds over tens of minutes


class Nowcast:
    """Rain at the catchment's gauge → the inflow it drives (persistence)."""

    __slots__ = ("decay_s", "max_age", "probe", "response_s", "to_flow")

    def __init__(
        self,
        probe: AccumProbe,
        max_age_ms: int,
        to_flow: float,
        response_ms: int,
        decay_ms: int,
    ) -> None:
        """`to_flow`: m³/s of runoff per mm/h of rain (runoff coefficient × area);
        `decay_ms`: the recent rain fades with this time constant (0: goes on)."""
        self.probe = probe
        self.max_age = max_age_ms
        self.to_flow = to_flow
        self.response_s = response_ms / 1000.0
        self.decay_s = decay_ms / 1000.0

    def inflow(self, tau: float, now: float, runoff: float) -> float:
        """The inflow `tau` s ahead, from `now` m³/s, driven by rain whose runoff is
        `runoff` m³/s now and fades with the decay time (a linear reservoir)."""
        k, d = self.response_s, self.decay_s
        base = now * math.exp(-tau / k)
        if d <= 0:
            return base + runoff * (1.0 - math.exp(-tau / k))
        if abs(d - k) < 1e-6:
            return base + runoff * tau / k * math.exp(-tau / k)
        return base + runoff * d / (d - k) * (math.exp(-tau / d) - math.exp(-tau / k))

    def runoff(self, ts: int) -> float | None:
        """The inflow the recent rain drives if it goes on (None: no fresh rain data)."""
        p = self.probe
        if p.updated < 0 or ts - p.updated > self.max_age:
            return None
        return self.to_flow * p.total * 3_600_000.0 / p.window


class WaterBalanceInstance(CrestCore):
    """Time to crest from storage, spillway and outlets."""

    __slots__ = (
        "horizon_s",
        "measured",
        "measured_age",
        "min_points",
        "nowcast",
        "pond",
        "refresh_ms",
        "ring",
        "trend_s",
        "window",
    )

    def __init__(  # noqa: PLR0913 — the compiled pond model, built once by rules/build.py
        self,
        ring: Ring,
        window_ms: int,
        min_points: int,
        pond: PondModel,
        measured: LastValue | None,
        measured_age_ms: int,
        horizon_ms: int,
        trend_ms: int,
        nowcast: Nowcast | None,
        refresh_ms: int,
        *args: object,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.nowcast = nowcast
        self.refresh_ms = max(refresh_ms, 1)
        self.ring = ring
        self.window = window_ms
        self.min_points = max(min_points, 4)  # central differences need interior samples
        self.pond = pond
        self.measured = measured
        self.measured_age = measured_age_ms
        self.horizon_s = horizon_ms / 1000.0
        self.trend_s = trend_ms / 1000.0

    def fast_bound(self) -> FastBound | None:
        bound = super().fast_bound()
        reads: list[object] = []
        if self.measured is not None:
            reads.append(self.measured)
        if self.nowcast is not None:
            reads.append(self.nowcast.probe)
        if bound is None or not reads:
            return bound
        # It reads the outlet's flow and the rain at its own readings' times.
        return FastBound(below=bound.below, seasonal=bound.seasonal, reads=tuple(reads))

    def due(self, ts: int) -> bool:
        """At the first reading of each `refresh` interval of event time (the
        previous reading, in the ring, fell in an earlier one): a gauge reporting
        every minute gets a forecast every `refresh`, one every 5 minutes on each."""
        ring = self.ring
        n = ring.n
        if n < 2:
            return True
        previous = int(ring.ts[ring.slot(n - 2)])
        return previous // self.refresh_ms != ts // self.refresh_ms

    def efficiency(self, ts: int, level: float) -> float:
        """Measured ÷ formula for the measured outlets (1 without a fresh measurement)."""
        m = self.measured
        if m is None or m.ts < 0 or ts - m.ts > self.measured_age:
            return 1.0
        formula = self.pond.outlet_formula(level, measured_only=True)
        if formula <= 1e-6:
            return 1.0
        return min(max(m.value / formula, 0.0), 1.5)

    def inflow(
        self, t: np.ndarray, y: np.ndarray, now: int, efficiency: float
    ) -> tuple[float, float]:
        """(inflow now m³/s, its trend m³/s per s) from the held levels."""
        pond = self.pond
        storage = pond.storage.many(y)
        seconds = t.astype(np.float64) / 1000.0
        change = (storage[2:] - storage[:-2]) / (seconds[2:] - seconds[:-2])
        inflow = change + pond.outflow_many(y[1:-1], efficiency)
        slope, fitted = robust_trend(t[1:-1], inflow, now)
        return fitted, slope * 1000.0

    def project(self, ts: int, level: float, target: float) -> Projection | None:
        t, y = self.ring.since(ts - self.window)
        if len(t) < self.min_points:
            return None
        _, now_level = robust_trend(t, y, ts)
        pond = self.pond
        eff = self.efficiency(ts, now_level)
        inflow_now, trend = self.inflow(t, y, ts, eff)
        inflow_now = max(0.0, inflow_now)
        outflow_now = pond.outflow(now_level, eff)
        runoff = self.nowcast.runoff(ts) if self.nowcast is not None else None
        minutes, peak, peak_s = self._run(now_level, target, inflow_now, trend, runoff, eff)
        forecast: dict[str, float] = {}
        if math.isfinite(minutes):
            forecast["minutes_to_crest"] = round(minutes, 1)
        forecast.update(
            {
                "peak_level": round(peak, 3),
                "peak_in_minutes": round(peak_s / 60.0, 1),
                "inflow_m3_per_s": round(inflow_now, 3),
                "outflow_m3_per_s": round(outflow_now, 3),
            }
        )
        what = balance_reason(inflow_now, outflow_now)
        details: dict[str, object] = {
            "fitted_level": round(now_level, 3),
            "outlet_efficiency": round(eff, 3),
            "inflow_ahead": "trend" if runoff is None else "rain",
        }
        return Projection(minutes, forecast, what, details)

    def _run(
        self,
        level: float,
        target: float,
        inflow: float,
        trend: float,
        runoff: float | None,
        eff: float,
    ) -> tuple[float, float, float]:
        """(minutes to `target` or inf, peak level, seconds to the peak)."""
        if level >= target:
            return 0.0, level, 0.0
        pond = self.pond
        storage_of, level_of, outflow = pond.storage, pond.level, pond.outflow
        trend_s, horizon = self.trend_s, self.horizon_s
        if runoff is not None:  # the rain's runoff sets where the inflow goes
            nowcast = self.nowcast
            assert nowcast is not None
            rising_until = math.inf if runoff > inflow else 0.0

            def q_in(tau: float) -> float:
                return nowcast.inflow(tau, inflow, runoff)

        else:
            rising_until = trend_s if trend > 0 else 0.0

            def q_in(tau: float) -> float:
                return max(0.0, inflow + trend * min(tau, trend_s))

        stored = storage_of(level)
        peak, peak_s, tau = level, 0.0, 0.0
        while tau < horizon:
            dt = min(STEP_S, horizon - tau)
            net1 = q_in(tau) - outflow(level, eff)
            guess = level_of(stored + net1 * dt)
            net2 = q_in(tau + dt) - outflow(guess, eff)
            stored += (net1 + net2) / 2 * dt
            new = level_of(stored)
            tau += dt
            if new >= target:
                crossed = tau - dt + dt * (target - level) / max(new - level, 1e-12)
                return crossed / 60.0, target, crossed
            if new > peak:
                peak, peak_s = new, tau
            level = new
            if net2 < 0 and tau >= rising_until:
                break  # inflow can only fall from here and the pond already does
        return math.inf, peak, peak_s
