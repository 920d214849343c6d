"""Silence stage (notify/stages/silence.py): which silence holds an alert back
from people (by station, rule, village or town; the first in force wins), the
alerts of a change split into live and held, and what a change is about."""

from __future__ import annotations

import msgspec

from floodwatch.alerts.state import Severity, Transition
from floodwatch.notify.stages.silence import about, silence_of, split
from floodwatch.rules.incidents.tracker import Change, IncidentTracker
from tests.unit.notify.stages.example import (
    CONFIG,
    CREST,
    LEVEL,
    RAIN,
    STATIONS,
    alert,
    change_of,
    silence,
)


def test_silence_stage_splits_the_alerts_and_an_all_clear_is_about_its_last_alert() -> None:
    change = change_of(LEVEL, CREST, RAIN)
    live, held = split(about(change), [silence(stations=["maokeng-rain"])], STATIONS)
    assert [a.rule for a in live] == ["pond-overtop"] and [a.rule for a in held] == [
        "rain-accumulation"
    ]
    assert silence_of(RAIN, [silence(rules=["pond-level"])], STATIONS) is None
    tracker = IncidentTracker(CONFIG.config.stations, CONFIG.config.engine.incidents)
    tracker.apply([RAIN])
    clear = tracker.apply(
        [alert("rain-accumulation", "rainfall", Severity.ORANGE, "maokeng-rain",
               Transition.RESOLVED, 30)]
    ).changes[0]  # fmt: skip
    assert clear.change is Change.ALL_CLEAR and about(clear) == [clear.cause]


def test_a_silence_covers_by_village_and_by_town_of_the_station() -> None:
    village = silence(villages=["330182104201"])  # 毛坑村: the pond's village
    town = silence(towns=["330182104"])  # 凤川镇
    other = silence(towns=["330182999"])
    assert silence_of(LEVEL, [village], STATIONS) is village
    assert silence_of(RAIN, [town], STATIONS) is town
    assert silence_of(LEVEL, [other], STATIONS) is None
    both = silence(stations=["maokeng-pond"], rules=["pond-level"])  # every field must match
    assert silence_of(LEVEL, [both], STATIONS) is both
    assert silence_of(CREST, [both], STATIONS) is None


def test_the_first_silence_that_covers_wins() -> None:
    first, second = silence(stations=["maokeng-pond"]), silence(rules=["pond-level"])
    assert silence_of(LEVEL, [other := silence(rules=["x"]), first, second], STATIONS) is first
    assert silence_of(LEVEL, [other], STATIONS) is None


def test_a_station_not_in_the_config_is_held_back_only_by_station_or_rule() -> None:
    gone = msgspec.structs.replace(LEVEL, station="removed-by-a-reload")
    assert silence_of(gone, [silence(villages=["330182104201"])], STATIONS) is None
    assert silence_of(gone, [silence(towns=["330182104"])], STATIONS) is None
    by_rule = silence(rules=["pond-level"])
    assert silence_of(gone, [by_rule], STATIONS) is by_rule


def test_with_no_silence_nothing_is_held_and_order_is_kept() -> None:
    assert split([RAIN, LEVEL, CREST], [], STATIONS) == ([RAIN, LEVEL, CREST], [])
    assert split([], [silence(stations=["maokeng-pond"])], STATIONS) == ([], [])


def test_a_lost_gauge_is_about_its_cause_and_a_raise_about_what_it_shows() -> None:
    change = change_of(LEVEL, CREST, RAIN)
    assert [a.rule for a in about(change)] == ["pond-overtop", "rain-accumulation"]
    lost = msgspec.structs.replace(change, change=Change.LOST_OBSERVATION)
    assert about(lost) == [change.cause]
