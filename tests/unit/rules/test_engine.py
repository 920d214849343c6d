"""`rules.engine`: readings in, alert events out, in event time.

Event-time semantics (order within the allowed lateness and duplicates change
nothing, rejected readings come back with their reason, the clock jumps gaps
and ignores a gauge with a wrong clock), then the engine's own API: the
watermark and `flush`, `advance` and staleness, `active_alerts`, `figures`,
`forecasts`, `capture` / `restore`, `carry_over` and `history_ms`."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floodwatch.alerts.state import Severity
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading, RejectReason
from floodwatch.replay.run import run_readings
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine
from floodwatch.rules.snapshot import SnapshotError
from floodwatch.sim import simulate
from floodwatch.testing import T0, compile_yaml, run, series
from tests.conftest import POND

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


# -- the engine's API on a small config -------------------------------------------------

SMALL_RULES = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    levels:
      yellow: {enter: design_flood}
      red: {enter: crest - 0.2}
  - id: ttc
    kind: time_to_crest
    stations: [p1]
    window: 30m
    levels: {orange: {enter: 2h}, red: {enter: 30m}}
  - id: health
    kind: sensor_health
    stations: [p1, c1, r1]
    stale_after: 2
"""
SMALL = compile_yaml(stations=POND, rules=SMALL_RULES)
MIN = timedelta(minutes=1)


def sweep(levels: list[float], start: timedelta = timedelta(0)) -> list[Reading]:
    """Every station of the small config every 5 minutes; p1 at `levels`."""
    out: list[Reading] = []
    for i, level in enumerate(levels):
        ts = T0 + start + 5 * i * MIN
        out += [
            Reading("p1", "level", level, ts),
            Reading("c1", "flow", 0.5, ts),
            Reading("r1", "rain", 0.0, ts),
        ]
    return out


def others(first: int, last: int) -> list[Reading]:
    """c1 and r1 reporting every 5 minutes from minute `first` to `last`."""
    return [
        Reading(station, kind, 0.5 if kind == "flow" else 0.0, T0 + m * MIN)  # type: ignore[arg-type]
        for m in range(first, last + 1, 5)
        for station, kind in (("c1", "flow"), ("r1", "rain"))
    ]


def test_readings_wait_for_the_watermark_and_flush_releases_the_rest() -> None:
    engine = Engine(SMALL)
    assert engine.clock is None and engine.clock_ms is None
    out = engine.process(sweep([311.2, 311.2, 311.45]))
    assert engine.clock == T0 + 10 * MIN
    assert out.alerts == []  # 311.45 at 10 min is within the allowed lateness (2 min)
    assert engine.buffered == 3
    end = engine.flush()
    assert engine.buffered == 0
    assert [(e.rule, e.severity.value, e.transition.value) for e in end.alerts] == [
        ("lvl", "yellow", "firing")
    ]


def test_the_next_readings_release_what_the_watermark_passed() -> None:
    engine = Engine(SMALL)
    engine.process(sweep([311.2, 311.45]))
    out = engine.process(sweep([311.45], start=10 * MIN))
    assert [(e.rule, e.ts) for e in out.alerts] == [("lvl", T0 + 5 * MIN)]


def test_advance_moves_the_clock_and_a_silent_gauge_becomes_stale() -> None:
    engine = Engine(SMALL)
    engine.process(sweep([311.0] * 3))
    assert engine.advance(T0 + 22 * MIN).alerts == []  # due at 20 min, watermark at 20
    out = engine.advance(T0 + 23 * MIN)
    assert engine.clock == T0 + 23 * MIN
    assert [(e.station, e.rule, e.severity) for e in out.alerts] == [
        (station, "health/stale", Severity.INFO) for station in ("p1", "c1", "r1")
    ]  # silent since 10 min: two reports missed
    assert engine.advance(T0 + 60 * MIN).alerts == []  # once per silence
    engine.advance(T0 + 30 * MIN)  # a tick never moves the clock back
    assert engine.clock == T0 + 60 * MIN


def test_live_advance_never_runs_past_the_wall_clock() -> None:
    engine = Engine(SMALL)
    engine.bound(int((T0 + 30 * MIN).timestamp() * 1000))
    engine.process(sweep([311.0]))
    engine.advance(T0 + 3 * 60 * MIN)
    assert engine.clock == T0 + 30 * MIN


def test_active_alerts_most_severe_first_then_by_their_start() -> None:
    """The culvert's meter never reports (stale from 10 min, the earliest start);
    the forecast is orange from 15 min, red at 25; the level yellow at 20, red at 30."""
    engine = Engine(SMALL)
    levels = [311.0, 311.0, 311.0, 311.2, 311.45, 311.7, 311.85, 311.85]
    engine.process([r for r in sweep(levels) if r.station != "c1"])
    engine.flush()
    active = engine.active_alerts()
    assert [(a.rule, a.station, a.severity.value) for a in active] == [
        ("ttc", "p1", "red"),
        ("lvl", "p1", "red"),
        ("health/stale", "c1", "info"),
    ]
    # since: the episode's start, not its last change
    assert [a.since for a in active] == [T0 + 15 * MIN, T0 + 20 * MIN, T0 + 10 * MIN]
    assert active[1].id.startswith("p1:lvl:")


def test_figures_tell_what_each_active_alerts_rule_measures_now() -> None:
    engine = Engine(SMALL)
    out = engine.process(sweep([311.2, 311.45, 311.6, 311.7]))
    out.extend(engine.flush())
    [firing] = [e for e in out.alerts if e.rule == "lvl"]
    now = engine.figures()
    assert now[firing.id].value == 311.7
    assert now[firing.id].ts == int((T0 + 15 * MIN).timestamp() * 1000)
    # the output holds the figures of the instant that raised the alert
    at = dict(out.figures)[int(firing.ts.timestamp() * 1000)]
    assert at[firing.id].value == 311.45


def test_forecasts_hold_each_time_to_crest_rules_latest_forecast() -> None:
    engine = Engine(SMALL)
    assert engine.forecasts() == {}
    out = engine.process(sweep([311.0 + 0.05 * i for i in range(8)]))
    out.extend(engine.flush())
    (ts, forecast) = engine.forecasts()[("p1", "ttc")]
    assert ts == int((T0 + 35 * MIN).timestamp() * 1000)
    assert forecast["rate_m_per_h"] == 0.6 and 60 < forecast["minutes_to_crest"] < 70


def test_capture_and_restore_continue_exactly_and_refuse_another_layout() -> None:
    readings = sweep([311.0 + 0.05 * i for i in range(20)])
    straight = Engine(SMALL)
    expected = straight.process(readings)
    expected.extend(straight.flush())
    first = Engine(SMALL)
    out = first.process(readings[:25])
    resumed = Engine(SMALL)
    resumed.restore(first.capture())
    assert resumed.clock == first.clock and resumed.buffered == first.buffered
    assert resumed.active_alerts() == first.active_alerts()
    out.extend(resumed.process(readings[25:]))
    out.extend(resumed.flush())
    assert [e.to_json() for e in out.alerts] == [e.to_json() for e in expected.alerts]
    other = Engine(
        compile_yaml(stations=POND, rules=SMALL_RULES.replace("window: 30m", "window: 1h"))
    )
    with pytest.raises(SnapshotError):
        other.restore(first.capture())


def test_carry_over_gives_a_fresh_engine_in_the_same_state_and_leaves_this_one() -> None:
    readings = sweep([311.2, 311.45, 311.7, 311.85, 311.6, 311.3, 311.1])
    engine = Engine(SMALL)
    engine.process(readings[:9])
    fresh = engine.carry_over(SMALL)
    assert fresh is not engine and fresh.compiled is SMALL
    assert fresh.active_alerts() == engine.active_alerts() != []
    assert fresh.clock == engine.clock
    a = engine.process(readings[9:])
    b = fresh.process(readings[9:])
    a.extend(engine.flush())
    b.extend(fresh.flush())
    assert [e.to_json() for e in a.alerts] == [e.to_json() for e in b.alerts] != []


def test_history_is_the_longest_window_and_dwell_and_the_lateness() -> None:
    engine = Engine(SMALL)
    assert engine.history_ms() == 30 * 60_000 + 0 + 2 * 60_000
    held = compile_yaml(
        stations=POND,
        rules=SMALL_RULES.replace("kind: level\n", "kind: level\n    clear_for: 1h\n"),
    )
    assert Engine(held).history_ms() == 30 * 60_000 + 60 * 60_000 + 2 * 60_000


def test_readings_the_engine_cannot_take_are_refused_with_their_reason() -> None:
    engine = Engine(SMALL)
    out = engine.process(sweep([311.0, 311.0, 311.0]))
    naive = Reading("p1", "level", 311.0, (T0 + 11 * MIN).replace(tzinfo=None))
    wrong_kind = Reading("p1", "rain", 1.0, T0 + 11 * MIN)
    out.extend(engine.process([naive, wrong_kind]))
    # at 10 min: a second value for an instant already evaluated (flushed below)
    conflict = Reading("p1", "level", 311.2, T0 + 10 * MIN)
    same = Reading("p1", "level", 311.0, T0 + 10 * MIN)
    out.extend(engine.process([same, conflict]))
    out.extend(engine.flush())
    again = Reading("p1", "level", 311.0, T0 + 10 * MIN)  # the latest released, again
    old = Reading("p1", "level", 311.0, T0 + 5 * MIN)  # behind the watermark
    out.extend(engine.process([again, old]))
    reasons = [(r.reason, r.reading.station if r.reading else None) for r in out.rejected]
    assert reasons == [
        (RejectReason.NAIVE_TIME, "p1"),
        (RejectReason.UNEXPECTED_KIND, "p1"),
        (RejectReason.CONFLICTING_DUPLICATE, "p1"),
        (RejectReason.DUPLICATE, "p1"),
        (RejectReason.TOO_LATE, "p1"),
    ]
    assert "reports level, not 'rain'" in out.rejected[1].detail
    assert out.rejected[2].reading is not None and out.rejected[2].reading.value == 311.2


def test_rule_instances_and_health_gates_are_listed_once_in_row_order() -> None:
    engine = Engine(SMALL)
    assert [r.ctx.rule for r in engine.rule_instances()] == ["lvl", "ttc"]
    gates = engine.health_gates()
    assert len(gates) == 3 and all(g.track for g in gates)
