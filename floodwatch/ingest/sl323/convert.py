"""SL 323 rows → station YAML (pure: rows in, station dicts and problems out).

- ST_STBPRP_B: `id` STCD, `name` STNM, `type` from STTP (PP rain gauge, RR
  reservoir — a pond (山塘) when its total storage TTCP is under 0.1 × 10⁶ m³,
  ZZ/ZQ/DD/TT river), `location` LGTD/LTTD, `village` (12 or 15 digits) or
  `town` (9 digits) from ADDVCD, named by the station's address STLC.
- ST_RSVRFCCH_B: `levels.crest` DAMEL, `check_flood` CKFLZ, `design_flood`
  DSFLZ, `flood_limit` FSLTDZ.
- ST_RSVRFSR_B: seasonal `flood_limit` from BGMD/EDMD/FSLTDZ; the days outside
  the seasons take FSLTDZ of ST_RSVRFCCH_B, or else the lowest seasonal value
  (fail closed: the lower line warns earlier).
- ST_ZVARL_B: `structure.storage` from RZ (m) and W (10⁶ m³, written in m³),
  the latest survey (MSTM) in point order (PTNO).
- ST_RVFCCH_B: `levels.warning` WRZ and `levels.guarantee` GRZ.

Every station is validated with the config's own model: a station whose levels
are inconsistent (e.g. crest below the flood-limit level) is left out — its
warning lines cannot be trusted; a bad storage curve or coordinates are dropped
and the station kept. Each problem names its table and STCD.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from floodwatch.config.models import Station
from floodwatch.config.values import ID_PATTERN
from floodwatch.ingest.sl323.tables import (
    CURVES,
    RESERVOIRS,
    RIVERS,
    SEASONS,
    STATIONS,
    Row,
    Tables,
)

TYPES = {
    "PP": "rain_gauge",  # 雨量站
    "RR": "reservoir",  # 水库水文站
    "ZZ": "river",  # 河道水位站
    "ZQ": "river",  # 河道水文站
    "DD": "river",  # 堰闸水文站 (the level above the gate)
    "TT": "river",  # 潮位站
}
POND_STORAGE = 0.1  # 10⁶ m³: below this total storage a reservoir is a pond (山塘)
OPTIONAL_PARTS = ("structure", "location", "village", "town")


@dataclass(frozen=True)
class Problem:
    stcd: str
    table: str
    message: str
    skipped: bool = False  # the station is not in the output

    def __str__(self) -> str:
        tail = " — station left out" if self.skipped else ""
        return f"{self.table} STCD {self.stcd}: {self.message}{tail}"


@dataclass
class Imported:
    stations: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def skipped(self) -> list[Problem]:
        return [p for p in self.problems if p.skipped]


def number(row: Row, column: str) -> float | None:
    """The column as a float, None when empty; ValueError names the column."""
    value = row.get(column)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{column} is not a number: {value!r}") from None


def convert(tables: Tables) -> Imported:
    out = Imported()
    by_table = {
        name: _by_station(tables.rows.get(name, []), name, out)
        for name in (RESERVOIRS, SEASONS, CURVES, RIVERS)
    }
    seen: set[str] = set()
    for row in tables.rows[STATIONS]:
        stcd = row.get("STCD")
        if stcd is None:
            out.problems.append(Problem("?", STATIONS, f"a row without STCD: {row}", True))
            continue
        stcd = str(stcd)
        if stcd in seen:
            out.problems.append(
                Problem(stcd, STATIONS, "duplicate STCD: the first row is taken", False)
            )
            continue
        seen.add(stcd)
        station = _station(stcd, row, {t: rows.get(stcd, []) for t, rows in by_table.items()}, out)
        if station is not None:
            out.stations.append(station)
    for table, rows in by_table.items():
        for stcd in sorted(set(rows) - seen):
            out.problems.append(
                Problem(stcd, table, f"no station {stcd!r} in {STATIONS}: rows ignored")
            )
    return out


def _by_station(rows: list[Row], table: str, out: Imported) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.get("STCD") is None:
            out.problems.append(Problem("?", table, f"a row without STCD: {row}"))
        else:
            grouped[str(row["STCD"])].append(row)
    return grouped


def _station(
    stcd: str, row: Row, related: dict[str, list[Row]], out: Imported
) -> dict[str, Any] | None:
    def problem(table: str, message: str, skipped: bool = False) -> None:
        out.problems.append(Problem(stcd, table, message, skipped))

    if not re.match(ID_PATTERN, stcd):
        problem(STATIONS, "not usable as a station id (letters, digits, _ . -)", True)
        return None
    sttp = (row.get("STTP") or "").upper()
    if sttp not in TYPES:
        known = ", ".join(TYPES)
        problem(STATIONS, f"station type STTP {sttp or 'empty'!r} is not watched ({known})", True)
        return None
    station: dict[str, Any] = {"id": stcd, "name": row.get("STNM") or stcd, "type": TYPES[sttp]}
    if row.get("STNM") is None:
        problem(STATIONS, "no name (STNM): named by its STCD")
    try:
        _place(station, row, problem)
        levels = _levels(station, related, problem)
        curve = _curve(related[CURVES], problem)
    except ValueError as exc:
        problem(STATIONS, str(exc), True)
        return None
    if levels:
        station["levels"] = levels
    if curve is not None:
        station["structure"] = {"storage": curve}
    return _validated(station, problem)


def _place(station: dict[str, Any], row: Row, problem: Any) -> None:
    lon, lat = number(row, "LGTD"), number(row, "LTTD")
    if lon is None or lat is None or (lon == 0 and lat == 0):
        problem(STATIONS, "no coordinates (LGTD/LTTD): no location on the map")
    else:
        station["location"] = {"lon": lon, "lat": lat}
    code = row.get("ADDVCD")
    if code is None:
        problem(STATIONS, "no ADDVCD: no village or town (routing by village needs one)")
        return
    code = str(code)
    name = row.get("STLC") or station["name"]
    if re.fullmatch(r"[0-9]{12}|[0-9]{15}", code):
        station["village"] = {"name": name, "code": code}
        if station["type"] == "rain_gauge":
            station["covers"] = [code]
    elif re.fullmatch(r"[0-9]{9}", code):
        station["town"] = {"name": name, "code": code}
    else:
        problem(STATIONS, f"ADDVCD {code!r} names no village or town (9, 12 or 15 digits)")


def _levels(station: dict[str, Any], related: dict[str, list[Row]], problem: Any) -> dict[str, Any]:
    levels: dict[str, Any] = {}
    for table, columns in (
        (RESERVOIRS, {"crest": "DAMEL", "check_flood": "CKFLZ", "design_flood": "DSFLZ"}),
        (RIVERS, {"warning": "WRZ", "guarantee": "GRZ"}),
    ):
        rows = related[table]
        if len(rows) > 1:
            problem(table, f"{len(rows)} rows: the first is taken")
        for key, column in columns.items():
            if rows and (value := number(rows[0], column)) is not None:
                levels[key] = value
    reservoir = related[RESERVOIRS][0] if related[RESERVOIRS] else {}
    total = number(reservoir, "TTCP")
    if station["type"] == "reservoir" and total is not None and total < POND_STORAGE:
        station["type"] = "pond"
    limit = number(reservoir, "FSLTDZ")
    seasons = _seasons(related[SEASONS], problem)
    if seasons:
        default = limit if limit is not None else min(seasons.values())
        levels["flood_limit"] = {**seasons, "default": default}
    elif limit is not None:
        levels["flood_limit"] = limit
    return levels


def _seasons(rows: list[Row], problem: Any) -> dict[str, float]:
    seasons: dict[str, float] = {}
    for row in rows:
        begin, end, value = row.get("BGMD"), row.get("EDMD"), number(row, "FSLTDZ")
        if begin is None or end is None or value is None:
            problem(SEASONS, f"a season without BGMD, EDMD or FSLTDZ: {row}")
            continue
        b, e = _month_day(begin), _month_day(end)
        if b is None or e is None:
            problem(SEASONS, f"BGMD/EDMD are written MMDD, got {begin!r}/{end!r}")
            continue
        seasons[f"{b}..{e}"] = value
    return seasons


def _month_day(value: Any) -> str | None:
    text = str(int(value)) if isinstance(value, float) else str(value)
    text = text.replace("-", "").replace("/", "").zfill(4)
    if not re.fullmatch(r"[0-9]{4}", text):
        return None
    return f"{text[:2]}-{text[2:]}"


def _curve(rows: list[Row], problem: Any) -> list[list[float]] | None:
    if not rows:
        return None
    surveys = sorted({str(r.get("MSTM") or "") for r in rows})
    latest = [r for r in rows if str(r.get("MSTM") or "") == surveys[-1]]
    if len(surveys) > 1:
        problem(CURVES, f"{len(surveys)} surveys (MSTM): the latest, {surveys[-1]}, is taken")
    points = []
    for row in latest:
        level, storage, order = number(row, "RZ"), number(row, "W"), number(row, "PTNO")
        if level is None or storage is None:
            problem(CURVES, f"a point without RZ or W: {row}")
            continue
        points.append((order if order is not None else level, level, storage))
    points.sort()
    return [[level, round(storage * 1e6, 1)] for _, level, storage in points]


def _validated(station: dict[str, Any], problem: Any) -> dict[str, Any] | None:
    """The station as the config loader will see it: a bad optional part is
    dropped and reported; any other problem leaves the station out."""
    for _ in range(len(OPTIONAL_PARTS) + 1):
        found = _check(station)
        if not found:
            return station
        parts = {str(loc[0]) for loc, _ in found if loc}
        droppable = parts & set(OPTIONAL_PARTS)
        if parts - droppable or not parts:
            for loc, message in found:
                problem(_table(loc), f"{_path(loc)}: {message}", True)
            return None
        for loc, message in found:
            problem(_table(loc), f"{_path(loc)}: {message}; {loc[0]} not imported")
        for part in droppable:
            station.pop(part)
            if part == "village":
                station.pop("covers", None)
    return None  # unreachable: each round drops a part


def _check(station: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    try:
        model = Station.model_validate(station)
    except ValidationError as exc:
        return [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
    return [(tuple(loc), message) for loc, message in model.problems()]


def _path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")


def _table(loc: tuple[Any, ...]) -> str:
    if loc[:1] == ("structure",):
        return CURVES
    if loc[:1] == ("levels",):
        if loc[1:2] == ("flood_limit",):
            return f"{RESERVOIRS}/{SEASONS}"
        if loc[1:2] in (("warning",), ("guarantee",)):
            return RIVERS
        return RESERVOIRS
    return STATIONS
