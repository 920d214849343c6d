"""`store/silences.py`: silences made (refused when they would match
nothing or end before they start), listed, in force at an instant (start
inclusive, end exclusive), ended early, and which one holds an alert back —
shared between the CLI's store and the service's on one file."""

from __future__ import annotations

from pathlib import Path

import pytest

from floodwatch.config.models import Station
from floodwatch.store import Store
from floodwatch.store.silences import Silences

RAIN_GAUGE = Station.model_validate(
    {
        "id": "maokeng-rain",
        "name": "毛坑雨量站",
        "type": "rain_gauge",
        "village": {"name": "毛坑村", "code": "330182104201"},
        "town": {"name": "凤川镇", "code": "330182104"},
        "covers": ["330182104202"],  # 下坞村 below it
    }
)
NO_TOWN = Station.model_validate({"id": "lone-pond", "name": "孤塘", "type": "pond"})


def add(silences: Silences, starts: float = 100.0, ends: float = 200.0, **match: list[str]) -> str:
    return silences.add_silence(starts=starts, ends=ends, author="zhang", reason="检修", **match).id


def test_a_silence_is_stored_as_given(store: Store) -> None:
    silences = Silences(store.db)
    made = silences.add_silence(
        starts=100.0,
        ends=200.0,
        author="张工",
        reason="水位计检修",
        stations=["maokeng-pond"],
        villages=["330182104201"],
    )
    assert len(made.id) == 12 and int(made.id, 16) >= 0
    assert silences.silences() == [made]
    assert (made.rules, made.towns) == ([], [])


@pytest.mark.parametrize("ends", [100.0, 99.0])
def test_a_silence_ending_before_it_starts_is_refused(store: Store, ends: float) -> None:
    silences = Silences(store.db)
    with pytest.raises(ValueError, match="end after it starts"):
        add(silences, starts=100.0, ends=ends, stations=["maokeng-pond"])
    assert silences.silences() == []


def test_a_silence_matching_nothing_is_refused(store: Store) -> None:
    silences = Silences(store.db)
    with pytest.raises(ValueError, match="at least one station, rule, village or town"):
        add(silences, stations=[], rules=[])
    assert silences.silences() == []


def test_in_force_from_its_start_until_just_before_its_end(store: Store) -> None:
    silences = Silences(store.db)
    later = add(silences, starts=150.0, ends=300.0, rules=["pond-level"])
    first = add(silences, starts=100.0, ends=200.0, stations=["maokeng-pond"])
    assert [s.id for s in silences.silences()] == [first, later]  # by start
    assert [s.id for s in silences.silences(99.9)] == []
    assert [s.id for s in silences.silences(100.0)] == [first]
    assert [s.id for s in silences.silences(199.9)] == [first, later]
    assert [s.id for s in silences.silences(200.0)] == [later]
    assert [s.id for s in silences.silences(300.0)] == []


def test_ending_a_silence_early_once(store: Store) -> None:
    silences = Silences(store.db)
    made = add(silences, rules=["pond-level"])
    assert silences.end_silence(made, 150.0)
    assert not silences.end_silence(made, 160.0)  # over already
    assert not silences.end_silence("unknown", 150.0)
    [ended] = silences.silences()
    assert ended.ends == 150.0 and silences.silences(150.0) == []


def test_which_silence_holds_an_alert_back(store: Store) -> None:
    silences = Silences(store.db)
    by_village = add(silences, villages=["330182104202"])  # covered by the gauge
    by_town = add(silences, starts=300.0, ends=400.0, towns=["330182104"])
    both = add(silences, starts=500.0, ends=600.0, stations=["maokeng-rain"], rules=["rain"])

    def holding(model: Station | None, rule: str, station: str, now: float) -> str | None:
        silence = silences.silenced_by(model, rule, station, now)
        return None if silence is None else silence.id

    assert holding(RAIN_GAUGE, "rain", "maokeng-rain", 150.0) == by_village
    assert holding(RAIN_GAUGE, "rain", "maokeng-rain", 350.0) == by_town
    assert holding(NO_TOWN, "pond-level", "lone-pond", 350.0) is None
    assert holding(None, "pond-level", "gone", 150.0) is None  # a station removed
    assert holding(RAIN_GAUGE, "rain", "maokeng-rain", 550.0) == both
    assert holding(RAIN_GAUGE, "level", "maokeng-rain", 550.0) is None  # all must match
    assert holding(RAIN_GAUGE, "rain", "maokeng-rain", 250.0) is None  # none in force


def test_a_silence_made_in_a_transaction_rolled_back_is_not_kept(store: Store) -> None:
    silences = Silences(store.db)
    with pytest.raises(RuntimeError), store.transaction():
        add(silences, stations=["maokeng-pond"])
        raise RuntimeError("crash")
    assert silences.silences() == []


def test_a_silence_made_by_the_cli_holds_alerts_in_the_service(tmp_path: Path) -> None:
    cli, service = Store(tmp_path / "fw.db"), Store(tmp_path / "fw.db")
    made = add(Silences(cli.db), towns=["330182104"])
    assert [s.id for s in Silences(service.db).silences(150.0)] == [made]
    assert Silences(cli.db).end_silence(made, 120.0)
    assert Silences(service.db).silenced_by(RAIN_GAUGE, "rain", "maokeng-rain", 150.0) is None
    cli.close()
    service.close()
