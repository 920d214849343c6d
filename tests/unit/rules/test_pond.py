"""`rules.pond`: a pond's hydraulics at run time — the storage curve both ways,
the spillway (a weir or a rating table) and the outlets as orifices — built
from the station's `structure`; scalar and array forms agree."""

from __future__ import annotations

import math

import numpy as np
import pytest

from floodwatch.config.structure import Structure
from floodwatch.rules.pond import Curve, G, Orifice, PondModel, StorageCurve
from floodwatch.sim.hydrology import PondParams


def test_storage_from_an_area_table_is_exact_for_a_linear_surface() -> None:
    p = PondParams()
    levels = np.arange(308.0, 313.5, 1.0)
    curve = StorageCurve.from_areas(
        [(lv, p.area_m2 + p.area_growth_m2_per_m * (lv - p.base_level)) for lv in levels]
    )
    area = lambda lv: p.area_m2 + p.area_growth_m2_per_m * (lv - p.base_level)  # noqa: E731
    for a, b in [(310.0, 311.3), (311.1, 311.2), (309.5, 312.7)]:
        exact = (area(a) + area(b)) / 2 * (b - a)  # a linear surface: trapezoid is exact
        assert curve(b) - curve(a) == pytest.approx(exact, rel=1e-12)
        assert curve.level(curve(b)) == pytest.approx(b, abs=1e-9)


def test_a_storage_table_interpolates_linearly_and_inverts() -> None:
    curve = StorageCurve.from_volumes([(310.0, 1000.0), (311.0, 21000.0), (312.0, 45000.0)])
    assert curve(310.5) == pytest.approx(10_000.0)
    assert curve(312.5) == pytest.approx(56_000.0)  # the top interval's area goes on
    for level in (309.7, 310.25, 311.9, 312.4):
        assert curve.level(curve(level)) == pytest.approx(level, abs=1e-9)


def test_the_spillway_weir_and_rating_table() -> None:
    from floodwatch.config.structure import Structure

    weir = Structure.model_validate(
        {"area": [[310, 100], [312, 200]], "spillway": {"width": 3.0, "coefficient": 1.7}}
    )
    pond = PondModel.from_structure(weir, spillway_crest=311.0)
    assert pond.spill(310.9) == 0.0
    assert pond.spill(311.64) == pytest.approx(1.7 * 3.0 * 0.64**1.5)
    rated = Structure.model_validate(
        {"area": [[310, 100], [312, 200]], "spillway": {"rating": [[311, 0], [312, 8]]}}
    )
    pond = PondModel.from_structure(rated, spillway_crest=None)
    assert pond.spill(310.5) == 0.0 and pond.spill(311.5) == pytest.approx(4.0)


def test_a_curve_interpolates_and_continues_its_end_slopes() -> None:
    c = Curve([311.0, 312.0, 313.0], [0.0, 8.0, 10.0])
    assert c(311.5) == pytest.approx(4.0)
    assert c(312.0) == pytest.approx(8.0)
    assert c(314.0) == pytest.approx(12.0)  # the last slope (2 per m) goes on
    assert c(310.5) == pytest.approx(-4.0)  # and the first below the table


def test_the_surface_is_linear_between_rows_and_constant_outside() -> None:
    curve = StorageCurve.from_areas([(310.0, 100.0), (311.0, 300.0), (312.0, 400.0)])
    assert curve.area(309.0) == 100.0  # below the first row: the first surface
    assert curve.area(310.5) == pytest.approx(200.0)
    assert curve.area(311.5) == pytest.approx(350.0)
    assert curve.area(313.0) == 400.0  # above the top: the top's surface stays
    assert curve(310.0) == 0.0  # storage relative to the first row
    assert curve(309.0) == pytest.approx(-100.0)
    assert curve(313.0) - curve(312.0) == pytest.approx(400.0)


def test_the_level_is_the_inverse_of_the_storage_everywhere() -> None:
    curve = StorageCurve.from_areas([(310.0, 100.0), (311.0, 300.0), (312.0, 400.0)])
    for level in np.linspace(308.5, 314.0, 23):
        assert curve.level(curve(float(level))) == pytest.approx(level, abs=1e-9)
    volumes = StorageCurve.from_volumes([(310.0, 500.0), (311.0, 2500.0), (312.0, 6500.0)])
    for level in np.linspace(309.0, 313.0, 17):
        assert volumes.level(volumes(float(level))) == pytest.approx(level, abs=1e-9)


def test_many_gives_what_the_scalar_storage_gives() -> None:
    for curve in (
        StorageCurve.from_areas([(310.0, 100.0), (311.0, 300.0), (312.0, 400.0)]),
        StorageCurve.from_volumes([(310.0, 500.0), (311.0, 2500.0), (312.0, 6500.0)]),
    ):
        levels = np.linspace(308.0, 314.0, 61)
        expected = [curve(float(lv)) for lv in levels]
        assert curve.many(levels) == pytest.approx(expected, abs=1e-6)


def test_an_orifice_runs_only_above_its_invert() -> None:
    o = Orifice(invert=309.0, area=0.2, coefficient=0.6, measured=True)
    assert o.flow(308.0) == 0.0 and o.flow(309.0) == 0.0
    assert o.flow(311.0) == pytest.approx(0.6 * 0.2 * math.sqrt(2 * G * 2.0))


def pond_of(spillway: dict[str, object] | None) -> PondModel:
    spec: dict[str, object] = {
        "area": [[310, 100], [312, 200]],
        "outlets": [
            {"invert": 309.0, "diameter": 0.5, "measured_by": "c1"},
            {"invert": 310.5, "area": 0.1, "coefficient": 0.8},
        ],
    }
    if spillway is not None:
        spec["spillway"] = spillway
    return PondModel.from_structure(Structure.model_validate(spec), spillway_crest=311.5)


def test_outlets_from_the_structure_a_round_pipe_by_its_diameter() -> None:
    pond = pond_of(None)
    pipe, sluice = pond.outlets
    assert pipe.area == pytest.approx(math.pi * 0.25 / 4) and pipe.measured
    assert sluice.area == 0.1 and not sluice.measured and sluice.coefficient == 0.8
    assert pond.spill(320.0) == 0.0  # no spillway: nothing spills
    level = 311.0
    assert pond.outlet_formula(level, measured_only=True) == pytest.approx(pipe.flow(level))
    assert pond.outlet_formula(level, measured_only=False) == pytest.approx(
        pipe.flow(level) + sluice.flow(level)
    )


def test_measured_outlets_are_scaled_by_the_efficiency_and_formula_ones_not() -> None:
    pond = pond_of({"width": 3.0})
    pipe, sluice = pond.outlets
    level = 311.8
    weir = 1.7 * 3.0 * (level - 311.5) ** 1.5  # the station's spillway_crest is the weir's
    assert pond.outflow(level, 1.0) == pytest.approx(weir + pipe.flow(level) + sluice.flow(level))
    blocked = pond.outflow(level, 0.0)  # a blocked culvert: only the rest flows
    assert blocked == pytest.approx(weir + sluice.flow(level))


def test_a_rating_table_gives_nothing_at_or_below_its_first_row_and_never_less_than_0() -> None:
    pond = pond_of({"rating": [[311.0, 0.0], [311.5, 1.0], [312.0, 0.5]]})
    assert pond.spill(311.0) == 0.0 and pond.spill(310.0) == 0.0
    assert pond.spill(311.25) == pytest.approx(0.5)
    assert pond.spill(313.0) == 0.0  # the falling last slope would go negative: clipped


@pytest.mark.parametrize(
    "spillway",
    [
        None,
        {"width": 3.0},
        {"width": 2.0, "crest": 311.2, "coefficient": 1.5},
        {"rating": [[311.0, 0.0], [311.5, 1.0], [312.0, 4.0]]},
    ],
)
def test_outflow_many_gives_what_outflow_gives(spillway: dict[str, object] | None) -> None:
    pond = pond_of(spillway)
    levels = np.linspace(308.0, 314.0, 121)
    for efficiency in (0.0, 0.4, 1.0):
        expected = [pond.outflow(float(lv), efficiency) for lv in levels]
        assert pond.outflow_many(levels, efficiency) == pytest.approx(expected, abs=1e-9)
