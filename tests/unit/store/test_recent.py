"""`store/recent.py`: the board's last day of readings, saved and pruned in
one transaction, read back in event-time order across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from floodwatch.store import Store
from floodwatch.store.recent import RecentReadings


def test_rows_come_back_in_event_time_order(store: Store) -> None:
    recent = RecentReadings(store.db)
    assert recent.recent_readings() == []
    recent.keep_recent([("pond", "level", 3000, 311.2), ("rain", "rain", 1000, 0.5)], before=0)
    recent.keep_recent([("pond", "level", 2000, 311.1)], before=0)
    assert recent.recent_readings() == [
        ("rain", "rain", 1000, 0.5),
        ("pond", "level", 2000, 311.1),
        ("pond", "level", 3000, 311.2),
    ]


def test_rows_older_than_before_are_forgotten_the_boundary_kept(store: Store) -> None:
    recent = RecentReadings(store.db)
    recent.keep_recent([("pond", "level", ts, 311.0) for ts in (1000, 1999, 2000, 2500)], 0)
    recent.keep_recent([], before=2000)
    assert [r[2] for r in recent.recent_readings()] == [2000, 2500]


def test_a_row_saved_again_replaces_the_value_not_doubles_it(store: Store) -> None:
    recent = RecentReadings(store.db)
    recent.keep_recent([("pond", "level", 1000, 311.0)], before=0)
    recent.keep_recent([("pond", "level", 1000, 311.4), ("pond", "rain", 1000, 2.0)], before=0)
    assert recent.recent_readings() == [("pond", "level", 1000, 311.4), ("pond", "rain", 1000, 2.0)]


def test_a_bad_row_saves_nothing_and_prunes_nothing(store: Store) -> None:
    recent = RecentReadings(store.db)
    recent.keep_recent([("pond", "level", 1000, 311.0)], before=0)
    bad = [("pond", "level", 5000, 311.5), ("pond", "level", 6000, None)]
    with pytest.raises(Exception, match="NOT NULL"):
        recent.keep_recent(bad, before=4000)  # type: ignore[arg-type]
    assert recent.recent_readings() == [("pond", "level", 1000, 311.0)]
    assert not store.db.in_transaction


def test_the_readings_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "fw.db"
    store = Store(path)
    RecentReadings(store.db).keep_recent([("pond", "level", 1000, 311.0)], before=0)
    store.close()
    again = Store(path)
    assert RecentReadings(again.db).recent_readings() == [("pond", "level", 1000, 311.0)]
    again.close()
