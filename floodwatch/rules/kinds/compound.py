"""Compound conditions across linked stations, e.g. a blocked outlet culvert:
the pond rises faster than X while its culvert's flow stays near zero.

Each condition is true, false or unknown (data older than its max age, or an
incomplete rain window that is below its bound). Unknown neither raises nor
clears the alert.

Raising and clearing may differ: a blocked culvert is noticed while the pond
rises, but the pond stops rising at its peak while the culvert is still
blocked. `clear_when` (clear only when these are true) and `hold_while` (hold
while these are not definitely false) give the clearing its own conditions,
three-valued like the raising ones: unknown never clears.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import ConditionText, render_compound
from floodwatch.alerts.state import Severity, Transition
from floodwatch.rules.base import AlertTracker, RuleContext
from floodwatch.rules.bound import FastBound, Watch
from floodwatch.rules.latch import Latch
from floodwatch.rules.store import Column
from floodwatch.rules.thresholds import Threshold
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
    above: Threshold | None
    below: Threshold | None
    max_age_ms: int
    text: ConditionText

    def bound(self, ts: int) -> float:
        threshold = self.above if self.above is not None else self.below
        assert threshold is not None
        return threshold.at(ts)

    def say(self, ts: int) -> tuple[str, str]:
        """The condition as people read it, with its value and bound now."""
        text = self.text
        bound = self.bound(ts)
        if bound != text.bound:
            text = replace(text, bound=bound)
        return text.say(self.metric(ts)[0])

    def watch(self) -> Watch:
        """The fast path's view: the lowest (highest) value the bound can take."""
        if self.above is not None:
            return Watch(self.source, "above", min(self.above.values()))
        assert self.below is not None
        return Watch(self.source, "below", max(self.below.values()))

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
            if value >= self.above.at(ts):
                return True
            return False if complete else None
        assert self.below is not None
        if not complete:
            return None
        return value < self.below.at(ts)


@dataclass
class ConditionGroup:
    """All (or any) of some conditions, three-valued: true, false or None (unknown)."""

    conditions: list[BoundCondition]
    all_of: bool

    def truth(self, ts: int) -> bool | None:
        truths = [c.truth(ts) for c in self.conditions]
        if self.all_of:
            return False if False in truths else (None if None in truths else True)
        return True if True in truths else (None if None in truths else False)


class CompoundInstance:
    __slots__ = (
        "clear_when",
        "conditions",
        "ctx",
        "hold_while",
        "latch",
        "mode_all",
        "name",
        "tracker",
    )

    def __init__(
        self,
        ctx: RuleContext,
        conditions: Sequence[BoundCondition],
        mode_all: bool,
        for_ms: int,
        clear_ms: int,
        name: tuple[str, str] = ("组合条件", "compound condition"),
        clear_when: ConditionGroup | None = None,
        hold_while: ConditionGroup | None = None,
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.tracker = AlertTracker(ctx)
        self.latch = Latch([for_ms], [clear_ms])
        self.conditions = list(conditions)
        self.mode_all = mode_all
        self.clear_when = clear_when
        self.hold_while = hold_while

    def _may_clear(self, ts: int, result: bool | None) -> bool:
        """Whether the alert may start (or go on) clearing: by `clear_when` if given,
        else when the raise conditions are false; and never while `hold_while` is
        true or unknown."""
        if self.clear_when is not None:
            ok = result is not True and self.clear_when.truth(ts) is True
        else:
            ok = result is False
        if ok and self.hold_while is not None:
            ok = self.hold_while.truth(ts) is False
        return ok

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
        top = self.latch.update(ts, [result is True], [self._may_clear(ts, result)])
        if top == before:
            return
        first = self.conditions[0]
        metric, _ = first.metric(ts)
        bound = first.bound(ts)
        values = [c.metric(ts)[0] for c in self.conditions]
        shown = self.conditions
        if not top:  # the all-clear says what let it clear
            shown = [*shown, *self._clearing()]
        said = [c.say(ts) for c in shown]
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
                "conditions": {c.label: v for c, v in zip(self.conditions, values, strict=True)},
                **{
                    name: {c.label: c.metric(ts)[0] for c in group.conditions}
                    for name, group in (
                        ("clear_when", self.clear_when),
                        ("hold_while", self.hold_while),
                    )
                    if group is not None
                },
            },
            text=text,
        )
        if event is not None:
            out.append(event)

    def _clearing(self) -> list[BoundCondition]:
        return [
            c
            for group in (self.clear_when, self.hold_while)
            if group is not None
            for c in group.conditions
            if c not in self.conditions
        ]

    def active(self) -> Severity | None:
        return self.tracker.severity

    def fast_bound(self) -> FastBound:
        """Quiet while its raise conditions cannot all (any) become true. Its clear
        and hold conditions only matter while it is busy, and a busy rule's series
        take the exact path anyway."""
        return FastBound(watches=tuple(c.watch() for c in self.conditions), all_of=self.mode_all)
