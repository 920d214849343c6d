"""Rules that compare one measured quantity with multi-level thresholds.

level (rising), freeboard to the crest (falling) and rate of rise (rising);
time to crest (`crest.py`, falling: fewer minutes is worse) builds on the same
`ThresholdCore`: thresholds resolved at event time, a multi-level latch, one
alert.

Why one module over 400 lines: a rule kind is one module (its config model
beside its behaviour, docs/architecture.md), and these three kinds share
their level model and their core; split, each would import the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.config.base import Model
from floodwatch.config.errors import Loc
from floodwatch.config.models import Advice, RuleBase, WarningSeverity
from floodwatch.config.values import Duration, Expr, ThresholdExpr
from floodwatch.readings import Kind
from floodwatch.rules.base import AlertTracker, Figure, RuleContext
from floodwatch.rules.bound import FastBound, anything
from floodwatch.rules.compile import (
    ORDER,
    Binding,
    CompiledConfig,
    LevelBinding,
    StationInfo,
    dwell_ms,
    ms,
    resolve,
    sorted_levels,
)
from floodwatch.rules.context import context, threshold_args
from floodwatch.rules.kind import BindContext, SeriesKey
from floodwatch.rules.latch import Latch
from floodwatch.rules.thresholds import Threshold
from floodwatch.rules.windows import RateProbe

if TYPE_CHECKING:
    from floodwatch.rules.build import Series

# -- its config model (given to the loader: config/config_types.py) ---------------


class LevelSpec(Model):
    """One warning level: enter condition, exit (reset) condition, dwell up and down."""

    enter: ThresholdExpr
    exit: ThresholdExpr | None = Field(
        None, description="reset threshold (hysteresis); default: enter ∓ the rule's hysteresis"
    )
    for_: Duration | None = Field(None, alias="for", description="dwell before raising")
    clear_for: Duration | None = Field(None, description="dwell before lowering")
    advice: Advice | None = None


class LevelRule(RuleBase):
    """Level thresholds (rising hazard): raise when the level is at or above `enter`."""

    kind: Literal["level"]
    of: Kind = "level"
    hysteresis: float = Field(0.0, ge=0, description="default exit = enter − hysteresis")
    levels: dict[WarningSeverity, LevelSpec]


class FreeboardRule(RuleBase):
    """Freeboard to the dam crest (crest − level, m): raise when at or below `enter`."""

    kind: Literal["freeboard"]
    hysteresis: float = Field(0.0, ge=0, description="default exit = enter + hysteresis")
    levels: dict[WarningSeverity, LevelSpec]


class RateOfRiseRule(RuleBase):
    """Rate of rise over a window (m/h): raise when at or above `enter`."""

    kind: Literal["rate_of_rise"]
    of: Kind = "level"
    window: Duration = timedelta(minutes=30)
    hysteresis: float = Field(0.0, ge=0)
    levels: dict[WarningSeverity, LevelSpec]


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
        "now",
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
        # the latest evaluation: (ts, value, forecast, details), for `figure`
        self.now: tuple[int, float | None, dict[str, float] | None, dict[str, object] | None]
        self.now = (0, None, None, None)

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
        shown = measure if value is _MEASURE else value
        self.now = (ts, shown, forecast, details)
        before = self.latch.top
        top = self.latch.update_measure(ts, measure, self.enters, self.exits, self.rising)
        if top == before:
            return
        severity = self.ctx.levels[top - 1] if top else None
        threshold = self.enters[top - 1] if top > before else self.exits[before - 1]
        event = self.tracker.change(
            ts,
            severity,
            value=shown,
            threshold=threshold,
            forecast=forecast,
            what=what,
            details=details,
        )
        if event is not None:
            out.append(event)

    def active(self) -> Severity | None:
        return self.tracker.severity

    def figure(self) -> Figure | None:
        ts, value, forecast, details = self.now
        if value is None:
            return None
        return Figure(ts, round(value, 4), forecast, dict(details or {}))

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


# -- the kinds: level, freeboard, rate_of_rise (see rules/kind.py) -------------------


def threshold_levels(
    rule: LevelRule | FreeboardRule | RateOfRiseRule,
    index: int,
    info: StationInfo,
    ctx: BindContext,
    rising: bool,
) -> list[LevelBinding]:
    """Each level's enter and exit resolved at the station, their order checked."""
    zone, issues, hysteresis = ctx.zone, ctx.issues, rule.hysteresis
    where = f"(rule {rule.id!r}, station {info.id!r})"
    out: list[LevelBinding] = []
    previous: tuple[str, float] | None = None
    for name, spec in sorted_levels(rule.levels):
        assert not isinstance(spec, str)
        loc: Loc = ("rules", index, "levels", name)
        enter = resolve(spec.enter, info, zone)
        if enter is None:
            issues.add(
                (*loc, "enter"),
                f"station {info.id!r} has no levels.{spec.enter.attribute} "
                f"to compute {str(spec.enter)!r} {where}",
            )
            continue
        exit_expr = spec.exit
        if exit_expr is None:
            exit_ = Threshold(
                constant=enter.constant,
                seasonal=enter.seasonal,
                zone=zone,
                offset=(enter.offset if enter.constant is None else 0.0)
                + (-hysteresis if rising else hysteresis),
            )
        else:
            resolved = resolve(exit_expr, info, zone)
            if resolved is None:
                issues.add(
                    (*loc, "exit"),
                    f"station {info.id!r} has no levels.{exit_expr.attribute} {where}",
                )
                continue
            exit_ = resolved
        for e_value, x_value in zip(enter.values(), exit_.values(), strict=False):
            if (rising and x_value > e_value) or (not rising and x_value < e_value):
                side = "at or below" if rising else "at or above"
                issues.add(
                    (*loc, "exit"),
                    f"must be {side} enter ({e_value:g}) for hysteresis, got {x_value:g} {where}",
                )
                break
        value = max(enter.values()) if rising else min(enter.values())
        if previous is not None:
            prev_name, prev_value = previous
            if (rising and value <= prev_value) or (not rising and value >= prev_value):
                side = "above" if rising else "below"
                issues.add(
                    (*loc, "enter"),
                    f"must be {side} {prev_name} ({prev_value:g}), got {value:g} {where}",
                )
        previous = (name, value)
        advice = (spec.advice.zh, spec.advice.en) if spec.advice else None
        out.append(
            LevelBinding(
                ORDER[name],
                enter,
                exit_,
                dwell_ms(spec.for_, rule.for_),
                dwell_ms(spec.clear_for, rule.clear_for),
                advice,
            )
        )
    return out


class LevelKind:
    name = "level"
    model = LevelRule

    def reads(self, rule: LevelRule) -> str:
        return rule.of

    def bind(self, rule: LevelRule, index: int, info: StationInfo, ctx: BindContext) -> Binding:
        return Binding(index, rule, info, tuple(threshold_levels(rule, index, info, ctx, True)))

    def history(self, binding: Binding) -> Iterator[tuple[SeriesKey, int]]:
        return iter(())

    def linked(self, binding: Binding) -> set[str]:
        return set()

    def attach(
        self, compiled: CompiledConfig, binding: Binding, series: dict[SeriesKey, Series]
    ) -> None:
        rule = binding.rule
        assert isinstance(rule, LevelRule)
        ctx = context(compiled, binding, rule.of)
        instance = LevelInstance(ctx, *threshold_args(binding, True))
        series[(binding.station.id, rule.of)].rules.append(instance)


class FreeboardKind:
    name = "freeboard"
    model = FreeboardRule

    def reads(self, rule: FreeboardRule) -> str:
        return "level"

    def bind(self, rule: FreeboardRule, index: int, info: StationInfo, ctx: BindContext) -> Binding:
        levels = threshold_levels(rule, index, info, ctx, False)
        crest = resolve(Expr("crest", 0.0), info, ctx.zone)
        if crest is None:
            ctx.issues.add(
                ("rules", index),
                f"freeboard needs the station's levels.crest (rule {rule.id!r}, "
                f"station {info.id!r})",
            )
        return Binding(index, rule, info, tuple(levels), {"crest": crest})

    def history(self, binding: Binding) -> Iterator[tuple[SeriesKey, int]]:
        return iter(())

    def linked(self, binding: Binding) -> set[str]:
        return set()

    def attach(
        self, compiled: CompiledConfig, binding: Binding, series: dict[SeriesKey, Series]
    ) -> None:
        ctx = context(compiled, binding, "freeboard")
        args = threshold_args(binding, False)
        instance = FreeboardInstance(binding.extra["crest"], ctx, *args)
        series[(binding.station.id, "level")].rules.append(instance)


class RateOfRiseKind:
    name = "rate_of_rise"
    model = RateOfRiseRule

    def reads(self, rule: RateOfRiseRule) -> str:
        return rule.of

    def bind(
        self, rule: RateOfRiseRule, index: int, info: StationInfo, ctx: BindContext
    ) -> Binding:
        levels = threshold_levels(rule, index, info, ctx, True)
        return Binding(index, rule, info, tuple(levels), {"window_ms": ms(rule.window)})

    def history(self, binding: Binding) -> Iterator[tuple[SeriesKey, int]]:
        rule = binding.rule
        assert isinstance(rule, RateOfRiseRule)
        yield (binding.station.id, rule.of), ms(rule.window)

    def linked(self, binding: Binding) -> set[str]:
        return set()

    def attach(
        self, compiled: CompiledConfig, binding: Binding, series: dict[SeriesKey, Series]
    ) -> None:
        rule = binding.rule
        assert isinstance(rule, RateOfRiseRule)
        target = series[(binding.station.id, rule.of)]
        probe = target.rate_probe(ms(rule.window))
        ctx = context(compiled, binding, "rate_of_rise")
        target.rules.append(RateInstance(probe, ctx, *threshold_args(binding, True)))


LEVEL = LevelKind()
FREEBOARD = FreeboardKind()
RATE_OF_RISE = RateOfRiseKind()
