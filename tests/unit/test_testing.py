"""`floodwatch.testing`: the in-package harness most rule tests use — a config
from YAML text, readings at a fixed interval, alerts out, and the timeline
golden tests compare."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from floodwatch.alerts.state import Severity, Transition
from floodwatch.config.errors import ConfigError
from floodwatch.readings import Reading
from floodwatch.testing import T0, compile_yaml, run, series, timeline
from tests.conftest import POND

LEVEL = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    hysteresis: 0.05
    levels:
      yellow: {enter: design_flood}
      red: {enter: crest - 0.2}
"""


def test_t0_is_an_aware_utc_time() -> None:
    assert datetime(2026, 7, 7, tzinfo=UTC) == T0


def test_a_config_compiles_from_yaml_text_per_file() -> None:
    compiled = compile_yaml(stations=POND, rules=LEVEL)
    assert set(compiled.stations) == {"p1", "c1", "r1"}
    assert [r.id for r in compiled.config.rules] == ["lvl"]


def test_a_bad_config_fails_with_the_file_and_line_it_was_given_as() -> None:
    with pytest.raises(ConfigError) as caught:
        compile_yaml(stations=POND, rules=LEVEL.replace("stations: [p1]", "stations: [p9]"))
    assert "rules.yaml:5" in str(caught.value) and "'p9'" in str(caught.value)


def test_series_spaces_readings_of_one_station_at_a_fixed_interval() -> None:
    assert series("p1", "level", [1, 2.5]) == [
        Reading("p1", "level", 1.0, T0),
        Reading("p1", "level", 2.5, T0 + timedelta(minutes=5)),
    ]
    later = series(
        "r1", "rain", iter([0, 0, 3]), start=T0 + timedelta(hours=1), every=timedelta(minutes=1)
    )
    assert [r.ts - T0 for r in later] == [timedelta(minutes=m) for m in (60, 61, 62)]
    assert all(isinstance(r.value, float) for r in later)
    assert series("p1", "level", []) == []


def test_readings_in_alerts_out_as_a_timeline_in_minutes() -> None:
    storm = [311.2, 311.45, 311.65, 311.85, 311.6, 311.4, 311.2]
    events = run(compile_yaml(stations=POND, rules=LEVEL), series("p1", "level", storm))
    assert [(e.severity, e.transition) for e in events] == [
        (Severity.YELLOW, Transition.FIRING),
        (Severity.RED, Transition.ESCALATED),
        (Severity.YELLOW, Transition.DOWNGRADED),
        (Severity.YELLOW, Transition.RESOLVED),
    ]
    assert timeline(events) == [
        (5, "yellow", "firing"),
        (15, "red", "escalated"),
        (20, "yellow", "downgraded"),
        (30, "yellow", "resolved"),
    ]
    assert timeline(events, start=T0 + timedelta(minutes=5))[:2] == [
        (0, "yellow", "firing"),
        (10, "red", "escalated"),
    ]
    assert run(compile_yaml(stations=POND, rules=LEVEL), []) == []
