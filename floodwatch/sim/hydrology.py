"""A small pond (山塘) and its catchment, stepped in time.

- Catchment: runoff coefficient × rain into a linear reservoir (S = k·Q).
- Pond: water balance dV/dt = Qin − Qspill − Qculvert − Qover on a
  storage–elevation relation with a surface area growing linearly with level.
- Spillway: broad-crested weir Q = C·L·H^1.5 above the spillway crest.
- Outlet culvert: an orifice Q = Cd·A·√(2gH) above its invert, scaled down by
  a blockage fraction (debris), 0 = open, 1 = fully blocked.
- Above the dam crest, water overtops along the whole crest (a long weir).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

G = 9.81


@dataclass(frozen=True)
class PondParams:
    catchment_km2: float = 0.6
    runoff_coefficient: float = 0.75
    reservoir_k_s: float = 2400.0
    area_m2: float = 16_000.0  # water surface at `base_level`
    area_growth_m2_per_m: float = 6_000.0
    base_level: float = 310.3
    spillway_crest: float = 311.0
    spillway_length_m: float = 3.0
    spillway_c: float = 1.7
    culvert_invert: float = 310.2
    culvert_area_m2: float = 0.9
    culvert_cd: float = 0.6
    crest: float = 312.0
    crest_length_m: float = 60.0


@dataclass
class PondState:
    level: float
    catchment_storage_m3: float = 0.0
    inflow: float = 0.0
    culvert_flow: float = 0.0
    spill_flow: float = 0.0


def weir(c: float, length: float, head: float) -> float:
    return c * length * head**1.5 if head > 0 else 0.0


def step(p: PondParams, s: PondState, rain_mm_per_h: float, blockage: float, dt_s: float) -> None:
    """Advance the pond by `dt_s` seconds under the given rain intensity and blockage."""
    effective = p.runoff_coefficient * rain_mm_per_h / 1000.0 / 3600.0 * p.catchment_km2 * 1e6
    s.inflow = s.catchment_storage_m3 / p.reservoir_k_s
    s.catchment_storage_m3 += (effective - s.inflow) * dt_s
    head = s.level - p.culvert_invert
    s.culvert_flow = (
        (1.0 - blockage) * p.culvert_cd * p.culvert_area_m2 * math.sqrt(2 * G * head)
        if head > 0
        else 0.0
    )
    s.spill_flow = weir(p.spillway_c, p.spillway_length_m, s.level - p.spillway_crest)
    over = weir(p.spillway_c, p.crest_length_m, s.level - p.crest)
    area = p.area_m2 + p.area_growth_m2_per_m * (s.level - p.base_level)
    s.level += (s.inflow - s.spill_flow - s.culvert_flow - over) * dt_s / max(area, 1.0)
