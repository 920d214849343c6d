"""Compile validated config models into immutable runtime bindings.

Resolves every threshold against its station's attributes (seasonal values
included), parses durations to milliseconds, binds station links, and checks
everything that crosses models: ids unique, referenced stations, links and
attributes exist, rules watch stations that report what they need, and level
order holds per station. All problems are reported together.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from floodwatch.alerts.messages import MEASURES, Measure, Place
from floodwatch.alerts.state import Severity
from floodwatch.config.errors import ConfigError, ConfigIssue, Loc
from floodwatch.config.loader import LoadedConfig
from floodwatch.config.models import (
    CompoundRule,
    Condition,
    Config,
    FreeboardRule,
    LevelRule,
    RainfallRule,
    RateOfRiseRule,
    SensorHealthRule,
    Station,
    TimeToCrestRule,
)
from floodwatch.config.values import Expr, parse_duration, parse_season
from floodwatch.readings import UNITS
from floodwatch.rules.thresholds import Seasonal, Threshold

ORDER = {s.value: s for s in Severity if s is not Severity.INFO}
RULE_UNITS = {"freeboard": "m", "rate_of_rise": "m/h", "time_to_crest": "min"}


def ms(value: timedelta | None) -> int:
    return 0 if value is None else int(value.total_seconds() * 1000)


@dataclass(frozen=True)
class StationInfo:
    id: str
    model: Station
    place: Place
    interval_ms: int


@dataclass(frozen=True)
class LevelBinding:
    """One resolved warning level of a threshold rule at one station."""

    severity: Severity
    enter: Threshold
    exit: Threshold
    for_ms: int
    clear_ms: int
    advice: tuple[str, str] | None


@dataclass(frozen=True)
class Binding:
    """One rule bound to one station, everything resolved."""

    rule_index: int
    rule: object
    station: StationInfo
    levels: tuple[LevelBinding, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CompiledConfig:
    config: Config
    stations: dict[str, StationInfo]
    bindings: tuple[Binding, ...]
    zone: ZoneInfo
    lateness_ms: int
    max_future_ms: int
    exercise: bool

    def measure(self, kind: str) -> Measure:
        return MEASURES[kind]

    def subset(self, stations: Iterable[str]) -> CompiledConfig:
        """The same config watching only `stations` (a Kafka partition's share).
        A compound rule's stations must all be in or all out: see
        `floodwatch.ingest.partition`, which keys linked stations together."""
        keep = set(stations)
        return replace(
            self,
            stations={sid: info for sid, info in self.stations.items() if sid in keep},
            bindings=tuple(b for b in self.bindings if b.station.id in keep),
        )

    def linked(self) -> list[set[str]]:
        """Sets of stations that rules evaluate together (a pond and its outlet gauge)."""
        groups = []
        for b in self.bindings:
            if "conditions" not in b.extra:
                continue
            refs = list(b.extra["conditions"])
            for name in ("clear_when", "hold_while"):
                if name in b.extra:
                    refs.extend(b.extra[name][0])
            groups.append({b.station.id, *(ref.target.id for ref in refs)})
        for b in self.bindings:  # the water-balance forecast's flow and rain stations
            read = [b.extra.get("measured"), (b.extra.get("rain") or (None,))[0]]
            if any(info is not None for info in read):
                groups.append({b.station.id, *(info.id for info in read if info is not None)})
        return groups

    def longest_hold_ms(self) -> int:
        """The longest dwell (for / clear_for) of any level or compound rule."""
        holds = [0]
        for b in self.bindings:
            holds.extend(max(lv.for_ms, lv.clear_ms) for lv in b.levels)
            for name in ("for_", "clear_for"):
                value = getattr(b.rule, name, None)
                if isinstance(value, timedelta):
                    holds.append(ms(value))
        return max(holds)


class _Issues:
    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self.items: list[ConfigIssue] = []

    def add(self, loc: Loc, message: str) -> None:
        self.items.append(self.loaded.issue(loc, message))


def compile_config(loaded: LoadedConfig) -> CompiledConfig:
    """Bind and check a loaded config; raise ConfigError listing every problem."""
    config = loaded.config
    issues = _Issues(loaded)
    try:
        zone = ZoneInfo(config.engine.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
        issues.add(
            ("engine", "timezone"),
            f"unknown time zone {config.engine.timezone!r}; use an IANA name such as "
            "'Asia/Shanghai'",
        )
    stations: dict[str, StationInfo] = {}
    for index, station in enumerate(config.stations):
        if station.id in stations:
            issues.add(("stations", index, "id"), f"duplicate station id {station.id!r}")
            continue
        village = station.village
        place = Place(
            station.name,
            station.name_en or station.name,
            village.name if village else None,
            village.name_en if village else None,
        )
        stations[station.id] = StationInfo(station.id, station, place, ms(station.interval))
    for index, station in enumerate(config.stations):
        for link, target in station.links.items():
            if target not in stations:
                issues.add(
                    ("stations", index, "links", link),
                    f"links to unknown station {target!r} (station {station.id!r})"
                    + _suggest(target, stations),
                )
    for g, group in enumerate(config.engine.incidents.groups):
        for j, sid in enumerate(group):
            if sid not in stations:
                issues.add(
                    ("engine", "incidents", "groups", g, j),
                    f"unknown station {sid!r} in an incident group" + _suggest(sid, stations),
                )
    from floodwatch.ingest.gateways import check as check_gateways
    from floodwatch.notify.rosters import check as check_rosters

    for loc, message in check_rosters(config):
        issues.add(loc, message)
    for loc, message in check_gateways(config):
        issues.add(loc, message)
    for loc, message in _check_templates(loaded):
        issues.add(loc, message)
    bindings: list[Binding] = []
    seen_rules: set[str] = set()
    for index, rule in enumerate(config.rules):
        if rule.id in seen_rules:
            issues.add(("rules", index, "id"), f"duplicate rule id {rule.id!r}")
            continue
        seen_rules.add(rule.id)
        if not rule.enabled:
            continue
        for info in _select(rule, index, stations, issues):
            binding = _bind(rule, index, info, stations, zone, issues)
            if binding is not None:
                bindings.append(binding)
    if issues.items:
        raise ConfigError(issues.items)
    return CompiledConfig(
        config=config,
        stations=stations,
        bindings=tuple(bindings),
        zone=zone,
        lateness_ms=ms(config.engine.allowed_lateness),
        max_future_ms=ms(config.engine.max_future),
        exercise=config.engine.exercise,
    )


def _check_templates(loaded: LoadedConfig) -> Iterator[tuple[Loc, str]]:
    """SMS templates parse (relative paths: next to the file with `service:`)."""
    notify = loaded.config.service.notify
    if notify is None or loaded.service_origin is None:
        return
    from floodwatch.notify.sms import template_problem

    base = loaded.service_origin.file.parent
    for name, dest in notify.destinations.items():
        if dest.type == "sms" and dest.template is not None:
            problem = template_problem(dest.template, base)
            if problem is not None:
                yield ("service", "notify", "destinations", name, "template"), problem


def _suggest(name: str, known: dict[str, StationInfo]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" — did you mean {close[0]!r}?" if close else ""


def _select(
    rule: object, index: int, stations: dict[str, StationInfo], issues: _Issues
) -> Iterator[StationInfo]:
    ids = getattr(rule, "stations", None) or []
    types = getattr(rule, "station_types", None) or []
    chosen: dict[str, StationInfo] = {}
    for pos, sid in enumerate(ids):
        if sid not in stations:
            issues.add(
                ("rules", index, "stations", pos),
                f"unknown station {sid!r} (rule {getattr(rule, 'id', '?')!r})"
                + _suggest(sid, stations),
            )
        else:
            chosen[sid] = stations[sid]
    for info in stations.values():
        if info.model.type in types:
            chosen.setdefault(info.id, info)
    yield from chosen.values()


def _needs(rule: object) -> str | None:
    if isinstance(rule, LevelRule | RateOfRiseRule):
        return rule.of
    if isinstance(rule, FreeboardRule | TimeToCrestRule):
        return "level"
    if isinstance(rule, RainfallRule):
        return "rain"
    return None


def _bind(
    rule: object,
    index: int,
    info: StationInfo,
    stations: dict[str, StationInfo],
    zone: ZoneInfo,
    issues: _Issues,
) -> Binding | None:
    rule_id = getattr(rule, "id", "?")
    where = f"(rule {rule_id!r}, station {info.id!r})"
    needs = _needs(rule)
    if needs is not None and needs not in info.model.kinds:
        issues.add(
            ("rules", index),
            f"station {info.id!r} does not report {needs!r} (it reports "
            f"{', '.join(info.model.kinds)}) {where}",
        )
        return None
    before = len(issues.items)
    if isinstance(rule, LevelRule | FreeboardRule | RateOfRiseRule):
        rising = not isinstance(rule, FreeboardRule)
        levels = _threshold_levels(rule, index, info, zone, rising, rule.hysteresis, issues)
        extra: dict[str, object] = {}
        if isinstance(rule, FreeboardRule):
            crest = _resolve(Expr("crest", 0.0), info, zone)
            if crest is None:
                issues.add(("rules", index), f"freeboard needs the station's levels.crest {where}")
            extra["crest"] = crest
        if isinstance(rule, RateOfRiseRule):
            extra["window_ms"] = ms(rule.window)
        binding = Binding(index, rule, info, tuple(levels), extra)
    elif isinstance(rule, TimeToCrestRule):
        binding = _bind_crest(rule, index, info, stations, zone, issues)
    elif isinstance(rule, RainfallRule):
        binding = _bind_rain(rule, index, info, issues)
    elif isinstance(rule, CompoundRule):
        binding = _bind_compound(rule, index, info, stations, zone, issues)
    elif isinstance(rule, SensorHealthRule):
        binding = Binding(index, rule, info)
    else:  # pragma: no cover - the discriminated union lists every kind
        raise TypeError(f"no compiler for rule {rule!r}")
    return binding if len(issues.items) == before else None


def _resolve(expr: Expr, info: StationInfo, zone: ZoneInfo) -> Threshold | None:
    if expr.attribute is None:
        return Threshold(constant=expr.offset)
    levels = info.model.levels
    raw = getattr(levels, expr.attribute, None) if levels is not None else None
    if raw is None:
        return None
    if isinstance(raw, dict):
        seasons = tuple(
            (parse_season(key), value) for key, value in raw.items() if key != "default"
        )
        return Threshold(seasonal=Seasonal(seasons, raw["default"]), offset=expr.offset, zone=zone)
    return Threshold(constant=float(raw) + expr.offset)


def _sorted_levels(levels: Any) -> list[tuple[str, Any]]:
    return sorted(levels.items(), key=lambda item: ORDER[item[0]].rank)


def _threshold_levels(
    rule: LevelRule | FreeboardRule | RateOfRiseRule,
    index: int,
    info: StationInfo,
    zone: ZoneInfo,
    rising: bool,
    hysteresis: float,
    issues: _Issues,
) -> list[LevelBinding]:
    where = f"(rule {rule.id!r}, station {info.id!r})"
    out: list[LevelBinding] = []
    previous: tuple[str, float] | None = None
    for name, spec in _sorted_levels(rule.levels):
        assert not isinstance(spec, str)
        loc: Loc = ("rules", index, "levels", name)
        enter = _resolve(spec.enter, info, zone)
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
            resolved = _resolve(exit_expr, info, zone)
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
                ms(spec.for_ or rule.for_),
                ms(spec.clear_for or rule.clear_for),
                advice,
            )
        )
    return out


def _bind_crest(
    rule: TimeToCrestRule,
    index: int,
    info: StationInfo,
    stations: dict[str, StationInfo],
    zone: ZoneInfo,
    issues: _Issues,
) -> Binding:
    where = f"(rule {rule.id!r}, station {info.id!r})"
    target = _resolve(rule.target, info, zone)
    if target is None:
        issues.add(
            ("rules", index, "target"),
            f"station {info.id!r} has no levels.{rule.target.attribute} {where}",
        )
    gate = None
    if rule.evaluate_above is not None:
        gate = _resolve(rule.evaluate_above, info, zone)
        if gate is None:
            issues.add(
                ("rules", index, "evaluate_above"),
                f"station {info.id!r} has no levels.{rule.evaluate_above.attribute} {where}",
            )
    levels: list[LevelBinding] = []
    previous: tuple[str, float] | None = None
    for name, spec in _sorted_levels(rule.levels):
        assert not isinstance(spec, str)
        minutes = ms(spec.enter) / 60_000
        exit_minutes = ms(spec.exit) / 60_000 if spec.exit else minutes
        loc: Loc = ("rules", index, "levels", name)
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
        advice = (spec.advice.zh, spec.advice.en) if spec.advice else None
        levels.append(
            LevelBinding(
                ORDER[name],
                Threshold(constant=minutes),
                Threshold(constant=exit_minutes),
                ms(spec.for_ or rule.for_),
                ms(spec.clear_for or rule.clear_for),
                advice,
            )
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
    return Binding(index, rule, info, tuple(levels), extra)


def _bind_pond(
    rule: TimeToCrestRule,
    index: int,
    info: StationInfo,
    stations: dict[str, StationInfo],
    extra: dict[str, Any],
    issues: _Issues,
) -> None:
    """The water-balance forecast's pond model and the flow station it reads."""
    from floodwatch.rules.pond import PondModel

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


def _bind_rain(rule: RainfallRule, index: int, info: StationInfo, issues: _Issues) -> Binding:
    where = f"(rule {rule.id!r}, station {info.id!r})"
    previous: dict[str, tuple[str, float]] = {}
    for name, spec in _sorted_levels(rule.levels):
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


@dataclass(frozen=True)
class ConditionRef:
    """One condition of a compound rule bound to the station it reads, its
    bound resolved against that station (e.g. `above: flood_limit`)."""

    target: StationInfo
    condition: Condition
    above: Threshold | None
    below: Threshold | None


def _bind_compound(
    rule: CompoundRule,
    index: int,
    info: StationInfo,
    stations: dict[str, StationInfo],
    zone: ZoneInfo,
    issues: _Issues,
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
    issues: _Issues,
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
                    f"unknown station {ref!r} (rule {rule.id!r})" + _suggest(ref, stations),
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
            bounds[side] = _resolve(expr, target, zone)
            if bounds[side] is None:
                issues.add(
                    (*loc, pos, side),
                    f"station {target.id!r} has no levels.{expr.attribute} "
                    f"(rule {rule.id!r}, station {info.id!r})",
                )
        resolved.append(ConditionRef(target, condition, bounds["above"], bounds["below"]))
    return resolved


def window_ms(text: str) -> int:
    return ms(parse_duration(text))


def unit_of(kind: str, rule_kind: str) -> str:
    return RULE_UNITS.get(rule_kind, UNITS.get(kind, ""))
