"""Compound conditions across linked stations, e.g. a blocked outlet culvert:
the pond rises faster than X while its culvert's flow stays near zero.

Each condition is true, false or unknown (data older than its max age, or an
incomplete rain window that is below its bound). Unknown neither raises nor
clears the alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import ConditionText, render_compound
from floodwatch.alerts.state import Severity, Transition
from floodwatch.rules.base import AlertTracker, RuleContext
from floodwatch.rules.bound import FastBound, Watch
from floodwatch.rules.latch import Latch
from floodwatch.rules.store import Column
from floodwatch.rules.windows import AccumProbe, RateProbe


class LastValue:
    """The latest good value of a series (shared by the series and its readers)."""

    __slots__ = ("_cols", "_i")

    ts: Column[int] = Column("lv_ts")
    value: Column[float] = Column("lv_value")


@dataclass
class BoundCondition:
    label: str
    source: LastValue | RateProbe | AccumProbe
    above: float | None
    below: float | None
    max_age_ms: int
    text: ConditionText

    def metric(self, ts: int) -> tuple[float | None, bool]:
        """(metric value or None when unknown, whether it is complete)."""
        src = self.source
        if isinstance(src, LastValue):
            if src.ts < 0 or ts - src.ts > self.max_age_ms:
                return None, False
            return src.value, True
        if src.updated < 0 or ts - src.updated > self.max_age_ms:
            return None, False
        if isinstance(src, RateProbe):
            return src.rate, True
        return src.total, src.complete

    def truth(self, ts: int) -> bool | None:
        value, complete = self.metric(ts)
        if value is None:
            return None
        if self.above is not None:
            if value >= self.above:
                return True
            return False if complete else None
        assert self.below is not None
        if not complete:
            return None
        return value < self.below


class CompoundInstance:
    __slots__ = ("conditions", "ctx", "latch", "mode_all", "name", "tracker")

    def __init__(
        self,
        ctx: RuleContext,
        conditions: Sequence[BoundCondition],
        mode_all: bool,
        for_ms: int,
        clear_ms: int,
        name: tuple[str, str] = ("组合条件", "compound condition"),
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.tracker = AlertTracker(ctx)
        self.latch = Latch([for_ms], [clear_ms])
        self.conditions = list(conditions)
        self.mode_all = mode_all

    def on_reading(self, ts: int, value: float, out: list[AlertEvent]) -> None:
        if not self.latch.busy:  # quiet path: stop at the first condition that rules it out
            for condition in self.conditions:
                truth = condition.truth(ts)
                if self.mode_all and truth is not True:
                    return
                if not self.mode_all and truth is True:
                    break
            else:
                if not self.mode_all:
                    return
        truths = [c.truth(ts) for c in self.conditions]
        if self.mode_all:
            result = False if False in truths else (None if None in truths else True)
        else:
            result = True if True in truths else (None if None in truths else False)
        if not self.latch.busy and result is not True:
            return
        before = self.latch.top
        top = self.latch.update(ts, [result is True], [result is False])
        if top == before:
            return
        first = self.conditions[0]
        metric, _ = first.metric(ts)
        bound = first.above if first.above is not None else first.below
        values = [c.metric(ts)[0] for c in self.conditions]
        said = [c.text.say(v) for c, v in zip(self.conditions, values, strict=True)]
        ctx = self.ctx

        def text(severity: Severity, step: Transition, _: Severity | None) -> tuple[str, str]:
            return render_compound(
                place=ctx.place,
                name=self.name,
                severity=severity,
                transition=step,
                said=said,
                exercise=ctx.exercise,
                advice=ctx.advice.get(severity),
            )

        event = self.tracker.change(
            ts,
            self.ctx.levels[0] if top else None,
            value=metric,
            threshold=bound,
            details={
                "conditions": {c.label: v for c, v in zip(self.conditions, values, strict=True)}
            },
            text=text,
        )
        if event is not None:
            out.append(event)

    def active(self) -> Severity | None:
        return self.tracker.severity

    def fast_bound(self) -> FastBound:
        """Quiet while its conditions cannot all (any) become true."""
        watches: list[Watch] = []
        for c in self.conditions:
            if c.above is not None:
                watches.append(Watch(c.source, "above", c.above))
            elif c.below is not None:
                watches.append(Watch(c.source, "below", c.below))
        return FastBound(watches=tuple(watches), all_of=self.mode_all)
