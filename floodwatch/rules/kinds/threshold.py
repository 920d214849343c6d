"""Rules that compare one measured quantity with multi-level thresholds.

level (rising), freeboard to the crest (falling), rate of rise (rising) and
time to crest (falling: fewer minutes is worse). All share `ThresholdCore`:
thresholds resolved at event time, a multi-level latch, one alert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.rules.base import AlertTracker, RuleContext
from floodwatch.rules.bound import FastBound, anything
from floodwatch.rules.latch import Latch
from floodwatch.rules.thresholds import Threshold
from floodwatch.rules.windows import RateProbe, Ring

_MEASURE = float("nan")  # "report the measure itself" (the default event value)


class ThresholdCore:
    """Latch + tracker for one measure against enter/exit thresholds per level."""

    __slots__ = (
        "ctx",
        "e0",
        "enter_t",
        "enters",
        "exit_t",
        "exits",
        "latch",
        "rising",
        "seasonal",
        "tracker",
    )

    def __init__(
        self,
        ctx: RuleContext,
        enter: Sequence[Threshold],
        exit_: Sequence[Threshold],
        for_ms: Sequence[int],
        clear_ms: Sequence[int],
        rising: bool,
    ) -> None:
        self.ctx = ctx
        self.tracker = AlertTracker(ctx)
        self.latch = Latch(for_ms, clear_ms)
        self.enter_t = list(enter)
        self.exit_t = list(exit_)
        self.rising = rising
        self.seasonal = not all(t.is_constant for t in (*enter, *exit_))
        self.enters = [t.at(0) for t in enter]
        self.exits = [t.at(0) for t in exit_]
        self.e0 = self.enters[0]

    def refresh(self, ts: int) -> None:
        """Re-resolve seasonal thresholds at event time `ts`."""
        self.enters = [t.at(ts) for t in self.enter_t]
        self.exits = [t.at(ts) for t in self.exit_t]
        self.e0 = self.enters[0]

    def quiet(self, measure: float) -> bool:
        """True when this measure cannot change anything (the hot-path shortcut)."""
        if self.latch.busy:
            return False
        return measure < self.e0 if self.rising else measure > self.e0

    def evaluate(
        self,
        ts: int,
        measure: float | None,
        out: list[AlertEvent],
        *,
        value: float | None = _MEASURE,
        forecast: dict[str, float] | None = None,
        what: tuple[str, str] = ("", ""),
        details: dict[str, object] | None = None,
    ) -> None:
        before = self.latch.top
        top = self.latch.update_measure(ts, measure, self.enters, self.exits, self.rising)
        if top == before:
            return
        severity = self.ctx.levels[top - 1] if top else None
        threshold = self.enters[top - 1] if top > before else self.exits[before - 1]
        event = self.tracker.change(
            ts,
            severity,
            value=measure if value is _MEASURE else value,
            threshold=threshold,
            forecast=forecast,
            what=what,
            details=details,
        )
        if event is not None:
            out.append(event)

    def active(self) -> Severity | None:
        return self.tracker.severity

    def fast_bound(self) -> FastBound | None:
        """None here: a measure the fast path knows nothing about (subclasses say)."""
        return None


class LevelInstance(ThresholdCore):
    """Level thresholds: raise when the level is at or above `enter`."""

    __slots__ = ()

    def on_reading(self, ts: int, value: float, out: list[AlertEvent]) -> None:
        if self.seasonal:
            self.refresh(ts)
        if not self.latch.busy and value < self.e0:
            return
        self.evaluate(ts, value, out)

    def fast_bound(self) -> FastBound:
        return FastBound(below=self.enter_t[0].at, seasonal=self.seasonal)


class FreeboardInstance(ThresholdCore):
    """Freeboard = crest − level: raise when at or below `enter` (m)."""

    __slots__ = ("crest",)

    def __init__(self, crest: Threshold, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.crest = crest

    def on_reading(self, ts: int, value: float, out: list[AlertEvent]) -> None:
        if self.seasonal:
            self.refresh(ts)
        freeboard = self.crest.at(ts) - value
        if not self.latch.busy and freeboard > self.e0:
            return
        self.evaluate(ts, freeboard, out, details={"level": value})

    def fast_bound(self) -> FastBound:
        crest, enter = self.crest, self.enter_t[0]
        return FastBound(
            below=lambda ts: crest.at(ts) - enter.at(ts),
            seasonal=self.seasonal or not crest.is_constant,
        )


class RateInstance(ThresholdCore):
    """Rate of rise over a window (m/h): raise when at or above `enter`."""

    __slots__ = ("probe",)

    def __init__(self, probe: RateProbe, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.probe = probe

    def on_reading(self, ts: int, value: float, out: list[AlertEvent]) -> None:
        rate = self.probe.rate
        if not self.latch.busy and (rate is None or rate < self.e0):
            return
        self.evaluate(ts, rate, out, details={"level": value})

    def fast_bound(self) -> FastBound:
        return FastBound(below=anything, rates=((self.probe, self.enters[0]),))


def robust_trend(t: np.ndarray, y: np.ndarray, now: int) -> tuple[float, float]:
    """(slope per ms, fitted value at `now`): median of pairwise slopes i → i+n/2.

    A single outlier touches at most two of the n/2 pairs, so it cannot move
    the median on its own (the estimator's breakdown point is about 25 %).
    """
    half = len(t) // 2
    dt = (t[half:] - t[: len(t) - half]).astype(np.float64)
    dy = y[half:] - y[: len(t) - half]
    slope = float(np.median(dy / dt))
    fitted = float(np.median(y - slope * (t - now).astype(np.float64)))
    return slope, fitted


class CrestInstance(ThresholdCore):
    """Time to crest: robust trend of the recent level projected to the target."""

    __slots__ = ("gate", "min_points", "ring", "target", "window")

    def __init__(
        self,
        ring: Ring,
        window_ms: int,
        min_points: int,
        target: Threshold,
        gate: Threshold | None,
        *args: object,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.ring = ring
        self.window = window_ms
        self.min_points = min_points
        self.target = target
        self.gate = gate

    def fast_bound(self) -> FastBound | None:
        """Below its gate the rule does not look at the level; without a gate it
        projects on every reading, so there is no bound."""
        if self.gate is None:
            return None
        return FastBound(below=self.gate.at, seasonal=not self.gate.is_constant)

    def on_reading(self, ts: int, value: float, out: list[AlertEvent]) -> None:
        if not self.latch.busy and self.gate is not None and value < self.gate.at(ts):
            return
        t, y = self.ring.since(ts - self.window)
        if len(t) < self.min_points:
            if self.latch.busy:
                self.evaluate(ts, None, out)
            return
        slope, fitted = robust_trend(t, y, ts)
        target = self.target.at(ts)
        rate = slope * 3_600_000.0
        if fitted >= target:
            minutes = 0.0
        elif slope <= 0:
            minutes = math.inf
        else:
            minutes = (target - fitted) / slope / 60_000.0
        if not self.latch.busy and minutes > self.e0:
            return
        forecast = None
        if math.isfinite(minutes):
            forecast = {"minutes_to_crest": round(minutes, 1), "rate_m_per_h": round(rate, 3)}
        what = ("", "")
        if math.isfinite(minutes) and minutes > 0:
            what = (
                f"按当前涨速{rate:.2f}米/小时推算",
                f"at the current rise of {rate:.2f} m/h",
            )
        self.evaluate(
            ts,
            minutes if math.isfinite(minutes) else 1e9,
            out,
            value=minutes if math.isfinite(minutes) else None,
            forecast=forecast,
            what=what,
            details={"level": value, "fitted_level": round(fitted, 3), "target": target},
        )
