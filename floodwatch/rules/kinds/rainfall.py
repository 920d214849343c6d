"""Rainfall accumulation over sliding windows (e.g. 1 h, 3 h, 6 h, 24 h).

A level fires when any of its windows reaches its value. Gap-aware: a missing
report is not zero rain, so a window that lacks reports gives a lower bound —
enough to raise an alert, never enough to clear one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, Strict

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import RAIN_ADVICE, rain_label
from floodwatch.alerts.state import EvacuationStage, Severity
from floodwatch.config.base import Model, Problems
from floodwatch.config.models import Advice, RuleBase, WarningSeverity
from floodwatch.config.values import (
    Duration,
    format_duration,
    parse_duration,
)
from floodwatch.rules.base import AlertTracker, Figure, RuleContext
from floodwatch.rules.bound import FastBound
from floodwatch.rules.compile import (
    Binding,
    CompiledConfig,
    StationInfo,
    dwell_ms,
    sorted_levels,
    window_ms,
)
from floodwatch.rules.context import context
from floodwatch.rules.kind import BindContext, Issues, SeriesKey
from floodwatch.rules.latch import Latch
from floodwatch.rules.windows import AccumProbe

if TYPE_CHECKING:
    from floodwatch.rules.build import Series


# -- its config model (given to the loader: config/config_types.py) ---------------


class RainLevelSpec(Model):
    """A rainfall level: fires when any window's accumulation reaches its value (mm)."""

    within: dict[Annotated[str, Strict()], float] = Field(
        description="accumulation thresholds by window, e.g. {1h: 30, 3h: 50, 24h: 100}"
    )
    stage: EvacuationStage | None = None
    for_: Duration | None = Field(None, alias="for")
    clear_for: Duration | None = None
    advice: Advice | None = None

    def problems(self) -> Problems:
        windows: list[tuple[timedelta, str, float]] = []
        for key, value in self.within.items():
            try:
                windows.append((parse_duration(key), key, value))
            except ValueError as exc:
                yield ("within", key), str(exc)
                continue
            if value <= 0:
                yield ("within", key), f"must be above 0 mm, got {value:g}"
        if not self.within:
            yield ("within",), "give at least one window, e.g. {1h: 30}"
        windows.sort()
        for (_, short, low), (_, long_, high) in itertools.pairwise(windows):
            if high < low:
                yield (
                    ("within", long_),
                    f"must be at or above the {short} value ({low:g} mm), got {high:g} mm "
                    "(a longer window cannot need less rain)",
                )


class RainfallRule(RuleBase):
    """Rainfall accumulation over sliding windows, gap-aware."""

    kind: Literal["rainfall"]
    missing_tolerance: float = Field(
        0.1,
        ge=0,
        lt=1,
        description="share of reports a window may miss and still count as complete "
        "(an incomplete window can raise an alert but never clear one)",
    )
    levels: dict[WarningSeverity, RainLevelSpec]

    def problems(self) -> Problems:
        yield from super().problems()
        for name, level in self.levels.items():
            for loc, message in level.problems():
                yield ("levels", name, *loc), message


class RainfallInstance:
    __slots__ = (
        "at",
        "ctx",
        "latch",
        "levels",
        "min_enter",
        "probes",
        "shown",
        "stages",
        "tracker",
    )

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
        self.at = 0  # the latest reading looked at
        self.shown = 0  # the window (probe) its latest alert event named

    def on_reading(self, ts: int, value: float, out: list[AlertEvent]) -> None:
        probes = self.probes
        if not self.latch.busy and max(p.total for p in probes) < self.min_enter:
            return
        self.at = ts
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
        self.shown = probes.index(probe)
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

    def figure(self) -> Figure | None:
        """The total of the window its latest alert event named, now."""
        probe = self.probes[self.shown]
        return Figure(
            self.at, round(probe.total, 2), None, {"window": format_duration_ms(probe.window)}
        )

    def fast_bound(self) -> FastBound:
        return FastBound(
            totals=tuple((self.probes[k], thr) for level in self.levels for k, thr in level)
        )


def format_duration_ms(ms: int) -> str:
    return format_duration(timedelta(milliseconds=ms))


class RainfallKind:
    name = "rainfall"
    model = RainfallRule

    def reads(self, rule: RainfallRule) -> str:
        return "rain"

    def bind(self, rule: RainfallRule, index: int, info: StationInfo, ctx: BindContext) -> Binding:
        return _bind(rule, index, info, ctx.issues)

    def history(self, binding: Binding) -> Iterator[tuple[SeriesKey, int]]:
        rule = binding.rule
        assert isinstance(rule, RainfallRule)
        longest = max(window_ms(w) for lvl in rule.levels.values() for w in lvl.within)
        yield (binding.station.id, "rain"), longest

    def linked(self, binding: Binding) -> set[str]:
        return set()

    def attach(
        self, compiled: CompiledConfig, binding: Binding, series: dict[SeriesKey, Series]
    ) -> None:
        rule = binding.rule
        assert isinstance(rule, RainfallRule)
        _attach(compiled, binding, rule, series[(binding.station.id, "rain")])


RAINFALL = RainfallKind()


def _bind(rule: RainfallRule, index: int, info: StationInfo, issues: Issues) -> Binding:
    where = f"(rule {rule.id!r}, station {info.id!r})"
    previous: dict[str, tuple[str, float]] = {}
    for name, spec in sorted_levels(rule.levels):
        assert not isinstance(spec, str)
        for window, value in spec.within.items():
            if window in previous and value <= previous[window][1]:
                prev_name, prev_value = previous[window]
                issues.add(
                    ("rules", index, "levels", name, "within", window),
                    f"must be above {prev_name} ({prev_value:g} mm over {window}), "
                    f"got {value:g} mm {where}",
                )
            previous[window] = (name, value)
    return Binding(index, rule, info)


def _attach(compiled: CompiledConfig, binding: Binding, rule: RainfallRule, target: Series) -> None:
    order = sorted(rule.levels.items(), key=lambda kv: Severity(kv[0]).rank)
    probes: list[AccumProbe] = []
    levels = []
    for _, spec in order:
        level = []
        for window, value in spec.within.items():
            probe = target.accum_probe(window_ms(window), rule.missing_tolerance)
            if probe not in probes:
                probes.append(probe)
            level.append((probes.index(probe), value))
        levels.append(level)
    advice = dict(RAIN_ADVICE)
    advice.update({Severity(n): (s.advice.zh, s.advice.en) for n, s in order if s.advice})
    ctx = replace(
        context(compiled, binding, "rain"),
        levels=tuple(Severity(name) for name, _ in order),
        advice=advice,
    )
    stages: list[EvacuationStage | None] = [spec.stage for _, spec in order]
    instance = RainfallInstance(
        ctx,
        probes,
        levels,
        stages,
        [dwell_ms(spec.for_, rule.for_) for _, spec in order],
        [dwell_ms(spec.clear_for, rule.clear_for) for _, spec in order],
    )
    target.rules.append(instance)
