"""Event-time semantics: order within the allowed lateness and duplicates change nothing."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading, RejectReason
from floodwatch.replay.run import run_readings
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine
from floodwatch.sim import simulate
from floodwatch.testing import T0, run, series

CONFIG = compile_config(load_config_dir("config"))
STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings
EXPECTED = [e.to_json() for e in run(CONFIG, STORM)]
LATENESS = CONFIG.lateness_ms / 1000


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), dup_share=st.floats(0.0, 0.2))
def test_shuffle_within_lateness_and_duplicates_change_nothing(seed: int, dup_share: float) -> None:
    rng = random.Random(seed)
    extra = rng.sample(STORM, int(len(STORM) * dup_share))
    arrivals = [(r.ts.timestamp() + rng.uniform(0, LATENESS * 0.999), r) for r in [*STORM, *extra]]
    arrivals.sort(key=lambda pair: pair[0])
    out = run_readings(CONFIG, [r for _, r in arrivals])
    assert [e.to_json() for e in out.alerts] == EXPECTED
    assert {r.reason for r in out.rejected} <= {RejectReason.DUPLICATE}


def test_replaying_twice_gives_identical_ids() -> None:
    assert [e.to_json() for e in run(CONFIG, STORM)] == EXPECTED
    assert len(EXPECTED) > 10


def test_too_late_and_too_far_in_future_are_rejected_with_reason() -> None:
    readings = series("maokeng-pond", "level", [310.5] * 10)
    readings += series("maokeng-culvert", "flow", [0.5] * 10)
    late = Reading("maokeng-pond", "level", 310.5, T0 - timedelta(minutes=30))
    future = Reading("maokeng-pond", "level", 310.5, T0 + timedelta(days=2))
    unknown = Reading("nowhere", "level", 1.0, T0)
    nan = Reading("maokeng-pond", "level", float("nan"), T0)
    engine = Engine(CONFIG)
    out = engine.process(readings)
    out.extend(engine.process([late, future, unknown, nan]))
    out.extend(engine.flush())  # held ahead until the end: nobody confirmed it
    assert sorted(r.reason.value for r in out.rejected) == [
        "not_finite",
        "too_far_in_future",
        "too_late",
        "unknown_station",
    ]


def _every_5_min(station: str, kind: str, start: timedelta, count: int) -> list[Reading]:
    return [
        Reading(station, kind, 0.0, T0 + start + timedelta(minutes=5 * i)) for i in range(count)
    ]


def test_a_gap_in_the_whole_stream_is_jumped_not_a_stall() -> None:
    """After an outage longer than max_future (10 min) every station reports from
    later on: the clock follows instead of refusing the rest of the stream."""
    before = _every_5_min("maokeng-pond", "level", timedelta(0), 12)
    before += _every_5_min("maokeng-culvert", "flow", timedelta(0), 12)
    after = _every_5_min("maokeng-pond", "level", timedelta(hours=3), 12)
    after += _every_5_min("maokeng-culvert", "flow", timedelta(hours=3), 12)
    after.sort(key=lambda r: r.ts)
    engine = Engine(CONFIG)
    out = engine.process(sorted(before, key=lambda r: r.ts))
    out.extend(engine.process(after))
    assert engine.clock == T0 + timedelta(hours=3, minutes=55)
    assert len([r for r in out.rejected if r.reason is RejectReason.TOO_EARLY]) <= 1


def test_one_gauge_alone_after_a_gap_is_followed() -> None:
    """The only station reporting at all is its own quorum: its history is taken whole."""
    engine = Engine(CONFIG)
    out = engine.process(_every_5_min("xiawu-pond", "level", timedelta(0), 12))
    out.extend(engine.process(_every_5_min("xiawu-pond", "level", timedelta(hours=2), 12)))
    out.extend(engine.flush())
    assert engine.clock == T0 + timedelta(hours=2, minutes=55)
    assert out.rejected == []


def test_a_gauge_with_a_wrong_clock_does_not_move_time_while_others_report() -> None:
    engine = Engine(CONFIG)
    good = _every_5_min("maokeng-pond", "level", timedelta(0), 24)
    wrong = _every_5_min("xiawu-pond", "level", timedelta(days=300), 24)
    stream = [r for pair in zip(good, wrong, strict=True) for r in pair]
    out = engine.process(stream)
    assert engine.clock == T0 + timedelta(minutes=115)
    out.extend(engine.flush())
    assert engine.clock == T0 + timedelta(minutes=115)
    assert [r.reading.station for r in out.rejected if r.reading] == ["xiawu-pond"] * 24


def test_a_reading_before_1970_is_refused_and_leaves_the_series_as_it_was() -> None:
    """Epoch ms before 1970 are negative, where the engine's "no reading yet"
    markers live: an archive's '69' read as 1969 would corrupt the series (stale
    notices every 15 minutes, a rate alert lost). Refused with its own reason."""
    storm = STORM[:600]
    old = [
        Reading(r.station, r.kind, r.value, r.ts.replace(year=1969))
        for r in storm[:40]
        if r.station == "maokeng-pond"
    ]
    out = run_readings(CONFIG, [*old, *storm])
    assert [e.to_json() for e in out.alerts] == [e.to_json() for e in run(CONFIG, storm)]
    refused = [r for r in out.rejected if r.reason is RejectReason.BEFORE_1970]
    assert len(refused) == len(old) > 0
    assert "1969-07-" in refused[0].detail and "before 1970-01-01" in refused[0].detail
