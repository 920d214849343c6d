"""Named scenarios and the generator that turns them into canonical readings."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from floodwatch.readings import Reading
from floodwatch.sim.hydrology import PondParams, PondState, step

STEP_S = 60


@dataclass(frozen=True)
class Scenario:
    """A storm (rain intensity over time) and what happens to the culvert."""

    name: str
    description: str
    hours: float = 24.0
    storm_start_h: float = 4.0
    storm_hours: float = 6.0
    storm_total_mm: float = 0.0
    peak_at: float = 0.45  # position of the peak within the storm (0..1)
    block_at_h: float | None = None  # culvert starts to block at this hour
    block_fraction: float = 0.95
    block_ramp_min: float = 20.0
    description_zh: str = ""

    def rain_mm_per_h(self, hour: float) -> float:
        """A triangular hyetograph holding `storm_total_mm` over the storm."""
        if self.storm_total_mm <= 0:
            return 0.0
        x = (hour - self.storm_start_h) / self.storm_hours
        if not 0 <= x <= 1:
            return 0.0
        peak = 2 * self.storm_total_mm / self.storm_hours
        return peak * (x / self.peak_at if x <= self.peak_at else (1 - x) / (1 - self.peak_at))

    def blockage(self, hour: float) -> float:
        if self.block_at_h is None or hour < self.block_at_h:
            return 0.0
        ramp = min(1.0, (hour - self.block_at_h) * 60 / self.block_ramp_min)
        return self.block_fraction * ramp


SCENARIOS: dict[str, Scenario] = {
    "blocked": Scenario(
        "blocked",
        "July storm, 220 mm in 6 h; the outlet culvert blocks with debris 1 h in: overtops",
        storm_total_mm=220.0,
        block_at_h=5.0,
        description_zh="七月暴雨，6小时降雨220毫米；1小时后放水涵管被杂物堵塞：漫坝",
    ),
    "open": Scenario(
        "open",
        "the same July storm with the outlet culvert clear: the pond rises but holds",
        storm_total_mm=220.0,
        description_zh="同一场七月暴雨，放水涵管畅通：水位上涨但未漫坝",
    ),
    "flash": Scenario(
        "flash",
        "a flash-flood burst: 75 mm in 50 minutes over the catchment",
        storm_total_mm=75.0,
        storm_hours=50 / 60,
        peak_at=0.4,
        description_zh="山洪暴雨：集雨区50分钟降雨75毫米",
    ),
    "quiet": Scenario(
        "quiet",
        "a quiet summer day with a light shower (6 mm)",
        storm_total_mm=6.0,
        storm_hours=2.0,
        description_zh="平静的夏日，一场小阵雨（6毫米）",
    ),
}


@dataclass
class SimResult:
    scenario: Scenario
    readings: list[Reading]
    crest_reached: datetime | None
    max_level: float
    block_start: datetime | None
    series: dict[str, list[float]] = field(default_factory=dict)


def simulate(  # noqa: PLR0913 — keyword-only scenario knobs with defaults
    scenario: Scenario | str = "blocked",
    *,
    start: datetime | None = None,
    interval: timedelta = timedelta(minutes=5),
    seed: int = 7,
    pond: str = "maokeng-pond",
    culvert: str = "maokeng-culvert",
    rain_gauge: str = "maokeng-rain",
    params: PondParams | None = None,
    spike_at: datetime | None = None,
    silence_from: datetime | None = None,
    noise_m: float = 0.003,
    quiet_ponds: dict[str, float] | None = None,
) -> SimResult:
    """Run a scenario and return the readings the three gauges would send.

    The level gauge reports the pond level (m), the flow meter the culvert flow
    (m³/s) and the rain gauge the rain of each interval (mm). `spike_at` adds a
    one-sample +5 m spike to the level gauge; `silence_from` silences it.
    `quiet_ponds` (station id → level) adds level gauges of ponds that stay put.
    """
    sc = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    p = params or PondParams()
    t0 = start or datetime(2026, 7, 6, 16, 0, tzinfo=UTC)  # 00:00 on 7 July, Beijing time
    rng = random.Random(seed)
    state = PondState(level=p.base_level)
    readings: list[Reading] = []
    every = int(interval.total_seconds() // STEP_S)
    rain_acc = 0.0
    crest_reached: datetime | None = None
    max_level = state.level
    levels: list[float] = []
    inflows: list[float] = []
    for k in range(int(sc.hours * 3600 // STEP_S) + 1):
        hour = k * STEP_S / 3600
        now = t0 + timedelta(seconds=k * STEP_S)
        intensity = sc.rain_mm_per_h(hour)
        if k > 0:
            step(p, state, intensity, sc.blockage(hour), STEP_S)
            rain_acc += intensity * STEP_S / 3600
        levels.append(state.level)
        inflows.append(state.inflow)
        max_level = max(max_level, state.level)
        if crest_reached is None and state.level >= p.crest:
            crest_reached = now
        if k % every:
            continue
        level = state.level + rng.gauss(0, noise_m)
        if spike_at is not None and now == spike_at:
            level += 5.0
        if silence_from is None or now < silence_from:
            readings.append(Reading(pond, "level", round(level, 3), now))
        flow = max(0.0, state.culvert_flow * (1 + rng.gauss(0, 0.02)))
        readings.append(Reading(culvert, "flow", round(flow, 3), now))
        readings.append(Reading(rain_gauge, "rain", round(rain_acc, 1), now))
        rain_acc = 0.0
        for station, steady in (quiet_ponds or {}).items():
            readings.append(
                Reading(station, "level", round(steady + rng.gauss(0, noise_m), 3), now)
            )
    block_start = None
    if sc.block_at_h is not None:
        block_start = t0 + timedelta(hours=sc.block_at_h)
    series = {"level": levels, "inflow": inflows}  # per simulation step (STEP_S)
    return SimResult(sc, readings, crest_reached, max_level, block_start, series)
