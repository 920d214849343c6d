"""`config.structure`: a pond's storage curve (or water surface), spillway,
outlets and catchment for the water-balance forecast — each table and part
checked where it is wrong, with the row and the values at fault."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from floodwatch.config.structure import Catchment, Outlet, Spillway, Structure

STORAGE = [[310.0, 0.0], [311.0, 8000.0], [312.0, 20000.0]]


def structure(**data: object) -> Structure:
    return Structure.model_validate({"storage": STORAGE, **data})


def problems(**data: object) -> list[tuple[tuple[str | int, ...], str]]:
    return list(structure(**data).problems())


def test_a_storage_curve_with_a_weir_and_an_outlet_is_whole() -> None:
    pond = structure(
        spillway={"width": 4.0},
        outlets=[{"invert": 305.0, "diameter": 0.6, "measured_by": "$outlet"}],
        catchment={"area_km2": 1.2, "runoff_coefficient": 0.6, "response": "40m"},
    )
    assert pond.storage == [(310.0, 0.0), (311.0, 8000.0), (312.0, 20000.0)]
    assert pond.spillway is not None and pond.spillway.coefficient == 1.7
    assert pond.outlets[0].coefficient == 0.6
    assert pond.catchment is not None
    assert pond.catchment.rain_gauge == "$rain_gauge"
    assert pond.catchment.nowcast_window == timedelta(minutes=30)
    assert pond.catchment.nowcast_decay == timedelta(hours=1)
    assert list(pond.problems()) == []


def test_the_storage_is_given_one_way() -> None:
    both = Structure.model_validate({"storage": STORAGE, "area": [[310, 1], [311, 2]]})
    neither = Structure()
    message = "give the storage curve as 'storage' or as 'area', one of them"
    assert list(both.problems()) == [((), message)]
    assert list(neither.problems()) == [((), message)]


@pytest.mark.parametrize("rows", [[], [[310.0, 0.0]]])
def test_a_table_needs_two_rows(rows: list[list[float]]) -> None:
    assert list(Structure(storage=rows).problems()) == [  # type: ignore[arg-type]
        (("storage",), "give at least two rows [level, storage]")
    ]


def test_levels_must_increase_row_by_row() -> None:
    rows = [(310.0, 0.0), (311.0, 10.0), (311.0, 20.0), (310.5, 30.0)]
    assert list(Structure(storage=rows).problems()) == [
        (("storage", 2, 0), "levels must increase row by row: 311 after 311"),
        (("storage", 3, 0), "levels must increase row by row: 310.5 after 311"),
    ]


def test_storage_must_increase_with_the_level_the_surface_may_stay() -> None:
    flat = [(310.0, 0.0), (311.0, 500.0), (312.0, 500.0)]
    assert list(Structure(storage=flat).problems()) == [
        (("storage", 2, 1), "storage must increase with the level: 500 after 500")
    ]
    assert list(Structure(area=flat).problems()) == []  # a vertical-walled pond
    shrinking = [(310.0, 100.0), (311.0, 500.0), (312.0, 400.0)]
    assert list(Structure(area=shrinking).problems()) == [
        (("area", 2, 1), "area must not decrease with the level: 400 after 500")
    ]


def test_a_negative_value_is_named_at_its_row() -> None:
    rows = [(310.0, -5.0), (311.0, 10.0)]
    assert list(Structure(storage=rows).problems()) == [
        (("storage", 0, 1), "must be 0 or more, got -5")
    ]


def test_the_water_surface_must_be_above_zero_above_the_lowest_row() -> None:
    rows = [(310.0, 0.0), (311.0, 0.0), (312.0, 100.0)]
    assert list(Structure(area=rows).problems()) == [
        (("area",), "the water surface must be above 0 m² above the lowest row")
    ]


@pytest.mark.parametrize(
    ("spillway", "expected"),
    [
        ({"width": 4.0}, []),
        ({"rating": [[311.0, 0.0], [311.5, 3.2]]}, []),
        ({}, [((), "give the weir's width (Q = C·L·H^1.5) or a rating table, not both")]),
        (
            {"width": 4.0, "rating": [[311.0, 0.0], [311.5, 3.2]]},
            [((), "give the weir's width (Q = C·L·H^1.5) or a rating table, not both")],
        ),
        (
            {"rating": [[311.0, 2.0], [311.5, 1.0]]},
            [(("rating", 1, 1), "discharge must not decrease with the level: 1 after 2")],
        ),
        ({"rating": [[311.0, 0.0]]}, [(("rating",), "give at least two rows [level, discharge]")]),
    ],
)
def test_a_spillway_is_a_weir_or_a_rating_table(
    spillway: dict[str, object], expected: list[tuple[tuple[str | int, ...], str]]
) -> None:
    assert list(Spillway.model_validate(spillway).problems()) == expected


@pytest.mark.parametrize(
    "bad",
    [{"width": 0}, {"width": 4, "coefficient": 0}, {"width": 4, "coefficient": 2.6}],
)
def test_a_weir_s_width_and_coefficient_are_in_range(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Spillway.model_validate(bad)


def test_an_outlet_has_an_area_or_a_diameter() -> None:
    message = [((), "give the outlet's area or its diameter")]
    assert list(Outlet(invert=305.0).problems()) == message
    assert list(Outlet(invert=305.0, area=0.3, diameter=0.6).problems()) == message
    assert list(Outlet(invert=305.0, area=0.3).problems()) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"invert": 305, "area": 0},
        {"invert": 305, "area": 1, "coefficient": 1.1},
        {"invert": 305, "area": 1, "measured_by": "$Outlet"},  # links are lower case
        {"invert": 305, "area": 1, "measured_by": "a/b"},
        {"area": 1},  # no invert
    ],
)
def test_what_is_not_an_outlet_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Outlet.model_validate(bad)


def test_a_catchment_responds_in_a_time_longer_than_zero() -> None:
    base = {"area_km2": 1.2, "runoff_coefficient": 0.6}
    assert list(Catchment.model_validate({**base, "response": "0s"}).problems()) == [
        (("response",), "must be longer than 0s")
    ]
    held = Catchment.model_validate({**base, "response": "1h", "nowcast_decay": None})
    assert held.nowcast_decay is None and list(held.problems()) == []
    with pytest.raises(ValidationError):
        Catchment.model_validate({**base, "response": "1h", "runoff_coefficient": 1.5})


def test_every_part_s_problem_is_at_its_path_below_the_structure() -> None:
    found = problems(
        spillway={},
        outlets=[{"invert": 305.0, "area": 0.3}, {"invert": 305.0}],
        catchment={"area_km2": 1, "runoff_coefficient": 0.5, "response": "0s"},
    )
    assert found == [
        (("spillway",), "give the weir's width (Q = C·L·H^1.5) or a rating table, not both"),
        (("catchment", "response"), "must be longer than 0s"),
        (("outlets", 1), "give the outlet's area or its diameter"),
    ]
