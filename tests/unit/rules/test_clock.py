"""Clock discipline: no single station moves the event clock, live or in a replay.

Live service passes the wall clock in (`Engine.bound`); replay and backtest do
not. Every test here failed on the engine before clock discipline (one gauge
could move the clock anywhere, and history was refused for its own gaps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading, RejectReason, ts_to_ms
from floodwatch.replay.run import run_readings
from floodwatch.rules.clock import ClockGuard, span
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine, EngineOutput
from floodwatch.testing import T0, compile_yaml

CONFIG = compile_config(load_config_dir("config"))
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # the wall clock in the live tests
FIVE = timedelta(minutes=5)


def _live(engine: Engine, readings: list[Reading], wall: datetime) -> EngineOutput:
    engine.bound(ts_to_ms(wall))
    return engine.process(readings)


def _step(at: datetime, *stations: str) -> list[Reading]:
    kinds = {"maokeng-pond": "level", "maokeng-culvert": "flow", "maokeng-rain": "rain"}
    values = {
        "maokeng-pond": 310.2,
        "maokeng-culvert": 0.8,
        "maokeng-rain": 0.0,
        "xiawu-pond": 203.8,
    }
    return [Reading(s, kinds.get(s, "level"), values[s], at) for s in stations]  # type: ignore[arg-type]


def _stale(alerts: list[AlertEvent]) -> list[str]:
    """Stations with a stale alert."""
    return sorted({a.station for a in alerts if a.details.get("check") == "stale"})


# -- live: the wall clock bounds the event clock ------------------------------------


def test_live_three_readings_of_one_gauge_stamped_2099_do_not_move_the_clock() -> None:
    engine = Engine(CONFIG)
    out = EngineOutput()
    year_2099 = datetime(2099, 1, 1, tzinfo=UTC)
    for i in range(12):
        at = NOW - timedelta(hours=1) + i * FIVE
        batch = _step(at, "maokeng-pond", "maokeng-culvert", "maokeng-rain")
        if 4 <= i < 7:
            batch.append(Reading("xiawu-pond", "level", 203.8, year_2099 + i * FIVE))
        else:
            batch += _step(at, "xiawu-pond")
        out.extend(_live(engine, batch, at + timedelta(seconds=20)))
    assert engine.clock == NOW - timedelta(hours=1) + 11 * FIVE
    refused = [r for r in out.rejected if r.reason is RejectReason.TOO_EARLY]
    assert [r.reading.station for r in refused if r.reading] == ["xiawu-pond"] * 3
    assert [r.reason for r in out.rejected] == [RejectReason.TOO_EARLY] * 3  # others admitted
    assert _stale(out.alerts) == ["xiawu-pond"]  # its readings were refused: silent for 15 min


def test_live_a_first_reading_stamped_9999_does_not_start_the_clock() -> None:
    engine = Engine(CONFIG)
    far = Reading("xiawu-pond", "level", 203.8, datetime(9999, 1, 1, tzinfo=UTC))
    out = _live(engine, [far], NOW)
    assert engine.clock is None
    assert [r.reason for r in out.rejected] == [RejectReason.TOO_EARLY]
    out = _live(engine, _step(NOW, "maokeng-pond", "xiawu-pond"), NOW + timedelta(seconds=5))
    assert engine.clock == NOW
    assert out.rejected == []


def test_live_beijing_time_sent_as_utc_is_refused_with_a_clock_notice() -> None:
    """A gateway stamping Beijing time as UTC is 8 h ahead: refused, dead-lettered
    `too_far_in_future`, one `info` notice for the station in words people use;
    the notice resolves when its clock is right again."""
    engine = Engine(CONFIG)
    out = EngineOutput()
    for i in range(6):
        at = NOW + i * FIVE
        batch = _step(at, "maokeng-culvert", "maokeng-rain", "xiawu-pond")
        batch.append(Reading("maokeng-pond", "level", 310.2, at + timedelta(hours=8)))
        out.extend(_live(engine, batch, at + timedelta(seconds=30)))
    assert engine.clock == NOW + 5 * FIVE
    assert {r.reason for r in out.rejected} == {RejectReason.TOO_EARLY}
    assert len(out.rejected) == 6
    assert "ahead of the wall clock" in out.rejected[0].detail
    notices = [a for a in out.alerts if a.rule == "clock"]
    assert len(notices) == 1
    notice = notices[0]
    assert notice.station == "maokeng-pond"
    assert notice.severity.value == "info"
    assert "毛坑山塘水位计时钟超前8小时，读数未采用，请校准时钟" in notice.message_zh
    assert "clock about 8 h ahead" in notice.message_en
    fixed = _live(engine, _step(NOW + 6 * FIVE, "maokeng-pond"), NOW + 6 * FIVE)
    assert [(a.rule, a.transition.value) for a in fixed.alerts] == [("clock", "resolved")]
    assert fixed.alerts[0].id == notice.id


def test_live_a_gauge_reset_to_2000_is_refused_with_a_clock_behind_notice() -> None:
    engine = Engine(CONFIG)
    out = EngineOutput()
    for i in range(4):
        at = NOW + i * FIVE
        batch = _step(at, "maokeng-pond", "maokeng-culvert", "maokeng-rain")
        batch.append(
            Reading("xiawu-pond", "level", 203.8, datetime(2000, 1, 1, tzinfo=UTC) + i * FIVE)
        )
        out.extend(_live(engine, batch, at + timedelta(seconds=10)))
    assert engine.clock == NOW + 3 * FIVE
    assert [r.reason for r in out.rejected] == [RejectReason.TOO_LATE] * 4
    notices = [a for a in out.alerts if a.rule == "clock"]
    assert [(a.station, a.transition.value) for a in notices] == [("xiawu-pond", "firing")]
    assert "下坞山塘水位计时钟滞后约27年" in notices[0].message_zh


def test_live_cold_start_beside_a_gauge_reset_to_2000_starts_from_now() -> None:
    engine = Engine(CONFIG)
    reset = Reading("xiawu-pond", "level", 203.8, datetime(2000, 1, 1, tzinfo=UTC))
    out = _live(engine, [reset, *_step(NOW, "maokeng-pond")], NOW + timedelta(seconds=10))
    assert engine.clock == NOW
    assert [r.reason for r in out.rejected] == [RejectReason.TOO_LATE]


def test_live_cold_start_on_a_gauge_reset_to_2000_alone_recovers_without_stale_alerts() -> None:
    """The reset gauge happens to be the first to report after a start: the
    first on-time readings take the clock to now, nobody is called silent for
    the 26 years skipped, and the gauge's next readings bring its notice."""
    engine = Engine(CONFIG)
    reset = datetime(2000, 1, 1, tzinfo=UTC)
    out = _live(engine, [Reading("xiawu-pond", "level", 203.8, reset)], NOW)
    stations = ("maokeng-pond", "maokeng-culvert", "maokeng-rain")
    for i in range(1, 6):
        batch = [*_step(NOW + i * FIVE, *stations)]
        batch.append(Reading("xiawu-pond", "level", 203.8, reset + i * FIVE))
        out.extend(_live(engine, batch, NOW + i * FIVE + timedelta(seconds=10)))
    assert engine.clock == NOW + 5 * FIVE
    assert _stale(out.alerts) == ["xiawu-pond"]  # its readings are refused: silent now
    notices = [(a.station, a.transition.value) for a in out.alerts if a.rule == "clock"]
    assert notices == [("xiawu-pond", "firing")]


def test_live_the_clock_never_runs_past_the_wall_clock() -> None:
    """A gauge a little ahead (within the skew) is taken, but holds no one else up."""
    engine = Engine(CONFIG)
    _live(engine, _step(NOW, "maokeng-pond", "xiawu-pond"), NOW)
    ahead = Reading("maokeng-pond", "level", 310.2, NOW + timedelta(minutes=4))
    out = _live(engine, [ahead], NOW + timedelta(seconds=30))
    assert out.rejected == []
    assert engine.clock == NOW + timedelta(seconds=30)
    out = _live(
        engine, _step(NOW + timedelta(seconds=20), "xiawu-pond"), NOW + timedelta(seconds=40)
    )
    assert out.rejected == []
    engine.advance(NOW + timedelta(hours=1))
    assert engine.clock == NOW + timedelta(seconds=40)


# -- replay and backtest: no wall clock, history taken whole ------------------------


def test_replay_three_readings_of_one_gauge_stamped_2099_do_not_drag_the_clock() -> None:
    """A burst of three readings from one wrong clock, nothing between them: once
    enough for the clock to jump there; now one station alone never moves it."""
    year_2099 = datetime(2099, 1, 1, tzinfo=UTC)
    stream: list[Reading] = []
    for i in range(24):
        at = T0 + i * FIVE
        if i == 6:
            stream += [
                Reading("xiawu-pond", "level", 203.8, year_2099 + k * FIVE) for k in range(3)
            ]
        stream += _step(at, "maokeng-pond", "maokeng-culvert", "maokeng-rain", "xiawu-pond")
    engine = Engine(CONFIG)
    out = engine.process(stream)
    assert engine.clock == T0 + 23 * FIVE
    out.extend(engine.flush())
    assert engine.clock == T0 + 23 * FIVE
    assert [(r.reason, r.reading.station) for r in out.rejected if r.reading] == [
        (RejectReason.TOO_EARLY, "xiawu-pond")
    ] * 3
    assert out.alerts == []  # nothing stale, nothing at 2099


def test_replay_a_first_reading_stamped_9999_does_not_start_the_clock() -> None:
    engine = Engine(CONFIG)
    out = engine.process([Reading("xiawu-pond", "level", 203.8, datetime(9999, 1, 1, tzinfo=UTC))])
    assert engine.clock is None  # one station alone is no quorum
    stations = ("maokeng-pond", "maokeng-culvert", "maokeng-rain", "xiawu-pond")
    stream = [r for i in range(12) for r in _step(T0 + i * FIVE, *stations)]
    out.extend(engine.process(stream))
    assert engine.clock == T0 + 11 * FIVE
    out.extend(engine.flush())
    assert [r.reason for r in out.rejected] == [RejectReason.TOO_EARLY]
    assert out.alerts == []


HOURLY = compile_yaml(
    stations="""
stations:
  - id: hill-rain
    name: 山顶雨量站
    name_en: Hilltop rain gauge
    type: rain_gauge
    interval: 5m
    limits:
      rain: {min: 0.0, max: 200.0}
  - id: hill-well
    name: 山脚观测井
    name_en: Hillfoot well
    type: river
    interval: 5m
""",
    rules="""
rules:
  - id: rain-accumulation
    name: 累计雨量
    kind: rainfall
    station_types: [rain_gauge]
    clear_for: 30m
    levels:
      blue: {within: {1h: 30, 3h: 50, 6h: 80, 24h: 120}}
      red: {within: {1h: 70, 3h: 120, 6h: 160, 24h: 250}, stage: evacuate}
  - id: sensor-health
    name: 设备状态
    kind: sensor_health
    station_types: [rain_gauge, river]
    stale_after: 2
""",
)
STORM_HOUR = 24 * 20 + 15  # the record storm, hours after T0


def _hourly(hours: int, *, well: bool = True, start: datetime = T0) -> list[Reading]:
    """An hourly archive (小时报): a rain gauge and a groundwater well, a dry month
    with one 85.7 mm/h storm, rain first within each hour (as exports list it)."""
    out: list[Reading] = []
    for h in range(hours):
        at = start + timedelta(hours=h)
        rain = 85.7 if h == STORM_HOUR else (2.0 if h % 37 == 0 else 0.0)
        out.append(Reading("hill-rain", "rain", rain, at))
        if well:
            out.append(Reading("hill-well", "level", 12.0 + 0.001 * (h % 50), at))
    return out


def test_hourly_history_is_taken_whole_with_default_settings() -> None:
    """Each new hour is 60 min ahead of the clock (max_future is 10 min): it is
    held until the second station confirms the hour, never refused; the gaps
    between hourly reports are the record's, not silent gauges."""
    out = run_readings(HOURLY, _hourly(24 * 30))
    assert out.rejected == []
    fired = [a for a in out.alerts if a.transition.value == "firing"]
    assert [(a.rule, a.severity.value, a.ts) for a in fired] == [
        ("rain-accumulation", "red", T0 + timedelta(hours=STORM_HOUR))
    ]


def test_one_stations_hourly_history_alone_is_taken_whole() -> None:
    out = run_readings(HOURLY, _hourly(24 * 30, well=False))
    assert out.rejected == []
    assert [(a.severity.value, a.ts) for a in out.alerts if a.transition.value == "firing"] == [
        ("red", T0 + timedelta(hours=STORM_HOUR))
    ]


def test_hourly_history_keeps_its_last_hour_and_refuses_a_wrong_clock() -> None:
    stream = _hourly(48)
    stream.insert(30, Reading("hill-well", "level", 12.0, datetime(2099, 1, 1, tzinfo=UTC)))
    stream.append(Reading("hill-rain", "rain", 0.0, T0 + timedelta(hours=48)))  # well's is missing
    out = run_readings(HOURLY, stream)
    assert [(r.reason, r.reading.ts.year) for r in out.rejected if r.reading] == [
        (RejectReason.TOO_EARLY, 2099)
    ]
    assert out.alerts == []


def test_stitched_storms_with_gaps_are_taken_whole() -> None:
    """Three storms of the example county months apart, in one file: every reading
    is taken and each storm raises what it raises alone; the gaps between them
    are not silent gauges."""
    from floodwatch.sim import simulate

    storm = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings
    alone = [a.to_json() for a in run_readings(CONFIG, storm).alerts]
    gaps = (timedelta(0), timedelta(days=41), timedelta(days=97))
    stitched = [
        Reading(r.station, r.kind, r.value, r.ts + gap, r.quality) for gap in gaps for r in storm
    ]
    out = run_readings(CONFIG, stitched)
    assert out.rejected == []
    assert _stale(out.alerts) == []
    assert [a.to_json() for a in out.alerts[: len(alone)]] == alone
    for gap in gaps[1:]:  # each later storm warns red again, in its own time
        red = [a for a in out.alerts if a.rule == "pond-level" and a.severity.value == "red"]
        assert any(abs(a.ts - (storm[0].ts + gap)) < timedelta(days=2) for a in red)


def test_a_snapshot_keeps_the_open_clock_notices_and_who_reported() -> None:
    from floodwatch.rules import snapshot

    engine = Engine(CONFIG)
    batch = [
        *_step(NOW, "maokeng-pond"),
        Reading("xiawu-pond", "level", 203.8, NOW + timedelta(hours=8)),
    ]
    _live(engine, batch, NOW)
    restored = Engine(CONFIG)
    snapshot.restore(restored, snapshot.loads(snapshot.dumps(snapshot.capture(engine))))
    assert restored.notices.open == engine.notices.open
    assert restored.guard.seen.tolist() == engine.guard.seen.tolist()
    fixed = _live(restored, _step(NOW + FIVE, "xiawu-pond"), NOW + FIVE)
    assert [(a.rule, a.transition.value) for a in fixed.alerts] == [("clock", "resolved")]


# -- `rules.clock.ClockGuard` directly: who may move the clock --------------------------

MIN = 60_000


def _walk(guard: ClockGuard, clock: int, *readings: tuple[int, int]) -> int:
    """Walk readings given as (minutes, station index) from `clock` (minutes)."""
    t = np.array([m * MIN for m, _ in readings], dtype=np.int64)
    st = np.array([s for _, s in readings], dtype=np.int64)
    guard.seen[st] = True
    return guard.walk(clock * MIN, t, st) // MIN


def test_guard_moves_the_clock_by_readings_within_max_future() -> None:
    guard = ClockGuard(stations=3, max_future_ms=10 * MIN, skew_ms=5 * MIN)
    assert _walk(guard, 100, (105, 1), (110, 2), (118, 1)) == 118
    assert guard.ahead == {}


def test_guard_holds_one_station_far_ahead_and_jumps_on_a_quorum() -> None:
    guard = ClockGuard(stations=3, max_future_ms=10 * MIN, skew_ms=5 * MIN)
    guard.seen[[1, 2]] = True
    assert _walk(guard, 100, (200, 1)) == 100  # one station alone moves nothing
    assert guard.ahead == {1: 200 * MIN}
    assert _walk(guard, 100, (190, 2)) == 190  # two agree: the clock jumps to the nearer
    assert guard.holes.end_of(150 * MIN) == 190 * MIN  # replay: the gap is a hole
    assert guard.jumps.usual() == 90 * MIN


def test_guard_with_a_single_station_jumps_alone() -> None:
    guard = ClockGuard(stations=1, max_future_ms=10 * MIN, skew_ms=5 * MIN)
    assert _walk(guard, 100, (200, 1)) == 200


def test_guard_live_never_runs_past_the_wall_clock() -> None:
    guard = ClockGuard(stations=3, max_future_ms=10 * MIN, skew_ms=5 * MIN)
    guard.wall = 106 * MIN
    assert _walk(guard, 100, (109, 1)) == 106
    # far ahead of the clock but within the skew of the wall clock: confirmed at once
    guard.wall = 300 * MIN
    assert _walk(guard, 106, (298, 2)) == 298
    assert guard.holes.end_of(200 * MIN) is None  # a live outage is no hole


def test_guard_settle_refuses_what_lies_beyond_the_usual_step() -> None:
    guard = ClockGuard(stations=2, max_future_ms=10 * MIN, skew_ms=5 * MIN)
    clock, refused = guard.settle(100 * MIN, np.array([105 * MIN, 108 * MIN, 400 * MIN]))
    assert clock == 108 * MIN
    assert refused.tolist() == [False, False, True]


def test_span_says_an_offset_as_people_do() -> None:
    assert span(8 * 60 * MIN) == ("8小时", "about 8 h")
    assert span(-26 * 365 * 24 * 60 * MIN) == ("约26年", "about 26 years")
    assert span(3 * 24 * 60 * MIN) == ("约3天", "about 3 days")
    assert span(10_000) == ("1分钟", "about 1 min")
