"""The durable store (SQLite, WAL): the alert ledger, active alerts, the inbox.

- `transitions`: every alert transition ever emitted, keyed by (alert id,
  transition, severity, event time). Recording is `INSERT OR IGNORE`, so an
  engine that re-computes transitions after a restart (replaying its inbox or
  re-reading Kafka) adds nothing twice, and `record` says which are new — only
  those are notified.
- `active`: the alerts firing now, as of the last transition stored.
- `outbox`: every delivery of an alert transition to a destination, written
  in the same transaction as the transition; pending until the destination
  confirms it (`done`) or refuses it for good (`dead`). A crash loses none; a
  restart resends only those not confirmed, under the same idempotency key.
- `inbox`: MQTT messages received since the last engine snapshot, numbered by
  a sequence that never goes back (AUTOINCREMENT: pruning must not make a new
  message look older than the snapshot). They are
  stored before they are acknowledged to the broker, in the same transaction as
  the alerts they produced, so a crash loses none: the next start replays them
  on top of the snapshot.

A database that cannot be opened is moved aside and a new one created; the
service reports it and starts.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Transition
from floodwatch.readings import ts_to_ms

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS transitions (
    id TEXT NOT NULL, transition TEXT NOT NULL, severity TEXT NOT NULL, ts INTEGER NOT NULL,
    rule TEXT NOT NULL, station TEXT NOT NULL, status TEXT NOT NULL,
    event TEXT NOT NULL, stored_at INTEGER NOT NULL,
    PRIMARY KEY (id, transition, severity, ts)
);
CREATE INDEX IF NOT EXISTS transitions_ts ON transitions (ts);
CREATE TABLE IF NOT EXISTS active (
    id TEXT PRIMARY KEY, rule TEXT NOT NULL, station TEXT NOT NULL,
    severity TEXT NOT NULL, since INTEGER NOT NULL, event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, batch INTEGER NOT NULL, source TEXT NOT NULL,
    topic TEXT NOT NULL, format TEXT NOT NULL, payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY, destination TEXT NOT NULL, event TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL, next_at REAL NOT NULL,
    last_error TEXT, created REAL NOT NULL, done_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, destination, next_at);
"""


@dataclass(frozen=True)
class Delivery:
    key: str  # idempotency key: (alert id, transition, severity, time, destination)
    destination: str
    event: str  # the alert event JSON
    attempts: int


_encode = msgspec.json.Encoder()


@dataclass(frozen=True)
class InboxRow:
    seq: int
    batch: int  # rows of one engine step share it: replays repeat the same steps
    source: str
    topic: str
    format: str
    payload: bytes


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.moved_aside: Path | None = None
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as exc:
            self.moved_aside = _move_aside(self.path, str(exc))
            self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(SCHEMA)
            db.execute("SELECT count(*) FROM transitions").fetchone()
            check = db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def writable(self) -> bool:
        try:
            with self.transaction() as db:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('checked_at', ?)", (time.time(),))
        except sqlite3.Error:
            return False
        return True

    # -- alerts ------------------------------------------------------------------

    def record(self, events: Iterable[AlertEvent]) -> list[AlertEvent]:
        """Store transitions (inside a transaction); return those not stored before."""
        new = []
        now = int(time.time() * 1000)
        for e in events:
            body = _encode.encode(e.to_json()).decode()
            ts = ts_to_ms(e.ts)
            cur = self.db.execute(
                "INSERT OR IGNORE INTO transitions VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    e.id,
                    e.transition.value,
                    e.severity.value,
                    ts,
                    e.rule,
                    e.station,
                    e.status.value,
                    body,
                    now,
                ),
            )
            if cur.rowcount:
                new.append(e)
            if e.transition is Transition.RESOLVED:
                self.db.execute("DELETE FROM active WHERE id = ?", (e.id,))
            else:
                self.db.execute(
                    "INSERT OR REPLACE INTO active VALUES (?,?,?,?,?,?)",
                    (e.id, e.rule, e.station, e.severity.value, ts_to_ms(e.episode_start), body),
                )
        return new

    def transitions(self) -> list[dict[str, object]]:
        rows = self.db.execute("SELECT event FROM transitions ORDER BY ts, id, transition")
        return [msgspec.json.decode(r[0]) for r in rows]

    def active(self) -> list[dict[str, object]]:
        rows = self.db.execute("SELECT event FROM active ORDER BY since, id")
        return [msgspec.json.decode(r[0]) for r in rows]

    # -- inbox -------------------------------------------------------------------

    # -- outbox ------------------------------------------------------------------

    def enqueue(self, deliveries: Iterable[tuple[str, str, AlertEvent]]) -> int:
        """(key, destination, event) rows to deliver (inside a transaction)."""
        now = time.time()
        count = 0
        for key, destination, event in deliveries:
            body = _encode.encode(event.to_json()).decode()
            cur = self.db.execute(
                "INSERT OR IGNORE INTO outbox VALUES (?,?,?,'pending',0,?,NULL,?,NULL)",
                (key, destination, body, now, now),
            )
            count += cur.rowcount
        return count

    def due(self, destination: str, now: float, limit: int = 100) -> list[Delivery]:
        rows = self.db.execute(
            "SELECT key, destination, event, attempts FROM outbox WHERE state = 'pending' "
            "AND destination = ? AND next_at <= ? ORDER BY next_at, created LIMIT ?",
            (destination, now, limit),
        ).fetchall()
        return [Delivery(*row) for row in rows]

    def next_due(self, destination: str) -> float | None:
        row = self.db.execute(
            "SELECT min(next_at) FROM outbox WHERE state = 'pending' AND destination = ?",
            (destination,),
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def delivered(self, key: str, state: str, error: str | None = None) -> None:
        """Final outcome: 'done' (confirmed) or 'dead' (refused for good)."""
        self.db.execute(
            "UPDATE outbox SET state = ?, last_error = ?, done_at = ?, attempts = attempts + 1 "
            "WHERE key = ?",
            (state, error, time.time(), key),
        )

    def retry_at(self, key: str, when: float, error: str) -> None:
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE key = ?",
            (when, error, key),
        )

    def outbox(self) -> list[dict[str, object]]:
        rows = self.db.execute(
            "SELECT key, destination, state, attempts, last_error FROM outbox ORDER BY created"
        ).fetchall()
        names = ("key", "destination", "state", "attempts", "last_error")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def log_inbox(self, rows: Iterable[tuple[str, str, str, bytes]]) -> int:
        """Append one engine step's (source, topic, format, payload) rows, inside a
        transaction; return the last seq (0 if none)."""
        batch = self.last_inbox_seq() + 1
        last = 0
        for row in rows:
            cur = self.db.execute(
                "INSERT INTO inbox (batch, source, topic, format, payload) VALUES (?,?,?,?,?)",
                (batch, *row),
            )
            last = cur.lastrowid or last
        return last

    def inbox_after(self, seq: int) -> Iterator[InboxRow]:
        cur = self.db.execute(
            "SELECT seq, batch, source, topic, format, payload FROM inbox WHERE seq > ? "
            "ORDER BY seq",
            (seq,),
        )
        for row in cur:
            yield InboxRow(*row)

    def last_inbox_seq(self) -> int:
        """The last seq ever given (sequence numbers are never reused, even after pruning)."""
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'inbox'").fetchone()
        return int(row[0]) if row else 0

    def prune_inbox(self, upto: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM inbox WHERE seq <= ?", (upto,))

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def _move_aside(path: Path, reason: str) -> Path:
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    for suffix in ("", "-wal", "-shm"):
        part = Path(str(path) + suffix)
        if part.exists():
            part.rename(Path(str(aside) + suffix))
    log.error("store %s could not be opened (%s): moved aside to %s", path, reason, aside)
    return aside
