"""The water-balance forecast against an independent simulation.

The truth is `floodwatch.sim` (its own pond, weir, orifice and catchment
code, stepped every minute); the forecast only sees the gauges' noisy
readings and the structure in the station YAML (`config/`). The same storms
run through the example config twice: `method: trend` (a straight line
through the recent levels) and the example's `method: auto` (the water
balance, since maokeng-pond has a structure).
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.rules.engine import Engine
from floodwatch.rules.kinds.water_balance import WaterBalanceInstance
from floodwatch.sim import simulate
from floodwatch.sim.scenarios import STEP_S

SEEDS = [7, 1, 2]
WATER_BALANCE = compile_config(load_config_dir("config"))


def _trend_config(tmp: Path) -> CompiledConfig:
    for f in Path("config").glob("*.yaml"):
        shutil.copy(f, tmp)
    rules = tmp / "rules.yaml"
    text = rules.read_text("utf-8")
    assert "    method: auto" in text
    rules.write_text(text.replace("    method: auto", "    method: trend"), "utf-8")
    return compile_config(load_config_dir(tmp))


@pytest.fixture(scope="module")
def straight_line(tmp_path_factory: pytest.TempPathFactory) -> CompiledConfig:
    return _trend_config(tmp_path_factory.mktemp("trend"))


def overtop(compiled: CompiledConfig, scenario: str, seed: int) -> list[AlertEvent]:
    engine = Engine(compiled)
    out = engine.process(simulate(scenario, seed=seed).readings)
    out.extend(engine.flush())
    return [e for e in out.alerts if e.rule == "pond-overtop" and e.station == "maokeng-pond"]


def first_raised(events: list[AlertEvent], *severities: str) -> datetime | None:
    for e in events:
        if e.severity.value in severities and e.transition.value in ("firing", "escalated"):
            return e.ts
    return None


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scenario", ["open", "flash"])
def test_a_storm_the_spillway_passes_gives_no_orange_or_red_overtop_forecast(
    straight_line: CompiledConfig, scenario: str, seed: int
) -> None:
    assert simulate(scenario, seed=seed).crest_reached is None  # the truth: it holds
    assert first_raised(overtop(straight_line, scenario, seed), "orange", "red") is not None
    assert first_raised(overtop(WATER_BALANCE, scenario, seed), "orange", "red") is None


@pytest.mark.parametrize("seed", SEEDS)
def test_a_blocked_culvert_gives_red_30_minutes_before_the_crest_and_no_later_than_the_line(
    straight_line: CompiledConfig, seed: int
) -> None:
    """The water balance warns on its own lines (`water_balance.levels`, red at 1h):
    it does not over-forecast the rise as the straight line does, so its red
    line can stand further out and still never fire in the storms above."""
    sim = simulate("blocked", seed=seed)
    assert sim.crest_reached is not None
    events = overtop(WATER_BALANCE, "blocked", seed)
    red = first_raised(events, "red")
    assert red is not None
    assert (sim.crest_reached - red).total_seconds() >= 30 * 60
    line = first_raised(overtop(straight_line, "blocked", seed), "red")
    assert line is not None and red <= line
    red_event = next(e for e in events if e.ts == red)
    assert red_event.forecast is not None and "peak_level" in red_event.forecast
    assert "水量平衡" in red_event.message_zh


def test_the_inflow_estimate_follows_the_simulated_inflow() -> None:
    """Through the rising limb, the inflow estimated from the last hour of noisy
    levels (3 mm) and the culvert meter is within 12 % of the simulation's."""
    sim = simulate("open", seed=7)
    start = sim.readings[0].ts
    engine = Engine(WATER_BALANCE)
    [rule] = [r for r in engine.rule_instances() if isinstance(r, WaterBalanceInstance)]
    pond = [(int(r.ts.timestamp() * 1000), r.value) for r in sim.readings if r.kind == "level"]
    flow = {int(r.ts.timestamp() * 1000): r.value for r in sim.readings if r.kind == "flow"}
    t_all = np.array([t for t, _ in pond])
    y_all = np.array([v for _, v in pond])
    peak = pond[int(np.argmax(y_all))][0]
    errors = []
    for now, level in pond:
        if not (level > 310.8 and now < peak):  # the rising limb, above the culvert's reach
            continue
        held = (t_all >= now - rule.window) & (t_all <= now)
        formula = rule.pond.outlet_formula(level, measured_only=True)
        inflow, _ = rule.inflow(t_all[held], y_all[held], now, flow[now] / formula)
        truth = sim.series["inflow"][(now - int(start.timestamp() * 1000)) // (STEP_S * 1000)]
        errors.append(inflow / truth - 1)
    assert len(errors) > 10
    assert max(abs(e) for e in errors) < 0.12


def test_a_gauge_reporting_every_minute_gets_a_forecast_every_five_minutes() -> None:
    """`refresh` (5m): the forecast is made on the first reading of each 5 minutes of
    event time; overtopping is checked on every reading."""
    sim = simulate("blocked", seed=7, interval=timedelta(minutes=1))
    events = overtop_of(WATER_BALANCE, sim.readings)
    forecasts = [e for e in events if "overtopping" not in e.details]
    assert len(forecasts) >= 2 and all(e.ts.minute % 5 == 0 for e in forecasts)
    overtopping = [e for e in events if (e.forecast or {}).get("overtopping")]
    assert sim.crest_reached is not None
    assert overtopping and overtopping[0].ts - sim.crest_reached < timedelta(minutes=2)


def overtop_of(compiled: CompiledConfig, readings: list[Reading]) -> list[AlertEvent]:
    engine = Engine(compiled)
    out = engine.process(readings)
    out.extend(engine.flush())
    return [e for e in out.alerts if e.rule == "pond-overtop" and e.station == "maokeng-pond"]


def test_the_water_balance_warns_on_its_own_lines_and_the_straight_line_on_levels() -> None:
    """`water_balance.levels` bind where the water balance runs (maokeng-pond has a
    structure); a station without one keeps the straight line and `levels`. A
    water-balance level without advice takes the same level's advice."""
    bound = {
        b.station.id: b
        for b in WATER_BALANCE.bindings
        if getattr(b.rule, "id", None) == "pond-overtop"
    }
    lines = {
        sid: [(lb.severity.value, lb.enter.at(0), lb.exit.at(0)) for lb in b.levels]
        for sid, b in bound.items()
    }
    assert bound["maokeng-pond"].extra["method"] == "water_balance"
    assert lines["maokeng-pond"] == [
        ("yellow", 150, 180),
        ("orange", 90, 120),
        ("red", 60, 75),
    ]
    assert bound["xiawu-pond"].extra["method"] == "trend"
    assert lines["xiawu-pond"] == [("yellow", 120, 180), ("orange", 60, 90), ("red", 30, 45)]
    [red] = [lb for lb in bound["maokeng-pond"].levels if lb.severity.value == "red"]
    assert red.advice is not None and "漫坝" in red.advice[0]
