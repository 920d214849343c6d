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

Why one module over 400 lines: a rule kind is one module (its config model —
conditions, groups and their checks — beside its compiled conditions and its
instance, docs/architecture.md); the model and the evaluation of one
condition change together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, Strict, StringConstraints

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import (
    MEASURES,
    ConditionText,
    duration_en,
    duration_zh,
    render_compound,
)
from floodwatch.alerts.state import Severity, Transition
from floodwatch.config.base import Model, Problems
from floodwatch.config.errors import Loc
from floodwatch.config.models import Advice, RuleBase, WarningSeverity
from floodwatch.config.values import Duration, ThresholdExpr, described
from floodwatch.readings import Kind
from floodwatch.rules.base import AlertTracker, Figure, RuleContext
from floodwatch.rules.bound import FastBound
from floodwatch.rules.compile import Binding, CompiledConfig, StationInfo, ms, resolve, suggest
from floodwatch.rules.conditions import BoundCondition, ConditionGroup, LastValue
from floodwatch.rules.context import context
from floodwatch.rules.kind import BindContext, Issues, SeriesKey
from floodwatch.rules.latch import Latch
from floodwatch.rules.thresholds import Threshold
from floodwatch.rules.windows import AccumProbe, RateProbe

if TYPE_CHECKING:
    from floodwatch.rules.build import Series


# -- its config model (given to the loader: config/config_types.py) ---------------


class Condition(Model):
    """One condition of a compound rule, on this station or a linked one."""

    station: Annotated[
        str,
        Strict(),
        StringConstraints(
            pattern=described(
                r"^(self|\$[a-z_]+|[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$",
                "'self', a link such as '$outlet', or a station id",
            )
        ),
    ] = Field("self", description="'self', a link such as '$outlet', or a station id")
    kind: Kind = "level"
    metric: Literal["value", "rate_of_rise", "accumulation"] = "value"
    window: Duration | None = Field(None, description="for rate_of_rise and accumulation")
    above: ThresholdExpr | None = Field(
        None,
        description="true at or above this: a number, or a station attribute of the "
        "station it reads (e.g. flood_limit)",
    )
    below: ThresholdExpr | None = Field(None, description="true below this")
    max_age: Duration | None = Field(
        None, description="older data is unknown (neither raises nor clears); default 3 intervals"
    )

    def problems(self) -> Problems:
        if (self.above is None) == (self.below is None):
            yield (), "give exactly one of 'above' or 'below'"
        if self.metric != "value" and self.window is None:
            yield ("window",), f"metric {self.metric!r} needs a window, e.g. '30m'"
        if self.metric == "accumulation" and self.kind != "rain":
            yield ("metric",), "accumulation applies to kind 'rain'"


class ConditionSet(Model):
    """All / any of several conditions (for `clear_when` and `hold_while`)."""

    all: list[Condition] | None = None
    any: list[Condition] | None = None

    def problems(self) -> Problems:
        if (self.all is None) == (self.any is None):
            yield (), "give exactly one of 'all' or 'any'"
        for key, conditions in (("all", self.all), ("any", self.any)):
            if conditions is not None and not conditions:
                yield (key,), "give at least one condition"
            for index, condition in enumerate(conditions or []):
                for loc, message in condition.problems():
                    yield (key, index, *loc), message


class CompoundRule(RuleBase):
    """All / any of several conditions, across linked stations."""

    kind: Literal["compound"]
    severity: WarningSeverity
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    advice: Advice | None = None
    clear_when: ConditionSet | None = Field(
        None,
        description="clear only when these are true (unknown never clears); default: when "
        "the raise conditions are false",
    )
    hold_while: ConditionSet | None = Field(
        None,
        description="never clear while these could be true: only a definite false lets the "
        "alert clear (e.g. culvert flow still near zero and the pond above its flood limit)",
    )

    def problems(self) -> Problems:
        yield from super().problems()
        if (self.all is None) == (self.any is None):
            yield (), "give exactly one of 'all' or 'any'"
        for key, conditions in (("all", self.all), ("any", self.any)):
            for index, condition in enumerate(conditions or []):
                for loc, message in condition.problems():
                    yield (key, index, *loc), message
        for key, group in (("clear_when", self.clear_when), ("hold_while", self.hold_while)):
            if group is not None:
                for loc, message in group.problems():
                    yield (key, *loc), message


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
        said = list(dict.fromkeys(c.say(ts) for c in shown))  # a clear condition may repeat one
        ctx = self.ctx

        def text(
            severity: Severity, step: Transition, _: Severity | None, /, *, eased: bool = False
        ) -> tuple[str, str]:
            return render_compound(
                place=ctx.place,
                name=self.name,
                severity=severity,
                transition=step,
                said=said,
                exercise=ctx.exercise,
                advice=ctx.advice.get(severity),
                eased=eased,
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

    def figure(self) -> Figure | None:
        """None: a compound condition is told by its name, not a figure."""
        return None

    def fast_bound(self) -> FastBound:
        """Quiet while its raise conditions cannot all (any) become true. Its clear
        and hold conditions only matter while it is busy, and a busy rule's series
        take the exact path anyway."""
        return FastBound(watches=tuple(c.watch() for c in self.conditions), all_of=self.mode_all)


# -- the kind (see rules/kind.py) ---------------------------------------------------


class CompoundKind:
    name = "compound"
    model = CompoundRule

    def reads(self, rule: CompoundRule) -> None:
        return None  # its conditions name what they read

    def bind(self, rule: CompoundRule, index: int, info: StationInfo, ctx: BindContext) -> Binding:
        return _bind(rule, index, info, ctx.stations, ctx.zone, ctx.issues)

    def history(self, binding: Binding) -> Iterator[tuple[SeriesKey, int]]:
        for ref in _refs(binding):
            if ref.condition.window is not None:
                yield (ref.target.id, ref.condition.kind), ms(ref.condition.window)

    def linked(self, binding: Binding) -> set[str]:
        return {ref.target.id for ref in _refs(binding)}

    def attach(
        self, compiled: CompiledConfig, binding: Binding, series: dict[SeriesKey, Series]
    ) -> None:
        rule = binding.rule
        assert isinstance(rule, CompoundRule)
        _attach(compiled, binding, rule, series)


COMPOUND = CompoundKind()


def _refs(binding: Binding) -> list[ConditionRef]:
    """Every condition it reads: raise, clear_when and hold_while."""
    refs: list[ConditionRef] = list(binding.extra["conditions"])
    for name in ("clear_when", "hold_while"):
        if name in binding.extra:
            refs.extend(binding.extra[name][0])
    return refs


@dataclass(frozen=True)
class ConditionRef:
    """One condition of a compound rule bound to the station it reads, its
    bound resolved against that station (e.g. `above: flood_limit`)."""

    target: StationInfo
    condition: Condition
    above: Threshold | None
    below: Threshold | None


def _bind(
    rule: CompoundRule,
    index: int,
    info: StationInfo,
    stations: dict[str, StationInfo],
    zone: ZoneInfo,
    issues: Issues,
) -> Binding:
    key = "all" if rule.all is not None else "any"
    where = ("rules", index)
    extra: dict[str, Any] = {
        "conditions": _bind_conditions(
            rule, (*where, key), rule.all or rule.any or [], info, stations, zone, issues
        ),
        "all": rule.all is not None,
    }
    for name in ("clear_when", "hold_while"):
        group = getattr(rule, name)
        if group is not None:
            sub = "all" if group.all is not None else "any"
            conditions = group.all or group.any or []
            refs = _bind_conditions(
                rule, (*where, name, sub), conditions, info, stations, zone, issues
            )
            extra[name] = (refs, group.all is not None)
    return Binding(index, rule, info, (), extra)


def _bind_conditions(
    rule: CompoundRule,
    loc: Loc,
    conditions: list[Condition],
    info: StationInfo,
    stations: dict[str, StationInfo],
    zone: ZoneInfo,
    issues: Issues,
) -> list[ConditionRef]:
    resolved: list[ConditionRef] = []
    for pos, condition in enumerate(conditions):
        ref = condition.station
        target: StationInfo | None
        if ref == "self":
            target = info
        elif ref.startswith("$"):
            linked = info.model.links.get(ref[1:])  # type: ignore[call-overload]
            target = stations.get(linked) if linked else None
            if target is None:
                issues.add(
                    (*loc, pos, "station"),
                    f"station {info.id!r} has no link {ref[1:]!r} "
                    f"(links: {', '.join(info.model.links) or 'none'}) "
                    f"(rule {rule.id!r})",
                )
                continue
        else:
            target = stations.get(ref)
            if target is None:
                issues.add(
                    (*loc, pos, "station"),
                    f"unknown station {ref!r} (rule {rule.id!r})" + suggest(ref, stations),
                )
                continue
        if condition.kind not in target.model.kinds:
            issues.add(
                (*loc, pos, "kind"),
                f"station {target.id!r} does not report {condition.kind!r} "
                f"(rule {rule.id!r}, station {info.id!r})",
            )
            continue
        bounds: dict[str, Threshold | None] = {"above": None, "below": None}
        for side in ("above", "below"):
            expr = getattr(condition, side)
            if expr is None:
                continue
            bounds[side] = resolve(expr, target, zone)
            if bounds[side] is None:
                issues.add(
                    (*loc, pos, side),
                    f"station {target.id!r} has no levels.{expr.attribute} "
                    f"(rule {rule.id!r}, station {info.id!r})",
                )
        resolved.append(ConditionRef(target, condition, bounds["above"], bounds["below"]))
    return resolved


def _attach(
    compiled: CompiledConfig,
    binding: Binding,
    rule: CompoundRule,
    series: dict[SeriesKey, Series],
) -> None:
    involved: list[Series] = []
    measures: list[str] = []

    def bind(refs: list[ConditionRef]) -> list[BoundCondition]:
        conditions = []
        for ref in refs:
            target_info, condition = ref.target, ref.condition
            target = series[(target_info.id, condition.kind)]
            source: LastValue | RateProbe | AccumProbe
            if condition.metric == "value":
                source = target.last
            elif condition.metric == "rate_of_rise":
                source = target.rate_probe(ms(condition.window))
            else:
                source = target.accum_probe(ms(condition.window), 0.1)
            max_age = ms(condition.max_age) or 3 * target_info.interval_ms
            label = f"{target_info.id}.{condition.kind}.{condition.metric}"
            bound = ref.above if ref.above is not None else ref.below
            assert bound is not None
            measure_kind, text = _condition_text(target_info, condition, bound.at(0))
            measures.append(measure_kind)
            conditions.append(BoundCondition(label, source, ref.above, ref.below, max_age, text))
            if target not in involved:
                involved.append(target)
        return conditions

    conditions = bind(binding.extra["conditions"])
    groups: dict[str, ConditionGroup] = {}
    for name in ("clear_when", "hold_while"):
        if name in binding.extra:
            refs, all_of = binding.extra[name]
            groups[name] = ConditionGroup(bind(refs), all_of)
    own = None if rule.advice is None else (rule.advice.zh, rule.advice.en)
    ctx = replace(
        context(
            compiled,
            binding,
            measures[0],
            own_advice=None if own is None else (Severity(rule.severity), own),
        ),
        levels=(Severity(rule.severity),),
        unit=UNITS.get(measures[0], ""),
    )
    instance = CompoundInstance(
        ctx,
        conditions,
        bool(binding.extra["all"]),
        ms(rule.for_),
        ms(rule.clear_for),
        (rule.name or "组合条件预警", rule.name_en or rule.description or "compound warning"),
        clear_when=groups.get("clear_when"),
        hold_while=groups.get("hold_while"),
    )
    for target in involved:
        target.dependents.append(instance)


UNITS = {"level": "m", "rain": "mm", "flow": "m³/s", "rate_of_rise": "m/h"}


def _condition_text(
    target: StationInfo, condition: Condition, bound: float
) -> tuple[str, ConditionText]:
    """(measure key, how the condition is said): named by the station's name,
    never by its id or a metric path."""
    model = target.model
    label = None
    if condition.metric == "rate_of_rise":
        key = "rate_of_rise"
    elif condition.metric == "accumulation":
        key = "rain"
        window = ms(condition.window)
        label = (f"{duration_zh(window)}累计雨量", f"{duration_en(window)} rainfall")
    else:
        key = condition.kind
    measure = MEASURES.get(key, MEASURES["level"])
    text = ConditionText(
        model.name, model.name_en or model.name, measure, condition.above is not None, bound, label
    )
    return key, text
