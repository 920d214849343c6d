"""`sim.hydrology`: one pond and its catchment stepped in time — water balance,
a weir over the spillway, an orifice through the culvert scaled down by its
blockage, and overtopping along the whole crest."""

from __future__ import annotations

import math

import pytest

from floodwatch.sim.hydrology import G, PondParams, PondState, step, weir

P = PondParams()


def test_a_weir_passes_nothing_at_or_below_its_crest_and_c_l_h_to_the_1_5_above() -> None:
    assert weir(1.7, 3.0, 0.0) == 0.0
    assert weir(1.7, 3.0, -0.5) == 0.0
    assert weir(1.7, 3.0, 0.25) == pytest.approx(1.7 * 3.0 * 0.125)


def test_a_pond_at_rest_without_rain_below_the_culvert_stays_put() -> None:
    state = PondState(level=P.culvert_invert - 0.1)
    step(P, state, 0.0, 0.0, 60)
    assert state.level == P.culvert_invert - 0.1
    assert (state.inflow, state.culvert_flow, state.spill_flow) == (0.0, 0.0, 0.0)


def test_rain_reaches_the_pond_through_the_catchment_store_not_at_once() -> None:
    state = PondState(level=P.culvert_invert)
    step(P, state, 36.0, 1.0, 60)
    assert state.inflow == 0.0  # the store was empty at the start of the step
    effective = P.runoff_coefficient * 36.0 / 1000 / 3600 * P.catchment_km2 * 1e6  # m³/s
    assert state.catchment_storage_m3 == pytest.approx(effective * 60)
    step(P, state, 36.0, 1.0, 60)
    assert state.inflow == pytest.approx(effective * 60 / P.reservoir_k_s)
    assert state.level > P.culvert_invert  # the blocked culvert lets nothing out


def test_the_culvert_is_an_orifice_scaled_down_by_its_blockage() -> None:
    open_, half = PondState(level=310.7), PondState(level=310.7)
    step(P, open_, 0.0, 0.0, 1)
    step(P, half, 0.0, 0.5, 1)
    full = P.culvert_cd * P.culvert_area_m2 * math.sqrt(2 * G * (310.7 - P.culvert_invert))
    assert open_.culvert_flow == pytest.approx(full)
    assert half.culvert_flow == pytest.approx(full / 2)
    assert half.level > open_.level  # less goes out


def test_above_the_spillway_it_spills_and_above_the_crest_it_overtops() -> None:
    spilling = PondState(level=P.spillway_crest + 0.2)
    step(P, spilling, 0.0, 1.0, 1)
    assert spilling.spill_flow == pytest.approx(weir(P.spillway_c, P.spillway_length_m, 0.2))
    over, below = PondState(level=P.crest + 0.1), PondState(level=P.crest - 0.01)
    step(P, over, 0.0, 1.0, 60)
    step(P, below, 0.0, 1.0, 60)

    def area(level: float) -> float:
        return P.area_m2 + P.area_growth_m2_per_m * (level - P.base_level)

    spill_over = weir(P.spillway_c, P.spillway_length_m, P.crest + 0.1 - P.spillway_crest)
    overtop = weir(P.spillway_c, P.crest_length_m, 0.1)  # the whole crest is a long weir
    assert over.spill_flow == pytest.approx(spill_over)
    assert P.crest + 0.1 - over.level == pytest.approx(
        (spill_over + overtop) * 60 / area(P.crest + 0.1)
    )
    spill_below = weir(P.spillway_c, P.spillway_length_m, P.crest - 0.01 - P.spillway_crest)
    assert P.crest - 0.01 - below.level == pytest.approx(spill_below * 60 / area(P.crest - 0.01))


def test_a_level_far_below_the_base_keeps_a_positive_area() -> None:
    # the area shrinks linearly below base_level; it is held at 1 m² (no division by 0)
    state = PondState(level=P.base_level - 10, catchment_storage_m3=2400.0)
    step(P, state, 0.0, 1.0, 1)
    assert math.isfinite(state.level)
    assert state.level == pytest.approx(P.base_level - 10 + 1.0)  # 1 m³/s into 1 m² for 1 s
