"""Rules that compare one measured quantity with multi-level thresholds.

level (rising), freeboard to the crest (falling) and rate of rise (rising);
time to crest (`crest.py`, falling: fewer minutes is worse) builds on the same
`ThresholdCore`: thresholds resolved at event time, a multi-level latch, one
alert.
"""

from __future__ import annotations

from collections.abc import Sequence

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.rules.base import AlertTracker, RuleContext
from floodwatch.rules.bound import FastBound, anything
from floodwatch.rules.latch import Latch
from floodwatch.rules.thresholds import Threshold
from floodwatch.rules.windows import RateProbe

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
