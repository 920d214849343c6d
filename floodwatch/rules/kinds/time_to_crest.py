"""The time-to-crest kind (`kind: time_to_crest`): binding, history, attach.

`method: trend` runs `CrestInstance` (a robust straight line, `crest.py`);
`water_balance` — or `auto` where the station gives its `structure` — runs
`WaterBalanceInstance` (`water_balance.py`) on the station's pond model
(`rules/pond.py`), reading its outlet's flow station and its catchment's rain
gauge. Both raise by minutes to crest and report overtopping (`CrestCore`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from floodwatch.alerts.state import Severity
from floodwatch.config.base import Model
from floodwatch.config.errors import Loc
from floodwatch.config.models import Advice, RuleBase, WarningSeverity
from floodwatch.config.values import Duration, ThresholdExpr
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
from floodwatch.rules.kind import BindContext, Issues, SeriesKey
from floodwatch.rules.kinds.crest import CrestInstance
from floodwatch.rules.kinds.water_balance import Nowcast, WaterBalanceInstance
from floodwatch.rules.pond import PondModel
from floodwatch.rules.thresholds import Threshold

if TYPE_CHECKING:
    from floodwatch.rules.build import Series


# -- its config model (given to the loader: config/config_types.py) ---------------


class CrestLevelSpec(Model):
    """A time-to-crest level: raise when the projected time is at most `enter`."""

    enter: Duration
    exit: Duration | None = None
    for_: Duration | None = Field(None, alias="for")
    clear_for: Duration | None = None
    advice: Advice | None = None


class WaterBalanceLines(Model):
    """A time-to-crest rule's own lines for where the water balance runs."""

    levels: dict[WarningSeverity, CrestLevelSpec] = Field(
        description="warning lines by minutes to crest for the water-balance forecast "
        "(a level without advice takes the same level's advice from the rule's levels)"
    )


class TimeToCrestRule(RuleBase):
    """Projected time until the level reaches `target` (default the dam crest)."""

    kind: Literal["time_to_crest"]
    target: ThresholdExpr = Field(default="crest", validate_default=True)
    window: Duration = timedelta(minutes=30)
    min_points: int = Field(4, ge=3)
    evaluate_above: ThresholdExpr | None = Field(
        None,
        description="only project while the level is at or above this (saves work "
        "on quiet days); default: always",
    )
    method: Literal["trend", "water_balance", "auto"] = Field(
        "trend",
        description="trend: a straight line through the recent levels; water_balance: "
        "the station's storage curve, spillway and outlets (its `structure`); auto: "
        "water_balance where the station has a structure, else trend",
    )
    horizon: Duration = Field(
        timedelta(hours=3), description="water_balance: how far ahead to project"
    )
    inflow_window: Duration = Field(
        timedelta(hours=1),
        description="water_balance: the recent levels the inflow and its trend are estimated from",
    )
    refresh: Duration = Field(
        timedelta(minutes=5),
        description="water_balance: the forecast is made afresh at most once per this much "
        "event time (on a gauge's first reading in each); overtopping is checked on every reading",
    )
    trend_for: Duration = Field(
        timedelta(hours=1),
        description="water_balance: how long the inflow's recent trend goes on in the "
        "projection before the inflow is held",
    )
    overtop_exit: float = Field(
        0.05,
        ge=0,
        description="m: at or above the target the rule reports overtopping (red); it ends "
        "once the level has fallen this far below the target",
    )
    levels: dict[WarningSeverity, CrestLevelSpec]
    water_balance: WaterBalanceLines | None = Field(
        None,
        description="where the water balance runs (method water_balance, or auto at a "
        "station with a structure): its own warning lines, set by its skill in a backtest; "
        "default: `levels`",
    )


class TimeToCrestKind:
    name = "time_to_crest"
    model = TimeToCrestRule

    def reads(self, rule: TimeToCrestRule) -> str:
        return "level"

    def bind(
        self, rule: TimeToCrestRule, index: int, info: StationInfo, ctx: BindContext
    ) -> Binding:
        return _bind(rule, index, info, ctx)

    def history(self, binding: Binding) -> Iterator[tuple[SeriesKey, int]]:
        rule = binding.rule
        assert isinstance(rule, TimeToCrestRule)
        window = ms(rule.window)
        if binding.extra["method"] == "water_balance":
            window = max(window, ms(rule.inflow_window))
            if binding.extra["rain"] is not None:
                gauge, nowcast_ms, *_ = binding.extra["rain"]
                yield (gauge.id, "rain"), nowcast_ms
        yield (binding.station.id, "level"), window

    def linked(self, binding: Binding) -> set[str]:
        """The flow station and rain gauge the water balance reads."""
        read = [binding.extra.get("measured"), (binding.extra.get("rain") or (None,))[0]]
        return {info.id for info in read if info is not None}

    def attach(
        self, compiled: CompiledConfig, binding: Binding, series: dict[SeriesKey, Series]
    ) -> None:
        rule = binding.rule
        assert isinstance(rule, TimeToCrestRule)
        target = series[(binding.station.id, "level")]
        assert target.ring is not None
        levels = (*(lb.severity for lb in binding.levels), Severity.RED)  # + overtopping
        ctx = context(compiled, binding, "time_to_crest", levels=levels)
        extra = binding.extra
        enter, exit_, for_ms, clear_ms, rising = threshold_args(binding, False)
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
        if extra["method"] != "water_balance":
            target.rules.append(CrestInstance(ring, window, points, *crest_args))
            return
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
            ms(rule.refresh),
            *crest_args,
        )
        target.rules.append(instance)


TIME_TO_CREST = TimeToCrestKind()


def _bind(rule: TimeToCrestRule, index: int, info: StationInfo, ctx: BindContext) -> Binding:
    zone, issues, stations = ctx.zone, ctx.issues, ctx.stations
    where = f"(rule {rule.id!r}, station {info.id!r})"
    target = resolve(rule.target, info, zone)
    if target is None:
        issues.add(
            ("rules", index, "target"),
            f"station {info.id!r} has no levels.{rule.target.attribute} {where}",
        )
    gate = None
    if rule.evaluate_above is not None:
        gate = resolve(rule.evaluate_above, info, zone)
        if gate is None:
            issues.add(
                ("rules", index, "evaluate_above"),
                f"station {info.id!r} has no levels.{rule.evaluate_above.attribute} {where}",
            )
    levels = _lines(rule, rule.levels, ("rules", index, "levels"), where, issues)
    balance_levels = None
    if rule.water_balance is not None:
        own = rule.water_balance.levels
        balance_levels = _lines(
            rule, own, ("rules", index, "water_balance", "levels"), where, issues, rule.levels
        )
    extra: dict[str, Any] = {
        "target": target,
        "gate": gate,
        "window_ms": ms(rule.window),
        "min_points": rule.min_points,
        "method": "trend",
    }
    structure = info.model.structure
    if rule.method == "water_balance" and structure is None:
        issues.add(
            ("rules", index, "method"),
            f"water_balance needs the station's structure (storage curve, spillway, "
            f"outlets) {where}",
        )
    elif rule.method != "trend" and structure is not None:
        _bind_pond(rule, index, info, stations, extra, issues)
    if extra["method"] == "water_balance" and balance_levels is not None:
        levels = balance_levels
    return Binding(index, rule, info, tuple(levels), extra)


def _lines(
    rule: TimeToCrestRule,
    specs: dict[Any, CrestLevelSpec],
    at: Loc,
    where: str,
    issues: Issues,
    fallback: dict[Any, CrestLevelSpec] | None = None,
) -> list[LevelBinding]:
    """The warning lines `specs` (at YAML path `at`) by minutes to crest, checked:
    each exit at least its enter, each level's enter shorter than the one below.
    A level without advice takes the advice of the same level in `fallback`."""
    levels: list[LevelBinding] = []
    previous: tuple[str, float] | None = None
    for name, spec in sorted_levels(specs):
        assert not isinstance(spec, str)
        minutes = ms(spec.enter) / 60_000
        exit_minutes = ms(spec.exit) / 60_000 if spec.exit else minutes
        loc: Loc = (*at, name)
        if exit_minutes < minutes:
            issues.add(
                (*loc, "exit"),
                f"must be at least enter ({minutes:g} min), got {exit_minutes:g} min {where}",
            )
        if previous is not None and minutes >= previous[1]:
            issues.add(
                (*loc, "enter"),
                f"must be shorter than {previous[0]} "
                f"({previous[1]:g} min), got {minutes:g} min {where}",
            )
        previous = (name, minutes)
        given = spec.advice
        if given is None and fallback is not None and name in fallback:
            given = fallback[name].advice
        advice = (given.zh, given.en) if given else None
        levels.append(
            LevelBinding(
                ORDER[name],
                Threshold(constant=minutes),
                Threshold(constant=exit_minutes),
                dwell_ms(spec.for_, rule.for_),
                dwell_ms(spec.clear_for, rule.clear_for),
                advice,
            )
        )
    return levels


def _bind_pond(
    rule: TimeToCrestRule,
    index: int,
    info: StationInfo,
    stations: dict[str, StationInfo],
    extra: dict[str, Any],
    issues: Issues,
) -> None:
    """The water-balance forecast's pond model and the flow station it reads."""
    where = f"(rule {rule.id!r}, station {info.id!r})"
    structure = info.model.structure
    assert structure is not None
    levels = info.model.levels
    spillway_crest = levels.spillway_crest if levels is not None else None
    spill = structure.spillway
    if (
        spill is not None
        and spill.rating is None
        and spill.crest is None
        and spillway_crest is None
    ):
        issues.add(
            ("rules", index, "method"),
            f"station {info.id!r}: the spillway needs a crest (structure.spillway.crest or "
            f"levels.spillway_crest) {where}",
        )
        return
    pond = PondModel.from_structure(structure, spillway_crest)
    crest = levels.crest if levels is not None else None
    top = pond.storage.x[-1]
    if crest is not None and top < crest:
        issues.add(
            ("rules", index, "method"),
            f"station {info.id!r}: the storage curve ends at {top:g}, below the crest "
            f"({crest:g}); extend it to the crest {where}",
        )
    measured = [o.measured_by for o in structure.outlets if o.measured_by is not None]
    extra["measured"] = None
    if measured:
        ref = measured[0]
        sid = info.model.links.get(ref[1:]) if ref.startswith("$") else ref  # type: ignore[call-overload]
        target = stations.get(sid) if sid else None
        if target is None or "flow" not in target.model.kinds:
            reports = "" if target is None else f" (it reports {', '.join(target.model.kinds)})"
            issues.add(
                ("rules", index, "method"),
                f"station {info.id!r}: structure.outlets measured_by {ref!r} is not a flow "
                f"station{reports} {where}",
            )
            return
        extra["measured"] = target
    extra["rain"] = None
    catchment = structure.catchment
    if catchment is not None:
        ref = catchment.rain_gauge
        sid = info.model.links.get(ref[1:]) if ref.startswith("$") else ref  # type: ignore[call-overload]
        gauge = stations.get(sid) if sid else None
        if gauge is None or "rain" not in gauge.model.kinds:
            issues.add(
                ("rules", index, "method"),
                f"station {info.id!r}: structure.catchment rain_gauge {ref!r} is not a rain "
                f"station {where}",
            )
            return
        to_flow = catchment.runoff_coefficient * catchment.area_km2 * 1e6 / 1000.0 / 3600.0
        extra["rain"] = (
            gauge,
            ms(catchment.nowcast_window),
            to_flow,
            ms(catchment.response),
            ms(catchment.nowcast_decay),
        )
    extra["method"] = "water_balance"
    extra["pond"] = pond
    extra["horizon_ms"] = ms(rule.horizon)
    extra["window_ms"] = ms(rule.inflow_window)
    extra["trend_ms"] = ms(rule.trend_for)
