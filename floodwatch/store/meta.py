"""`meta`: small named values (Kafka commits, the board's state, secrets of
older releases being moved out), and the store's own liveness check."""

from __future__ import annotations

import logging
import sqlite3
import time

from floodwatch.store.db import transaction

log = logging.getLogger(__name__)


class Meta:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def writable(self) -> bool:
        try:
            with transaction(self.db) as db:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('checked_at', ?)", (time.time(),))
        except sqlite3.Error:
            return False
        return True

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def forget_meta(self, key: str) -> bool:
        """Delete a meta row and overwrite its bytes in the file and the WAL
        (a secret that must not stay readable in the database). False, with a
        warning, when another connection's read kept the WAL from being
        emptied (after the busy timeout): the old bytes stay in the WAL until
        it is; calling again later finishes the wipe."""
        self.db.execute("PRAGMA secure_delete = ON")
        with transaction(self.db):
            self.db.execute("DELETE FROM meta WHERE key = ?", (key,))
        self.db.execute("PRAGMA secure_delete = OFF")
        busy = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            log.warning(
                "meta %r deleted, but another connection is reading the store: its old "
                "bytes stay in the WAL until the next full checkpoint",
                key,
            )
        return not busy
