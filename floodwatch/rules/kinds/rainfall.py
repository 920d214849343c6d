"""Rainfall accumulation over sliding windows (e.g. 1 h, 3 h, 6 h, 24 h).

A level fires when any of its windows reaches its value. Gap-aware: a missing
report is not zero rain, so a window that lacks reports gives a lower bound —
enough to raise an alert, never enough to clear one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import rain_label
from floodwatch.alerts.state import EvacuationStage, Severity
from floodwatch.config.values import format_duration
from floodwatch.rules.base import AlertTracker, RuleContext
from floodwatch.rules.bound import FastBound
from floodwatch.rules.latch import Latch
from floodwatch.rules.windows import AccumProbe


class RainfallInstance:
    __slots__ = ("ctx", "latch", "levels", "min_enter", "probes", "stages", "tracker")

    def __init__(
        self,
        ctx: RuleContext,
        probes: Sequence[AccumProbe],
        levels: Sequence[Sequence[tuple[int, float]]],
        stages: Sequence[EvacuationStage | None],
        for_ms: Sequence[int],
        clear_ms: Sequence[int],
    ) -> None:
        """`levels[i]` lists (index into `probes`, threshold mm) for level i."""
        self.ctx = ctx
        self.tracker = AlertTracker(ctx)
        self.latch = Latch(for_ms, clear_ms)
        self.probes = list(probes)
        self.levels = [list(level) for level in levels]
        self.stages = list(stages)
        self.min_enter = min(thr for level in levels for _, thr in level)

    def on_reading(self, ts: int, value: float, out: list[AlertEvent]) -> None:
        probes = self.probes
        if not self.latch.busy and max(p.total for p in probes) < self.min_enter:
            return
        enter = []
        exit_ = []
        for level in self.levels:
            enter.append(any(probes[i].total >= thr for i, thr in level))
            exit_.append(all(probes[i].complete and probes[i].total < thr for i, thr in level))
        before = self.latch.top
        top = self.latch.update(ts, enter, exit_)
        if top == before:
            return
        index = (top if top > before else before) - 1
        probe, thr = max(
            ((probes[i], thr) for i, thr in self.levels[index]), key=lambda pt: pt[0].total / pt[1]
        )
        window = format_duration_ms(probe.window)
        details = {
            "windows": {
                format_duration_ms(p.window): {"mm": round(p.total, 2), "complete": p.complete}
                for p in probes
            }
        }
        event = self.tracker.change(
            ts,
            self.ctx.levels[top - 1] if top else None,
            value=probe.total,
            threshold=thr,
            stage=self.stages[top - 1] if top else None,
            label=rain_label(probe.window),
            details={**details, "window": window},
        )
        if event is not None:
            out.append(event)

    def active(self) -> Severity | None:
        return self.tracker.severity

    def fast_bound(self) -> FastBound:
        return FastBound(
            totals=tuple((self.probes[k], thr) for level in self.levels for k, thr in level)
        )


def format_duration_ms(ms: int) -> str:
    return format_duration(timedelta(milliseconds=ms))
