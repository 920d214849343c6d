"""Time to crest: how long until the pond reaches its dam crest, and whether it
is overtopping now.

`CrestCore` holds what every time-to-crest forecast shares: the gate (no
projection below it on quiet days), the warning levels by minutes to crest
(fewer minutes is worse), and one more level on top of them — *overtopping*:
a reading at or above the target raises red at once, whatever the forecast
said (an `escalated` event with its own text even when the forecast was red
already), and it holds until the level has fallen below the target by the
rule's exit margin. Subclasses answer `project(ts, level, target)`:
`trend` here (a robust straight line through the recent levels),
`water_balance.py` (storage, spillway and outlets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import crest_reason, overtopping
from floodwatch.alerts.state import Severity, Transition
from floodwatch.rules.base import Figure
from floodwatch.rules.bound import FastBound
from floodwatch.rules.kinds.threshold import ThresholdCore
from floodwatch.rules.thresholds import Threshold
from floodwatch.rules.windows import Ring


@dataclass
class Projection:
    """One forecast: minutes to the target (inf: not within reach), and what to
    tell people and machines about it."""

    minutes: float
    forecast: dict[str, float] | None = None
    what: tuple[str, str] = ("", "")
    details: dict[str, object] = field(default_factory=dict)


class CrestCore(ThresholdCore):
    """Levels by minutes to crest, plus the overtopping level on top (always red)."""

    __slots__ = ("gate", "latest", "overtop_exit", "seen", "target")

    def __init__(
        self,
        target: Threshold,
        gate: Threshold | None,
        overtop_exit: float,
        *args: object,
        **kwargs: object,
    ) -> None:
        """`args`: as `ThresholdCore`, with one more for_ms / clear_ms entry (the
        overtopping level's) than enter / exit thresholds, and `ctx.levels`
        ending in red for it."""
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.target = target
        self.gate = gate
        self.overtop_exit = overtop_exit
        # the last forecast made (event time ms, forecast), for the command
        # center's live view and the notices' figures (kept in a snapshot)
        self.latest: tuple[int, dict[str, float]] | None = None
        self.seen: tuple[int, float] | None = None  # the latest level looked at

    def figure(self) -> Figure | None:
        """Overtopping now, or the latest forecast, with the latest level."""
        if self.seen is None:
            return None
        ts, level = self.seen
        if self.latch.top == self.latch.n:
            over = {"overtopping": True, "minutes_to_crest": 0.0}
            return Figure(ts, 0.0, over, {"level": level})
        if self.latest is None or "minutes_to_crest" not in self.latest[1]:
            return None  # not within reach now: the alert's own forecast stands
        forecast = dict(self.latest[1])
        return Figure(ts, forecast["minutes_to_crest"], forecast, {"level": level})

    def project(self, ts: int, level: float, target: float) -> Projection | None:
        """The forecast at event time `ts` from the latest good `level`; None:
        not enough data (unknown: neither raises nor clears)."""
        raise NotImplementedError

    def due(self, ts: int) -> bool:
        """Whether the forecast is refreshed at this reading (always, unless a
        subclass says otherwise); overtopping is checked on every reading."""
        return True

    def fast_bound(self) -> FastBound | None:
        """Below its gate the rule does not look at the level; without a gate it
        projects on every reading, so there is no bound."""
        if self.gate is None:
            return None
        return FastBound(below=self.gate.at, seasonal=not self.gate.is_constant)

    def on_reading(self, ts: int, value: float, out: list[AlertEvent]) -> None:
        latch = self.latch
        if not latch.busy and self.gate is not None and value < self.gate.at(ts):
            return
        self.seen = (ts, value)
        target = self.target.at(ts)
        over = value >= target
        if not over and latch.top != latch.n and not self.due(ts):
            return
        projection = self.project(ts, value, target)
        if projection is not None:
            self.latest = (ts, _shown(projection))
        if projection is None and not latch.busy and not over:
            return
        minutes = projection.minutes if projection is not None else None
        if not latch.busy and not over and (minutes is None or minutes > self.e0):
            return
        if minutes is None:
            enter = [False] * len(self.enters)
            exit_ = [False] * len(self.exits)
        else:
            enter = [minutes <= e for e in self.enters]
            exit_ = [minutes > x for x in self.exits]
        enter.append(over)
        exit_.append(value < target - self.overtop_exit)
        before = latch.top
        was_over = before == latch.n
        top = latch.update(ts, enter, exit_)
        if top == before:
            return
        self._emit(ts, value, target, top, before, was_over, projection, out)

    def _emit(
        self,
        ts: int,
        level: float,
        target: float,
        top: int,
        before: int,
        was_over: bool,
        projection: Projection | None,
        out: list[AlertEvent],
    ) -> None:
        ctx = self.ctx
        severity = ctx.levels[top - 1] if top else None
        if top == self.latch.n or was_over:  # into overtopping, or out of it
            now_over = top == self.latch.n

            def text(
                shown: Severity, step: Transition, _: Severity | None, /, *, eased: bool = False
            ) -> tuple[str, str]:
                # the general red advice: a rule's own red advice says "expected to overtop"
                advice = ctx.advice.get(shown) if step is Transition.DOWNGRADED else None
                return overtopping(
                    ctx.place,
                    level,
                    target,
                    transition=step,
                    exercise=ctx.exercise,
                    advice=advice,
                    severity=shown,
                    eased=eased,
                )

            event = self.tracker.change(
                ts,
                severity,
                value=0.0 if now_over else None,
                threshold=0.0,
                # `AlertEvent.forecast` holds numbers and flags; a stored event reads back.
                forecast={"overtopping": True, "minutes_to_crest": 0.0} if now_over else None,
                details={"level": level, "target": target, "overtopping": now_over},
                text=text,
                escalate=now_over,
            )
        else:
            minutes = projection.minutes if projection is not None else None
            shown_minutes = minutes if minutes is not None and math.isfinite(minutes) else None
            if top > before:
                threshold = self.enters[top - 1]
            else:  # lowered: from a forecast level's reset line, or from overtopping
                threshold = self.exits[before - 1] if was_over is False else 0.0
            event = self.tracker.change(
                ts,
                severity,
                value=shown_minutes,
                threshold=threshold,
                forecast=projection.forecast if projection is not None else None,
                what=projection.what if projection is not None else ("", ""),
                details={
                    "level": level,
                    **(projection.details if projection is not None else {}),
                    "target": target,
                },
            )
        if event is not None:
            out.append(event)


def robust_trend(t: np.ndarray, y: np.ndarray, now: int) -> tuple[float, float]:
    """(slope per ms, fitted value at `now`): median of pairwise slopes i → i+n/2.

    A single outlier touches at most two of the n/2 pairs, so it cannot move
    the median on its own (the estimator's breakdown point is about 25 %).
    """
    half = len(t) // 2
    dt = (t[half:] - t[: len(t) - half]).astype(np.float64)
    dy = y[half:] - y[: len(t) - half]
    slope = _median(dy / dt)
    fitted = _median(y - slope * (t - now).astype(np.float64))
    return slope, fitted


def _median(a: np.ndarray) -> float:
    """`np.median` of a small array, bit for bit, without its overhead."""
    s = np.sort(a)
    m = len(s) // 2
    return float(s[m]) if len(s) % 2 else float((s[m - 1] + s[m]) / 2)


class CrestInstance(CrestCore):
    """Time to crest by a straight line: the robust trend of the recent level."""

    __slots__ = ("min_points", "ring", "window")

    def __init__(
        self,
        ring: Ring,
        window_ms: int,
        min_points: int,
        *args: object,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.ring = ring
        self.window = window_ms
        self.min_points = min_points

    def project(self, ts: int, level: float, target: float) -> Projection | None:
        t, y = self.ring.since(ts - self.window)
        if len(t) < self.min_points:
            return None
        slope, fitted = robust_trend(t, y, ts)
        rate = slope * 3_600_000.0
        if fitted >= target:
            minutes = 0.0
        elif slope <= 0:
            minutes = math.inf
        else:
            minutes = (target - fitted) / slope / 60_000.0
        forecast = None
        what = ("", "")
        if math.isfinite(minutes):
            forecast = {"minutes_to_crest": round(minutes, 1), "rate_m_per_h": round(rate, 3)}
        if math.isfinite(minutes) and minutes > 0:
            what = crest_reason(rate)
        return Projection(minutes, forecast, what, {"fitted_level": round(fitted, 3)})


def _shown(projection: Projection) -> dict[str, float]:
    """A projection's forecast as shown live: with minutes to crest when within reach."""
    out = dict(projection.forecast or {})
    if math.isfinite(projection.minutes):
        out.setdefault("minutes_to_crest", round(projection.minutes, 1))
    return out
