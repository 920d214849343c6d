"""Build fresh runtime state (series, probes, rule instances) from bindings."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from floodwatch.alerts.messages import (
    MEASURES,
    RAIN_ADVICE,
    ConditionText,
    duration_en,
    duration_zh,
)
from floodwatch.alerts.state import EvacuationStage, Severity
from floodwatch.config.models import (
    CompoundRule,
    Condition,
    FreeboardRule,
    LevelRule,
    RainfallRule,
    RateOfRiseRule,
    SensorHealthRule,
    TimeToCrestRule,
)
from floodwatch.rules.base import AlertTracker, RuleContext, RuleInstance
from floodwatch.rules.compile import (
    Binding,
    CompiledConfig,
    ConditionRef,
    StationInfo,
    ms,
    unit_of,
    window_ms,
)
from floodwatch.rules.kinds.compound import (
    BoundCondition,
    CompoundInstance,
    ConditionGroup,
    LastValue,
)
from floodwatch.rules.kinds.crest import CrestInstance
from floodwatch.rules.kinds.health import CHECKS, Health, Limits
from floodwatch.rules.kinds.rainfall import RainfallInstance
from floodwatch.rules.kinds.threshold import FreeboardInstance, LevelInstance, RateInstance
from floodwatch.rules.kinds.water_balance import Nowcast, WaterBalanceInstance
from floodwatch.rules.store import Column, bind_rows
from floodwatch.rules.thresholds import Threshold
from floodwatch.rules.windows import AccumProbe, RateProbe, Ring

RING_SLACK = 1.25


@dataclass(eq=False, slots=True)
class Series:
    """Runtime state of one (station, kind) stream of readings."""

    order: int
    station: StationInfo
    kind: str
    last: LastValue = field(default_factory=LastValue)
    ring: Ring | None = None
    window_ms: int = 0
    probes: list[RateProbe | AccumProbe] = field(default_factory=list)
    rules: list[RuleInstance] = field(default_factory=list)
    dependents: list[RuleInstance] = field(default_factory=list)
    health: Health | None = None
    stale_ms: int = 0
    stale: bool = False
    in_heap: bool = False
    _rate: dict[int, RateProbe] = field(default_factory=dict)
    _accum: dict[tuple[int, float], AccumProbe] = field(default_factory=dict)
    _cols: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # the store's row
    _i: int = 0

    # Row `order` of the store's series table (see `Store`).
    last_ts = Column[int]("last_ts")  # event time of the latest reading released, good or bad
    last_raw = Column[float]("last_raw")  # its value: an exact duplicate or a conflict
    expected_from = Column[int]("expected_from")  # when the engine started expecting reports

    def bind(self, cols: dict[str, np.ndarray]) -> None:
        """Point this series and its row-sharing state at the store's series table."""
        bind_rows(
            self, self.last, *([self.health] if self.health else []), cols=cols, row=self.order
        )

    def rate_probes(self) -> list[RateProbe]:
        return list(self._rate.values())

    def accum_probes(self) -> list[AccumProbe]:
        return list(self._accum.values())

    def need_window(self, window: int) -> None:
        self.window_ms = max(self.window_ms, window)

    def rate_probe(self, window: int) -> RateProbe:
        assert self.ring is not None
        if window not in self._rate:
            self._rate[window] = RateProbe(self.ring, window)
            self.probes.append(self._rate[window])
        return self._rate[window]

    def accum_probe(self, window: int, tolerance: float) -> AccumProbe:
        assert self.ring is not None
        key = (window, tolerance)
        if key not in self._accum:
            probe = AccumProbe(self.ring, window, self.station.interval_ms, tolerance)
            self._accum[key] = probe
            self.probes.append(probe)
        return self._accum[key]


def _context(
    compiled: CompiledConfig,
    binding: Binding,
    measure_kind: str,
    suffix: str = "",
    levels: tuple[Severity, ...] | None = None,
) -> RuleContext:
    rule = binding.rule
    kind = getattr(rule, "kind", "?")
    advice = {lb.severity: lb.advice for lb in binding.levels if lb.advice is not None}
    rule_advice = getattr(rule, "advice", None)
    if isinstance(rule, CompoundRule) and rule_advice is not None:
        advice[Severity(rule.severity)] = (rule_advice.zh, rule_advice.en)
    if levels is None:
        levels = tuple(lb.severity for lb in binding.levels)
    # Thousands of stations share a rule: share its strings, tuples and dicts too.
    return RuleContext(
        rule=sys.intern(getattr(rule, "id", "?") + suffix),
        kind=kind,
        station=binding.station.id,
        place=binding.station.place,
        measure=MEASURES[measure_kind],
        unit=unit_of(measure_kind, kind),
        levels=_shared(levels),
        exercise=compiled.exercise,
        advice=_shared_dict(advice),
    )


_SHARED: dict[object, object] = {}


def _shared(value: tuple[Severity, ...]) -> tuple[Severity, ...]:
    return _SHARED.setdefault(value, value)  # type: ignore[return-value]


def _shared_dict(
    value: dict[Severity, tuple[str, str]],
) -> dict[Severity, tuple[str, str]]:
    key = ("dict", *sorted(value.items()))
    return _SHARED.setdefault(key, value)  # type: ignore[return-value]


def build_series(compiled: CompiledConfig) -> dict[tuple[str, str], Series]:
    """Fresh series for every station and kind, with rule instances attached."""
    series: dict[tuple[str, str], Series] = {}
    for info in compiled.stations.values():
        for kind in info.model.kinds:
            series[(info.id, kind)] = Series(len(series), info, kind)
    # First pass: how much history each series must keep.
    for binding in compiled.bindings:
        rule = binding.rule
        sid = binding.station.id
        if isinstance(rule, RateOfRiseRule | TimeToCrestRule):
            kind = rule.of if isinstance(rule, RateOfRiseRule) else "level"
            window = ms(rule.window)
            if binding.extra.get("method") == "water_balance":
                window = max(window, ms(rule.inflow_window))  # type: ignore[union-attr]
                if binding.extra["rain"] is not None:
                    gauge, nowcast_ms, *_ = binding.extra["rain"]
                    series[(gauge.id, "rain")].need_window(nowcast_ms)
            series[(sid, kind)].need_window(window)
        elif isinstance(rule, RainfallRule):
            longest = max(window_ms(w) for lvl in rule.levels.values() for w in lvl.within)
            series[(sid, "rain")].need_window(longest)
        elif isinstance(rule, CompoundRule):
            refs: list[ConditionRef] = list(binding.extra["conditions"])
            for name in ("clear_when", "hold_while"):
                if name in binding.extra:
                    refs.extend(binding.extra[name][0])
            for ref in refs:
                if ref.condition.window is not None:
                    target = series[(ref.target.id, ref.condition.kind)]
                    target.need_window(ms(ref.condition.window))
    for s in series.values():
        if s.window_ms:
            s.ring = Ring(math.ceil(s.window_ms / s.station.interval_ms * RING_SLACK) + 4)
    for binding in compiled.bindings:
        _attach(compiled, binding, series)
    for s in series.values():
        if s.health is None:
            limits = s.station.model.limits.get(s.kind)  # type: ignore[call-overload]
            if limits is not None or s.kind == "rain":
                s.health = Health(_limits(s.kind, limits), s.station.interval_ms, MEASURES[s.kind])
    return series


def _limits(kind: str, limits: Any) -> Limits:
    """A station's declared limits; rain can never be negative."""
    low = limits.min if limits is not None else None
    if kind == "rain":
        low = 0.0 if low is None else max(0.0, low)
    return Limits(
        low,
        limits.max if limits is not None else None,
        limits.max_step if limits is not None else None,
    )


def _threshold_args(
    binding: Binding, rising: bool
) -> tuple[list[Threshold], list[Threshold], list[int], list[int], bool]:
    return (
        [lb.enter for lb in binding.levels],
        [lb.exit for lb in binding.levels],
        [lb.for_ms for lb in binding.levels],
        [lb.clear_ms for lb in binding.levels],
        rising,
    )


def _attach(
    compiled: CompiledConfig, binding: Binding, series: dict[tuple[str, str], Series]
) -> None:
    rule = binding.rule
    sid = binding.station.id
    instance: RuleInstance
    if isinstance(rule, LevelRule):
        ctx = _context(compiled, binding, rule.of)
        instance = LevelInstance(ctx, *_threshold_args(binding, True))
        series[(sid, rule.of)].rules.append(instance)
    elif isinstance(rule, FreeboardRule):
        ctx = _context(compiled, binding, "freeboard")
        instance = FreeboardInstance(binding.extra["crest"], ctx, *_threshold_args(binding, False))
        series[(sid, "level")].rules.append(instance)
    elif isinstance(rule, RateOfRiseRule):
        target = series[(sid, rule.of)]
        probe = target.rate_probe(ms(rule.window))
        ctx = _context(compiled, binding, "rate_of_rise")
        instance = RateInstance(probe, ctx, *_threshold_args(binding, True))
        target.rules.append(instance)
    elif isinstance(rule, TimeToCrestRule):
        target = series[(sid, "level")]
        assert target.ring is not None
        levels = (*(lb.severity for lb in binding.levels), Severity.RED)  # + overtopping
        ctx = _context(compiled, binding, "time_to_crest", levels=levels)
        extra = binding.extra
        enter, exit_, for_ms, clear_ms, rising = _threshold_args(binding, False)
        crest_args = (
            extra["target"],
            extra["gate"],
            rule.overtop_exit,
            ctx,
            enter,
            exit_,
            [*for_ms, 0],
            [*clear_ms, ms(rule.clear_for)],
            rising,
        )
        ring, window, points = target.ring, extra["window_ms"], extra["min_points"]
        if extra["method"] == "water_balance":
            measured = extra["measured"]
            last = series[(measured.id, "flow")].last if measured is not None else None
            age = 3 * measured.interval_ms if measured is not None else 0
            nowcast = None
            if extra["rain"] is not None:
                gauge, nowcast_ms, to_flow, response_ms, decay_ms = extra["rain"]
                rain = series[(gauge.id, "rain")].accum_probe(nowcast_ms, 0.1)
                nowcast = Nowcast(rain, 3 * gauge.interval_ms, to_flow, response_ms, decay_ms)
            instance = WaterBalanceInstance(
                ring,
                window,
                points,
                extra["pond"],
                last,
                age,
                extra["horizon_ms"],
                extra["trend_ms"],
                nowcast,
                *crest_args,
            )
        else:
            instance = CrestInstance(ring, window, points, *crest_args)
        target.rules.append(instance)
    elif isinstance(rule, RainfallRule):
        _attach_rain(compiled, binding, rule, series[(sid, "rain")])
    elif isinstance(rule, CompoundRule):
        _attach_compound(compiled, binding, rule, series)
    elif isinstance(rule, SensorHealthRule):
        _attach_health(compiled, binding, rule, series)


def _attach_rain(
    compiled: CompiledConfig, binding: Binding, rule: RainfallRule, target: Series
) -> None:
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
        _context(compiled, binding, "rain"),
        levels=tuple(Severity(name) for name, _ in order),
        advice=advice,
    )
    stages: list[EvacuationStage | None] = [spec.stage for _, spec in order]
    instance = RainfallInstance(
        ctx,
        probes,
        levels,
        stages,
        [ms(spec.for_ or rule.for_) for _, spec in order],
        [ms(spec.clear_for or rule.clear_for) for _, spec in order],
    )
    target.rules.append(instance)


def _attach_compound(
    compiled: CompiledConfig,
    binding: Binding,
    rule: CompoundRule,
    series: dict[tuple[str, str], Series],
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
    ctx = replace(
        _context(compiled, binding, measures[0]),
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


def _attach_health(
    compiled: CompiledConfig,
    binding: Binding,
    rule: SensorHealthRule,
    series: dict[tuple[str, str], Series],
) -> None:
    info = binding.station
    for kind in info.model.kinds:
        target = series[(info.id, kind)]
        trackers = {}
        for check in CHECKS:
            ctx = _context(compiled, binding, kind, f"/{check}", (Severity.INFO,))
            trackers[check] = AlertTracker(ctx)
        limits = info.model.limits.get(kind)
        stuck = ms(rule.stuck_for) if rule.stuck_for and kind in rule.stuck_kinds else None
        target.health = Health(
            _limits(kind, limits),
            info.interval_ms,
            MEASURES[kind],
            stuck,
            trackers,
        )
        target.stale_ms = int(rule.stale_after * info.interval_ms)
