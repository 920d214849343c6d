"""`recent_readings`: the board's last day of readings, so its charts survive
a restart (`web/board.py` `Recent` keeps them in memory and saves them here
every few seconds)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from floodwatch.store.db import transaction

Row = tuple[str, str, int, float]  # station, kind, event time (ms), value


class RecentReadings:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def recent_readings(self) -> list[Row]:
        return self.db.execute(
            "SELECT station, kind, ts, value FROM recent_readings ORDER BY ts"
        ).fetchall()

    def keep_recent(self, rows: Iterable[Row], before: int) -> None:
        """Save `rows`; forget those older than `before` (ms)."""
        with transaction(self.db) as db:
            db.executemany("INSERT OR REPLACE INTO recent_readings VALUES (?,?,?,?)", rows)
            db.execute("DELETE FROM recent_readings WHERE ts < ?", (before,))
