"""A pond's hydraulic structure in the station YAML: what the water-balance
forecast needs (`time_to_crest` with `method: water_balance`).

- The storage–elevation relation, as in SL 323's storage-curve table: either
  `storage` (level m → storage m³) or `area` (level m → water surface m²,
  integrated into storage). Linear between the rows; beyond the last two rows
  the last slope continues.
- The spillway: a weir (`width` m, `coefficient` C, Q = C·L·H^1.5 above its
  crest; the crest defaults to the station's `levels.spillway_crest`), or a
  `rating` table level → discharge (m³/s).
- The outlets (放水涵管): orifices Q = Cd·A·√(2gH) above their invert, `area`
  m² or `diameter` m; `measured_by` names the flow station (or a link such as
  `$outlet`) whose readings say what the outlet really carries (a blocked
  culvert carries less than its formula).
- The catchment (optional): area, runoff coefficient, response time and its
  rain gauge, so the inflow is projected from the rain that is falling
  (persistence nowcast) instead of the inflow's own trend.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Annotated

from pydantic import Field, StringConstraints

from floodwatch.config.base import Model, Problems
from floodwatch.config.values import Duration, described

Row = tuple[float, float]
StationRef = Annotated[
    str,
    StringConstraints(
        pattern=described(
            r"^(\$[a-z_]+|[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$",
            "a station id or a link such as '$outlet'",
        )
    ),
]


def _table_problems(rows: list[Row], what: str, strictly: bool) -> Problems:
    if len(rows) < 2:
        yield (), f"give at least two rows [level, {what}]"
        return
    for i, ((l0, v0), (l1, v1)) in enumerate(itertools.pairwise(rows), start=1):
        if l1 <= l0:
            yield (i, 0), f"levels must increase row by row: {l1:g} after {l0:g}"
        elif (strictly and v1 <= v0) or v1 < v0:
            word = "increase" if strictly else "not decrease"
            yield (i, 1), f"{what} must {word} with the level: {v1:g} after {v0:g}"
    for i, (_, value) in enumerate(rows):
        if value < 0:
            yield (i, 1), f"must be 0 or more, got {value:g}"


class Spillway(Model):
    """The spillway (溢洪道): a weir, or a rating table."""

    crest: float | None = Field(
        None, description="weir crest (m); default: the station's levels.spillway_crest"
    )
    width: float | None = Field(None, gt=0, description="weir length L (m)")
    coefficient: float = Field(
        1.7, gt=0, le=2.5, description="C in Q = C·L·H^1.5 (m^0.5/s; broad-crested ≈ 1.7)"
    )
    rating: list[Row] | None = Field(
        None, description="instead of a weir: [[level m, discharge m³/s], ...]"
    )

    def problems(self) -> Problems:
        if (self.width is None) == (self.rating is None):
            yield (), "give the weir's width (Q = C·L·H^1.5) or a rating table, not both"
        if self.rating is not None:
            for loc, message in _table_problems(self.rating, "discharge", strictly=False):
                yield ("rating", *loc), message


class Outlet(Model):
    """An outlet culvert or pipe (放水涵管) as an orifice."""

    invert: float = Field(description="invert level (m): no flow below it")
    area: float | None = Field(None, gt=0, description="flow area (m²)")
    diameter: float | None = Field(None, gt=0, description="or a round pipe's diameter (m)")
    coefficient: float = Field(0.6, gt=0, le=1, description="Cd in Q = Cd·A·√(2gH)")
    measured_by: StationRef | None = Field(
        None,
        description="a flow station (id or link such as $outlet) that measures this outlet; "
        "its fresh readings scale the formula (a blocked culvert)",
    )

    def problems(self) -> Problems:
        if (self.area is None) == (self.diameter is None):
            yield (), "give the outlet's area or its diameter"


class Catchment(Model):
    """The catchment above the pond, for a rainfall nowcast of the inflow: the
    rain of the last `nowcast_window` at its gauge goes on (persistence), and
    the inflow moves toward runoff × rain × area as a linear reservoir with the
    catchment's `response` time."""

    area_km2: float = Field(gt=0, description="catchment area (km²)")
    runoff_coefficient: float = Field(gt=0, le=1, description="share of the rain that runs off")
    response: Duration = Field(description="linear-reservoir time constant, e.g. 40m")
    rain_gauge: StationRef = Field(
        "$rain_gauge", description="the rain station (id or link) whose reports drive it"
    )
    nowcast_window: Duration = Field(
        timedelta(minutes=30), description="recent rain taken to go on (persistence)"
    )
    nowcast_decay: Duration | None = Field(
        timedelta(hours=1),
        description="the persisted rain fades with this time constant (a nowcast's skill "
        "falls with lead time); null: it goes on unchanged",
    )

    def problems(self) -> Problems:
        if self.response <= timedelta(0):
            yield ("response",), "must be longer than 0s"


class Structure(Model):
    """Storage curve, spillway and outlets of a pond (for the water-balance forecast)."""

    storage: list[Row] | None = Field(
        None, description="storage curve: [[level m, storage m³], ...] (SL 323 库容曲线)"
    )
    area: list[Row] | None = Field(
        None, description="or the water surface: [[level m, area m²], ...]"
    )
    spillway: Spillway | None = None
    outlets: list[Outlet] = Field(default_factory=list)
    catchment: Catchment | None = Field(
        None, description="with a rain gauge: the inflow follows the rain (nowcast), not its trend"
    )

    def problems(self) -> Problems:
        if (self.storage is None) == (self.area is None):
            yield (), "give the storage curve as 'storage' or as 'area', one of them"
        if self.storage is not None:
            for loc, message in _table_problems(self.storage, "storage", strictly=True):
                yield ("storage", *loc), message
        if self.area is not None:
            for loc, message in _table_problems(self.area, "area", strictly=False):
                yield ("area", *loc), message
            if any(value <= 0 for _, value in self.area[1:]):
                yield ("area",), "the water surface must be above 0 m² above the lowest row"
        if self.spillway is not None:
            for loc, message in self.spillway.problems():
                yield ("spillway", *loc), message
        if self.catchment is not None:
            for loc, message in self.catchment.problems():
                yield ("catchment", *loc), message
        for i, outlet in enumerate(self.outlets):
            for loc, message in outlet.problems():
                yield ("outlets", i, *loc), message
