"""Compile validated config models into immutable runtime bindings.

Resolves every threshold against its station's attributes (seasonal values
included), parses durations to milliseconds, binds station links, and checks
everything that crosses models: ids unique, referenced stations, links and
attributes exist, rules watch stations that report what they need, and level
order holds per station. All problems are reported together. What a rule
needs and how it binds is its kind's business (`rules/kind.py`, one module per
kind, registered in `rules/registry.py`); this module holds what they share.
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
from floodwatch.config.gateways import check as check_gateways
from floodwatch.config.loader import LoadedConfig
from floodwatch.config.models import (
    Config,
    Station,
)
from floodwatch.config.rosters import check as check_rosters
from floodwatch.config.values import Expr, parse_duration, parse_season
from floodwatch.readings import UNITS
from floodwatch.rules.thresholds import Seasonal, Threshold

ORDER = {s.value: s for s in Severity if s is not Severity.INFO}
RULE_UNITS = {"freeboard": "m", "rate_of_rise": "m/h", "time_to_crest": "min"}


def ms(value: timedelta | None) -> int:
    return 0 if value is None else int(value.total_seconds() * 1000)


def dwell_ms(own: timedelta | None, default: timedelta | None) -> int:
    """A level's dwell (`for`, `clear_for`): its own when given — `0s` too, which
    means "at once" — else the rule's default."""
    return ms(default if own is None else own)


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
        from floodwatch.rules.registry import KINDS

        groups = []
        for b in self.bindings:
            others = KINDS[getattr(b.rule, "kind", "?")].linked(b)
            if others:
                groups.append({b.station.id, *others})
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
    stations = _stations(config, issues)
    _check_station_refs(config, stations, issues)
    for loc, message in check_rosters(config):
        issues.add(loc, message)
    for loc, message in check_gateways(config):
        issues.add(loc, message)
    for loc, message in loaded.template_problems:  # read by the loader
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


def _stations(config: Config, issues: _Issues) -> dict[str, StationInfo]:
    """Each station once by id, its SL 651 address unique; duplicates are issues."""
    stations: dict[str, StationInfo] = {}
    rtus: dict[str, str] = {}  # SL 651 address -> station
    for index, station in enumerate(config.stations):
        if station.id in stations:
            issues.add(("stations", index, "id"), f"duplicate station id {station.id!r}")
            continue
        if station.sl651 is not None:
            other = rtus.setdefault(station.sl651.address, station.id)
            if other != station.id:
                issues.add(
                    ("stations", index, "sl651", "address"),
                    f"SL 651 address {station.sl651.address} is already used by station {other!r}",
                )
        village = station.village
        place = Place(
            station.name,
            station.name_en or station.name,
            village.name if village else None,
            village.name_en if village else None,
        )
        stations[station.id] = StationInfo(station.id, station, place, ms(station.interval))
    return stations


def _check_station_refs(config: Config, stations: dict[str, StationInfo], issues: _Issues) -> None:
    """Links and incident groups name known stations."""
    for index, station in enumerate(config.stations):
        for link, target in station.links.items():
            if target not in stations:
                issues.add(
                    ("stations", index, "links", link),
                    f"links to unknown station {target!r} (station {station.id!r})"
                    + suggest(target, stations),
                )
    for g, group in enumerate(config.engine.incidents.groups):
        for j, sid in enumerate(group):
            if sid not in stations:
                issues.add(
                    ("engine", "incidents", "groups", g, j),
                    f"unknown station {sid!r} in an incident group" + suggest(sid, stations),
                )


def suggest(name: str, known: dict[str, StationInfo]) -> str:
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
                + suggest(sid, stations),
            )
        else:
            chosen[sid] = stations[sid]
    for info in stations.values():
        if info.model.type in types:
            chosen.setdefault(info.id, info)
    yield from chosen.values()


def _bind(
    rule: object,
    index: int,
    info: StationInfo,
    stations: dict[str, StationInfo],
    zone: ZoneInfo,
    issues: _Issues,
) -> Binding | None:
    """One rule at one station, bound by its kind (`rules/registry.py`)."""
    from floodwatch.rules.kind import BindContext
    from floodwatch.rules.registry import KINDS

    kind = KINDS[getattr(rule, "kind", "?")]
    rule_id = getattr(rule, "id", "?")
    where = f"(rule {rule_id!r}, station {info.id!r})"
    needs = kind.reads(rule)
    if needs is not None and needs not in info.model.kinds:
        issues.add(
            ("rules", index),
            f"station {info.id!r} does not report {needs!r} (it reports "
            f"{', '.join(info.model.kinds)}) {where}",
        )
        return None
    before = len(issues.items)
    binding = kind.bind(rule, index, info, BindContext(stations, zone, issues))
    return binding if len(issues.items) == before else None


def resolve(expr: Expr, info: StationInfo, zone: ZoneInfo) -> Threshold | None:
    """`expr` against the station's levels (None: the station lacks the attribute)."""
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


def sorted_levels(levels: Any) -> list[tuple[str, Any]]:
    """A rule's levels, lowest severity first."""
    return sorted(levels.items(), key=lambda item: ORDER[item[0]].rank)


def window_ms(text: str) -> int:
    return ms(parse_duration(text))


def unit_of(kind: str, rule_kind: str) -> str:
    return RULE_UNITS.get(rule_kind, UNITS.get(kind, ""))
