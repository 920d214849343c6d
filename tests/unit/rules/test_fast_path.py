"""The vectorised fast path changes nothing: same alerts, same rejects, same state.

Every input here runs twice — through the engine as shipped, and through
`Engine(fast=False)`, which sends every reading down the exact per-reading
path — and the two must agree on every alert, every reject and every number
in the state store.
"""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.rules import engine as engine_module
from floodwatch.rules import snapshot
from floodwatch.rules.base import RuleContext
from floodwatch.rules.build import Series, build_series
from floodwatch.rules.compile import MEASURES, CompiledConfig, compile_config
from floodwatch.rules.engine import Engine, EngineOutput
from floodwatch.rules.kinds.threshold import ThresholdCore
from floodwatch.rules.thresholds import Threshold
from floodwatch.sim import simulate
from floodwatch.testing import T0, compile_yaml, series
from tests.conftest import POND

CONFIG = compile_config(load_config_dir("config"))
STORMS = {
    name: simulate(name, quiet_ponds={"xiawu-pond": 203.8}).readings
    for name in ("blocked", "open", "flash", "quiet")
}


def run_both(readings: list[Reading], batch_sizes: list[int]) -> tuple[Engine, EngineOutput]:
    """Run both engines over the same batches; assert they agree; return the fast one."""
    engines = [Engine(CONFIG), Engine(CONFIG, fast=False)]
    outputs = [EngineOutput(), EngineOutput()]
    i = 0
    k = 0
    while i < len(readings):
        size = batch_sizes[k % len(batch_sizes)]
        k += 1
        for engine, out in zip(engines, outputs, strict=True):
            out.extend(engine.process(readings[i : i + size]))
        i += size
    for engine, out in zip(engines, outputs, strict=True):
        out.extend(engine.flush())
    fast, exact = outputs
    assert [e.to_json() for e in fast.alerts] == [e.to_json() for e in exact.alerts]
    assert [r.to_json() for r in fast.rejected] == [r.to_json() for r in exact.rejected]
    assert_same_state(*engines)
    return engines[0], fast


def assert_same_state(a: Engine, b: Engine) -> None:
    for table, cols in a.store.columns().items():
        other = b.store.columns()[table]
        for name, column in cols.items():
            assert np.array_equal(column, other[name], equal_nan=True), (table, name)
    assert a.active_alerts() == b.active_alerts()


def perturb(readings: list[Reading], rng: random.Random) -> list[Reading]:
    """Noise, spikes, gaps, stuck runs, bad quality and duplicates, in arrival order."""
    out: list[Reading] = []
    stuck_from = rng.randrange(len(readings))
    for i, r in enumerate(readings):
        roll = rng.random()
        if roll < 0.03:
            continue  # a missing report
        value = r.value
        if r.kind == "level" and roll < 0.05:
            value += rng.choice([-5.0, 5.0])  # a spike
        elif r.kind == "level" and stuck_from <= i < stuck_from + 200:
            value = 310.0
        quality = "suspect" if roll > 0.995 else None
        reading = Reading(r.station, r.kind, value, r.ts, quality)
        out.append(reading)
        if roll > 0.98:
            out.append(reading)  # a duplicate
    return out


def test_storms_agree_and_most_readings_take_the_fast_path() -> None:
    engine, out = run_both(STORMS["blocked"], [20])
    assert len(out.alerts) > 10
    assert engine.readings_fast > 0.3 * engine.readings_evaluated
    engine, out = run_both(STORMS["quiet"], [5_000])
    assert engine.readings_fast == engine.readings_evaluated


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario=st.sampled_from(sorted(STORMS)),
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(1, 400), min_size=1, max_size=5),
)
def test_fast_path_matches_the_exact_path(scenario: str, seed: int, sizes: list[int]) -> None:
    rng = random.Random(seed)
    run_both(perturb(STORMS[scenario], rng), sizes)


def test_gauge_silent_between_two_readings_of_one_batch() -> None:
    readings = [
        r
        for r in STORMS["quiet"]
        if not (
            r.station == "maokeng-pond" and T0 + timedelta(hours=3) < r.ts < T0 + timedelta(hours=5)
        )
    ]
    _, out = run_both(readings, [100_000])
    assert any(e.rule.endswith("/stale") for e in out.alerts)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), cut=st.floats(0.05, 0.95))
def test_snapshot_and_restore_continue_exactly(seed: int, cut: float) -> None:
    """Stopping anywhere, saving, and resuming in a fresh engine changes nothing."""
    rng = random.Random(seed)
    readings = perturb(STORMS[rng.choice(sorted(STORMS))], rng)
    split = int(len(readings) * cut)
    straight = Engine(CONFIG)
    expected = straight.process(readings)
    expected.extend(straight.flush())
    first = Engine(CONFIG)
    out = first.process(readings[:split])
    resumed = Engine(CONFIG)
    snapshot.restore(resumed, snapshot.loads(snapshot.dumps(snapshot.capture(first))))
    assert resumed.forecasts() == first.forecasts()  # the board's live forecast survives
    out.extend(resumed.process(readings[split:]))
    out.extend(resumed.flush())
    assert [e.to_json() for e in out.alerts] == [e.to_json() for e in expected.alerts]
    assert_same_state(straight, resumed)


# -- fail closed: a rule without a fast-path bound is always evaluated exactly --------


class _Unbounded(ThresholdCore):
    """A rule kind the fast path was never told about: it fires at 300 m (far below
    every other line) and declares no quiet region (`fast_bound` → None)."""

    __slots__ = ()

    def on_reading(self, ts: int, value: float, out: list[AlertEvent]) -> None:
        self.evaluate(ts, value, out)


def _with_unbounded(compiled: CompiledConfig) -> dict[tuple[str, str], Series]:
    series = build_series(compiled)
    target = series[("maokeng-pond", "level")]
    ctx = RuleContext(
        rule="unbounded",
        kind="unbounded",
        station="maokeng-pond",
        place=target.station.place,
        measure=MEASURES["level"],
        unit="m",
        levels=(Severity.BLUE,),
    )
    target.rules.append(_Unbounded(ctx, [Threshold(300.0)], [Threshold(299.0)], [0], [0], True))
    return series


def test_a_rule_without_a_bound_is_always_evaluated_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine_module, "build_series", _with_unbounded)
    readings = STORMS["quiet"]
    engine, out = run_both(readings, [5_000])
    assert [(e.rule, e.transition.value) for e in out.alerts] == [("unbounded", "firing")]
    pond = sum(r.station == "maokeng-pond" for r in readings)
    assert engine.readings_fast <= engine.readings_evaluated - pond  # no pond reading went fast


def test_time_to_crest_without_a_gate_has_no_bound() -> None:
    rules = """
rules:
  - id: ttc
    kind: time_to_crest
    stations: [p1]
    levels: {red: {enter: 30m}}
"""
    engine = Engine(compile_yaml(stations=POND, rules=rules))
    engine.process(series("p1", "level", [300.0] * 50))
    engine.flush()
    assert engine.readings_evaluated == 50 and engine.readings_fast == 0
    gated = rules.replace("    levels:", "    evaluate_above: flood_limit\n    levels:")
    engine = Engine(compile_yaml(stations=POND, rules=gated))
    engine.process(series("p1", "level", [300.0] * 50))
    engine.flush()
    assert engine.readings_fast == 50


# -- light series: exact only because a slow rule reads them -------------------------

_LINKED_STATIONS = """
stations:
  - {id: p1, name: p1, type: pond, interval: 1m, links: {outlet: c1, rain_gauge: r1},
     levels: {crest: 312.0, spillway_crest: 311.0, design_flood: 311.4, flood_limit: 310.6},
     structure: {area: [[308, 2200], [310, 14200], [312, 26200], [313, 32200]],
                 spillway: {width: 3.0},
                 outlets: [{invert: 310.2, area: 0.9, measured_by: $outlet}],
                 catchment: {area_km2: 0.6, runoff_coefficient: 0.75, response: 40m}},
     limits: {level: {min: 300, max: 315, max_step: 0.3}}}
  - {id: c1, name: c1, type: culvert, interval: 1m}
  - {id: r1, name: r1, type: rain_gauge, interval: 1m}
"""
_LINKED_RULES = """
rules:
  - id: crest
    kind: time_to_crest
    method: water_balance
    station_types: [pond]
    evaluate_above: flood_limit
    levels: {orange: {enter: 1h}, red: {enter: 30m}}
  - id: blocked
    kind: compound
    station_types: [pond]
    severity: orange
    all:
      - {station: self, metric: rate_of_rise, window: 30m, above: 0.15}
      - {station: $outlet, kind: flow, below: 0.3}
  - id: rain
    kind: rainfall
    station_types: [rain_gauge]
    levels: {blue: {within: {1h: 30, 3h: 50}}, red: {within: {1h: 70, 3h: 120}}}
  - id: health
    kind: sensor_health
    station_types: [pond, culvert, rain_gauge]
"""


@pytest.mark.parametrize("sizes", [[1], [7], [45, 3], [10_000]])
def test_linked_gauges_of_a_forecasting_pond_step_lightly_and_change_nothing(
    sizes: list[int],
) -> None:
    """A pond in flood forecasts by its water balance, which reads its culvert's flow
    and its rain gauge's nowcast: those two go the exact way only to keep their state
    in step (`light`), their rainfall windows caught up after each batch. Alerts,
    rejects and every column agree with the exact engine, for any batching."""
    rng = random.Random(3)
    minutes = 240
    level = [310.8 + 0.4 * m / 60 + 0.003 * rng.random() for m in range(minutes)]
    rain = [0.0 if rng.random() < 0.7 else round(0.3 * rng.random(), 1) for _ in range(minutes)]
    every = timedelta(minutes=1)
    readings = sorted(
        [
            *series("p1", "level", level, every=every),
            *series("c1", "flow", [1.2] * minutes, every=every),
            *series("r1", "rain", rain, every=every),
        ],
        key=lambda r: r.ts,
    )
    compiled = compile_yaml(stations=_LINKED_STATIONS, rules=_LINKED_RULES)
    engines = [Engine(compiled), Engine(compiled, fast=False)]
    outputs = [EngineOutput(), EngineOutput()]
    i = k = 0
    while i < len(readings):
        size = sizes[k % len(sizes)]
        for engine, out in zip(engines, outputs, strict=True):
            out.extend(engine.process(readings[i : i + size]))
        i, k = i + size, k + 1
    for engine, out in zip(engines, outputs, strict=True):
        out.extend(engine.flush())
    fast, exact = outputs
    assert [e.to_json() for e in fast.alerts] == [e.to_json() for e in exact.alerts]
    assert any(e.rule == "crest" for e in fast.alerts)  # the forecast did run and warn
    assert_same_state(*engines)
    # Culvert and rain gauge stepped lightly nearly all day (not at the first
    # readings, before the pond's level is known to be in flood).
    assert engines[0].readings_stepped >= 2 * (minutes - 10)
