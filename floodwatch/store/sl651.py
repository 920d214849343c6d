"""`sl651_seen` and `sl651_counters`: what the SL 651 receiver must remember
across a restart — the reports it has stored (deduplication on station,
function, serial and observation time) and each station's last cumulative
rain counter (PT), so a report resent after a restart is confirmed as a
duplicate and the first PT after it is differenced against the one before.

Written by `remember`, called inside the transaction that stores the reports'
readings (the service's step): the memory is exactly as durable as the
readings. The oldest reports are forgotten past `keep`.

A receiver that hands its readings to a broker instead (`floodwatch
sl651-gateway`; `floodwatch run` with `service.kafka`) has the memory
written by `write`, a batch of reports per commit, once the broker has
acknowledged them and before they are confirmed to their RTUs — the
gateway's in a file of its own, `GatewayState`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from floodwatch.store import db as _db
from floodwatch.store.migrations import SL651

Seen = tuple[str, int, int, datetime | None]  # station, function, serial, observation time
Counter = tuple[str, datetime, float]  # station, time (UTC), counter value


class Sl651Memory:
    def __init__(self, db: sqlite3.Connection, keep: int = 200_000) -> None:
        self.db = db
        self.keep = keep

    def load(self) -> tuple[dict[str, tuple[datetime, float]], list[Seen]]:
        """The counters by station, and the reports remembered, oldest first."""
        counters = {
            station: (datetime.fromisoformat(ts), value)
            for station, ts, value in self.db.execute(
                "SELECT station, ts, value FROM sl651_counters"
            )
        }
        seen = [
            (station, function, serial, datetime.fromisoformat(obs) if obs else None)
            for station, function, serial, obs in self.db.execute(
                "SELECT station, function, serial, obs FROM sl651_seen ORDER BY seq DESC LIMIT ?",
                (self.keep,),
            )
        ]
        seen.reverse()
        return counters, seen

    def remember(self, seen: Iterable[Seen], counters: Iterable[Counter]) -> None:
        """Record stored reports and counters (in the caller's transaction)."""
        rows = [(s, f, n, o.isoformat() if o else "") for s, f, n, o in seen]
        if rows:
            self.db.executemany(
                "INSERT OR IGNORE INTO sl651_seen (station, function, serial, obs) "
                "VALUES (?,?,?,?)",
                rows,
            )
            last = self.db.execute("SELECT max(seq) FROM sl651_seen").fetchone()[0] or 0
            if last % 1000 < len(rows):  # now and then: forget the oldest
                self.db.execute("DELETE FROM sl651_seen WHERE seq <= ?", (last - self.keep,))
        self.db.executemany(
            "INSERT OR REPLACE INTO sl651_counters (station, ts, value) VALUES (?,?,?)",
            [(s, ts.isoformat(), v) for s, ts, v in counters],
        )

    def write(self, hooks: Iterable[Callable[[], None]]) -> None:
        """Run the `stored` hooks (each calls `remember`) of reports a broker
        acknowledged in one transaction of their own: one commit (one fsync)
        for the batch. For a receiver whose readings are stored elsewhere."""
        with _db.transaction(self.db):
            for hook in hooks:
                hook()


class GatewayState:
    """The receiver's memory in its own SQLite file (WAL, synchronous=FULL).
    Opened once before serving, used from the event loop's thread only; a
    file that cannot be read is moved aside and a new one made (the memory
    is lost: the engine's duplicate check stands in, one PT interval lost)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as exc:
            _db.move_aside(path, str(exc))  # logged there
            self.db = self._open()
        self.memory = Sl651Memory(self.db)

    def _open(self) -> sqlite3.Connection:
        db = _db.connect(self.path)
        try:
            _db.script(db, SL651)
            found = db.execute("PRAGMA quick_check").fetchone()
            if found is None or found[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {found}")
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def close(self) -> None:
        self.db.close()
