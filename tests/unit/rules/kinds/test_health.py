"""`rules.kinds.health`: the quality gate of one series, on its own (no trackers,
so no notices): what is good enough for flood rules, and the limits a station
declares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import MEASURES
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine, EngineOutput
from floodwatch.rules.kinds.health import Health, Limits, SensorHealthRule, limits_of
from floodwatch.rules.store import SERIES_COLUMNS, bind_rows
from tests.integration.services import ROOT

MIN = 60_000
FIVE = 5 * MIN


def gate(
    low: float | None = 300.0,
    high: float | None = 315.0,
    max_step: float | None = 0.3,
    stuck_ms: int | None = None,
) -> Health:
    health = Health(Limits(low, high, max_step), FIVE, MEASURES["level"], stuck_ms)
    cols = {name: np.full(1, init, dtype=dtype) for name, (dtype, init) in SERIES_COLUMNS.items()}
    bind_rows(health, cols=cols, row=0)
    return health


def good(health: Health, *readings: tuple[int, float] | tuple[int, float, str]) -> list[bool]:
    """Whether each (minute, value[, quality]) passes the gate, in order."""
    out: list[AlertEvent] = []
    said = [
        health.check(r[0] * MIN, r[1], r[2] if len(r) == 3 else None, out)  # type: ignore[misc]
        for r in readings
    ]
    assert out == []  # without trackers the gate says nothing
    return said


def test_out_of_range_is_bad_and_the_bounds_themselves_are_good() -> None:
    assert good(gate(), (0, 299.9), (5, 300.0), (10, 315.1)) == [False, True, False]


def test_a_spike_is_measured_from_the_last_good_reading() -> None:
    # +0.4 in one interval is a spike; 310.05 is fine, 0.35 below the spike but
    # 0.05 above 310.0 ten minutes before (the spike never became "last good").
    assert good(gate(), (0, 310.0), (5, 310.4), (10, 310.05), (15, 310.5)) == [
        True,
        False,
        True,
        False,
    ]


def test_the_step_allowed_grows_with_the_time_since_the_last_good_reading() -> None:
    # 0.5 m after two intervals is within 0.3 m per interval; after one it is not
    assert good(gate(), (0, 310.0), (10, 310.5)) == [True, True]
    assert good(gate(), (0, 310.0), (5, 310.5)) == [True, False]


def test_a_value_stuck_for_stuck_for_is_bad_until_it_moves() -> None:
    health = gate(stuck_ms=30 * MIN)
    said = good(health, *[(m, 310.0) for m in range(0, 40, 5)], (40, 310.01))
    assert said == [True] * 6 + [False, False, True]  # bad from 30 min on


def test_qualities_the_gate_takes_and_refuses() -> None:
    said = good(
        gate(),
        (0, 310.0, "gauge_fault"),  # the RTU says its gauge is faulty
        (5, 310.0, "suspect"),  # unknown to the gate: not good
        (10, 310.0, "over_limit"),  # over the RTU's own alarm limit: used
        (15, 310.0, "manual"),
    )
    assert said == [False, False, True, True]


def test_without_limits_any_value_is_good() -> None:
    assert good(gate(None, None, None), (0, -5.0), (5, 1e6)) == [True, True]


def test_rain_can_never_be_negative() -> None:
    assert limits_of("rain", None) == Limits(0.0, None, None)
    declared = SimpleNamespace(min=-2.0, max=80.0, max_step=None)
    assert limits_of("rain", declared) == Limits(0.0, 80.0, None)
    assert limits_of("level", declared) == Limits(-2.0, 80.0, None)


# -- the maintenance notices' trackers, through the engine ------------------------

CONFIG = compile_config(load_config_dir(ROOT / "config"))
T0 = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)


def level(minute: int, value: float) -> Reading:
    return Reading("maokeng-pond", "level", value, T0 + timedelta(minutes=minute))


def health_events(out: EngineOutput) -> list[tuple[str, str]]:
    """(transition, alert id) of the pond's out-of-range notices."""
    return [(e.transition.value, e.id) for e in out.alerts if e.rule.endswith("/out_of_range")]


def pond(engine: Engine) -> Health:
    found = [s.health for s in engine._rows if s.station.id == "maokeng-pond" and s.health]
    assert len(found) == 1
    return found[0]


def test_a_check_makes_its_tracker_only_when_it_first_fails() -> None:
    """Six idle trackers per series were most of the engine's memory: none
    exists before a check fails, and a passing check makes none."""
    engine = Engine(CONFIG)
    assert all(not gate.trackers for gate in engine.health_gates())
    engine.process([level(0, 310.0), level(5, 310.1)])
    engine.flush()
    assert pond(engine).trackers == {}
    raised = engine.process([level(10, 304.0)])
    raised.extend(engine.flush())
    assert [t for t, _ in health_events(raised)] == ["firing"]
    assert set(pond(engine).trackers) == {"out_of_range"}


def test_an_open_check_survives_a_snapshot_and_a_reload_and_clears_in_the_same_episode() -> None:
    engine = Engine(CONFIG)
    out = engine.process([level(0, 310.0), level(5, 304.0)])
    out.extend(engine.flush())
    [(_, episode)] = health_events(out)
    restored = Engine(CONFIG)
    restored.restore(engine.capture())
    reloaded = engine.carry_over(CONFIG)
    for later in (restored, reloaded):
        assert set(pond(later).trackers) == {"out_of_range"}
        back = later.process([level(10, 310.0)])
        back.extend(later.flush())
        assert health_events(back) == [("resolved", episode)]


# -- its config model (the kind's own keys and problems, without a file) -----------


def test_a_sensor_health_rule_checks_only_levels_for_stuck_values_by_default() -> None:
    health = SensorHealthRule.model_validate(
        {"id": "r1", "stations": ["p1"], "kind": "sensor_health"}
    )
    assert health.stuck_kinds == ["level"] and health.stuck_for is None
    assert list(health.problems()) == []
