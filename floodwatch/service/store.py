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
- `inbox`: MQTT messages received since the last engine snapshot, with all
  their decoding depended on (`service/inbox.py`, its own schema version).
  They are stored before they are acknowledged to the broker, in the same
  transaction as the alerts they produced, so a crash loses none: the next
  start replays them on top of the snapshot.

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
from floodwatch.notify.ledger import SCHEMA as LEDGER
from floodwatch.readings import ts_to_ms
from floodwatch.service import inbox
from floodwatch.service.incidents import migrate as migrate_incidents

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
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY, destination TEXT NOT NULL, event TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL, next_at REAL NOT NULL,
    last_error TEXT, created REAL NOT NULL, done_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, destination, next_at);
CREATE TABLE IF NOT EXISTS attempts (
    key TEXT NOT NULL, at REAL NOT NULL, outcome TEXT NOT NULL, error TEXT
);
CREATE INDEX IF NOT EXISTS attempts_key ON attempts (key);
"""
# Columns added after the first release (a store created before gets them).
OUTBOX_COLUMNS = {
    "alert": "TEXT NOT NULL DEFAULT ''",  # alert id
    "recipient": "TEXT NOT NULL DEFAULT ''",  # JSON of the person (sms), '' otherwise
    "note": "TEXT NOT NULL DEFAULT ''",  # '' (a transition), reminder, resend, escalation, refresh
    "batch": "TEXT",  # sms: the key of the grouped message this row went out in
}


# On columns added later, so made after them. The outbox keeps every delivery
# (the alerts' history): lookups by alert and by recipient must not scan it.
OUTBOX_INDEXES = """
CREATE INDEX IF NOT EXISTS outbox_alert ON outbox (alert);
CREATE INDEX IF NOT EXISTS outbox_recipient ON outbox (destination, recipient, state, done_at);
CREATE INDEX IF NOT EXISTS transitions_station ON transitions (station, ts);
"""


@dataclass(frozen=True)
class Delivery:
    key: str  # idempotency key: (alert id, recipient, transition, severity, time, destination)
    destination: str
    event: str  # the alert event JSON
    attempts: int
    recipient: str = ""  # JSON of the person (sms)
    note: str = ""  # why it is sent: '' (a transition), reminder, resend, escalation, refresh
    batch: str | None = None  # sms: the grouped message it is part of
    created: float = 0.0


@dataclass(frozen=True)
class Outgoing:
    """A delivery to enqueue."""

    key: str
    destination: str
    event: AlertEvent
    recipient: str = ""
    note: str = ""
    after: float = 0.0  # seconds to hold it (sms grouping)


_encode = msgspec.json.Encoder()


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
        self.inbox = inbox.Inbox(self.db)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(SCHEMA)
            inbox.migrate(db)
            columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
            for name, spec in OUTBOX_COLUMNS.items():
                if name not in columns:
                    db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {spec}")
            db.executescript(OUTBOX_INDEXES)
            db.executescript(LEDGER)
            migrate_incidents(db)
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

    def record(self, events: Iterable[AlertEvent], at: float | None = None) -> list[AlertEvent]:
        """Store transitions (inside a transaction) as stored at wall-clock time
        `at` (default: now); return those not stored before."""
        new = []
        now = int((time.time() if at is None else at) * 1000)
        for e in events:
            body = _encode.encode(e.to_json()).decode()
            ts = ts_to_ms(e.ts)
            cur = self.db.execute(
                "INSERT OR IGNORE INTO transitions (id, transition, severity, ts, rule, station, "
                "status, event, stored_at, incident) VALUES (?,?,?,?,?,?,?,?,?,?)",
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
                    e.incident,
                ),
            )
            if cur.rowcount:
                new.append(e)
            if e.transition is Transition.RESOLVED:
                self.db.execute("DELETE FROM active WHERE id = ?", (e.id,))
            else:
                self.db.execute(
                    "INSERT OR REPLACE INTO active (id, rule, station, severity, since, event, "
                    "incident) VALUES (?,?,?,?,?,?,?)",
                    (e.id, e.rule, e.station, e.severity.value, ts_to_ms(e.episode_start), body,
                     e.incident),
                )  # fmt: skip
        return new

    def known(self, alert: str) -> bool:
        """Whether any transition of `alert` is stored."""
        row = self.db.execute("SELECT 1 FROM transitions WHERE id = ? LIMIT 1", (alert,))
        return row.fetchone() is not None

    def transitions(self) -> list[dict[str, object]]:
        rows = self.db.execute("SELECT event FROM transitions ORDER BY ts, id, transition")
        return [msgspec.json.decode(r[0]) for r in rows]

    def history(
        self,
        *,
        stations: list[str] | None = None,
        rule: str | None = None,
        status: str | None = None,
        severities: list[str] | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 500,
    ) -> list[dict[str, object]]:
        """Stored transitions matching every given filter, newest first."""
        where: list[str] = []
        args: list[object] = []
        if stations is not None:
            where.append(f"station IN ({','.join('?' * len(stations))})")
            args += stations
        if rule is not None:
            where.append("rule = ?")
            args.append(rule)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if severities:
            where.append(f"severity IN ({','.join('?' * len(severities))})")
            args += severities
        if since_ms is not None:
            where.append("ts >= ?")
            args.append(since_ms)
        if until_ms is not None:
            where.append("ts <= ?")
            args.append(until_ms)
        sql = "SELECT event FROM transitions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.db.execute(sql + " ORDER BY ts DESC, id LIMIT ?", (*args, limit))
        return [msgspec.json.decode(r[0]) for r in rows]

    def active(self) -> list[dict[str, object]]:
        rows = self.db.execute("SELECT event FROM active ORDER BY since, id")
        return [msgspec.json.decode(r[0]) for r in rows]

    # -- outbox ------------------------------------------------------------------

    def enqueue(self, deliveries: Iterable[Outgoing], state: str = "pending") -> int:
        """Rows to deliver (inside a transaction); `state` 'silenced' records them
        as not to be sent. A key enqueued before is left as it is."""
        now = time.time()
        count = 0
        for i, d in enumerate(deliveries):  # `created` keeps the order given
            body = _encode.encode(d.event.to_json()).decode()
            cur = self.db.execute(
                "INSERT OR IGNORE INTO outbox (key, destination, event, state, attempts, "
                "next_at, created, alert, recipient, note) VALUES (?,?,?,?,0,?,?,?,?,?)",
                (
                    d.key,
                    d.destination,
                    body,
                    state,
                    now + d.after,
                    now + i * 1e-5,
                    d.event.id,
                    d.recipient,
                    d.note,
                ),
            )
            count += cur.rowcount
        return count

    _DELIVERY = "key, destination, event, attempts, recipient, note, batch, created"

    def due(self, destination: str, now: float, limit: int = 100) -> list[Delivery]:
        rows = self.db.execute(
            f"SELECT {self._DELIVERY} FROM outbox WHERE state = 'pending' "
            "AND destination = ? AND next_at <= ? ORDER BY next_at, created LIMIT ?",
            (destination, now, limit),
        ).fetchall()
        return [Delivery(*row) for row in rows]

    def deliveries(self) -> list[Delivery]:
        """Every row, whatever its state or destination (tests, inspection)."""
        rows = self.db.execute(f"SELECT {self._DELIVERY} FROM outbox ORDER BY created, key")
        return [Delivery(*row) for row in rows.fetchall()]

    def pending_for(self, destination: str, recipient: str) -> list[Delivery]:
        """Every pending row of one recipient at one destination, oldest first."""
        rows = self.db.execute(
            f"SELECT {self._DELIVERY} FROM outbox WHERE state = 'pending' "
            "AND destination = ? AND recipient = ? ORDER BY created, key",
            (destination, recipient),
        ).fetchall()
        return [Delivery(*row) for row in rows]

    def in_batch(self, batch: str) -> list[Delivery]:
        rows = self.db.execute(
            f"SELECT {self._DELIVERY} FROM outbox WHERE batch = ? ORDER BY created, key",
            (batch,),
        ).fetchall()
        return [Delivery(*row) for row in rows]

    def set_batch(self, keys: Iterable[str], batch: str) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE outbox SET batch = ? WHERE key = ?", [(batch, k) for k in keys])

    def sent_to(self, destination: str, recipient: str, since: float) -> int:
        """Messages (batches count once) confirmed to `recipient` since `since`."""
        row = self.db.execute(
            "SELECT count(DISTINCT coalesce(batch, key)) FROM outbox WHERE destination = ? "
            "AND recipient = ? AND state = 'done' AND done_at >= ?",
            (destination, recipient, since),
        ).fetchone()
        return int(row[0]) if row else 0

    def deliveries_of(self, alert: str) -> list[dict[str, object]]:
        """Every delivery of one alert with its outcome (the alert's timeline)."""
        rows = self.db.execute(
            "SELECT key, destination, recipient, note, state, attempts, last_error, created, "
            "done_at, "
            "json_extract(event, '$.transition'), json_extract(event, '$.severity') "
            "FROM outbox WHERE alert = ? ORDER BY created, key",
            (alert,),
        ).fetchall()
        names = ("key", "destination", "recipient", "note", "state", "attempts", "last_error",
                 "created", "done_at", "transition", "severity")  # fmt: skip
        out = [dict(zip(names, row, strict=True)) for row in rows]
        for delivery in out:
            delivery["tries"] = [
                {"at": at, "outcome": outcome, "error": error}
                for at, outcome, error in self.db.execute(
                    "SELECT at, outcome, error FROM attempts WHERE key = ? ORDER BY at",
                    (delivery["key"],),
                )
            ]
        return out

    def next_due(self, destination: str) -> float | None:
        row = self.db.execute(
            "SELECT min(next_at) FROM outbox WHERE state = 'pending' AND destination = ?",
            (destination,),
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def delivered(self, keys: Iterable[str], state: str, error: str | None = None) -> None:
        """Final outcome: 'done' (confirmed) or 'dead' (refused for good)."""
        now = time.time()
        keys = list(keys)
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO attempts VALUES (?,?,?,?)", [(k, now, state, error) for k in keys]
            )
            db.executemany(
                "UPDATE outbox SET state = ?, last_error = ?, done_at = ?, "
                "attempts = attempts + 1 WHERE key = ?",
                [(state, error, now, key) for key in keys],
            )

    def retry_at(self, keys: Iterable[str], when: float, error: str) -> None:
        keys = list(keys)
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO attempts VALUES (?,?,'failed',?)",
                [(k, time.time(), error) for k in keys],
            )
            db.executemany(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? "
                "WHERE key = ?",
                [(when, error, key) for key in keys],
            )

    def prune_deliveries(self, before: float) -> int:
        """Forget finished deliveries (done, dead, silenced) finished or made
        before `before`, with their attempts; pending ones are kept whatever
        their age. Returns how many."""
        with self.transaction() as db:
            old = "state != 'pending' AND coalesce(done_at, created) < ?"
            db.execute(
                f"DELETE FROM attempts WHERE key IN (SELECT key FROM outbox WHERE {old})",
                (before,),
            )
            return db.execute(f"DELETE FROM outbox WHERE {old}", (before,)).rowcount

    def retry_now(self, destination: str, now: float) -> None:
        """Rows waiting for a retry (not those held for grouping or a rate
        limit) become due now."""
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET next_at = ? WHERE state = 'pending' AND destination = ? "
                "AND attempts > 0 AND next_at > ?",
                (now, destination, now),
            )

    def hold(self, keys: Iterable[str], until: float) -> None:
        """Postpone without counting an attempt (a recipient's rate limit)."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE outbox SET next_at = ? WHERE key = ?", [(until, key) for key in keys]
            )

    def outbox(self) -> list[dict[str, object]]:
        rows = self.db.execute(
            "SELECT key, destination, state, attempts, last_error, recipient, note, batch, "
            "created, done_at, alert FROM outbox ORDER BY created, key"
        ).fetchall()
        names = (
            "key",
            "destination",
            "state",
            "attempts",
            "last_error",
            "recipient",
            "note",
            "batch",
            "created",
            "done_at",
            "alert",
        )
        return [dict(zip(names, row, strict=True)) for row in rows]

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def forget_meta(self, key: str) -> None:
        """Delete a meta row and overwrite its bytes in the file and the WAL
        (a secret that must not stay readable in the database)."""
        self.db.execute("PRAGMA secure_delete = ON")
        with self.transaction():
            self.db.execute("DELETE FROM meta WHERE key = ?", (key,))
        self.db.execute("PRAGMA secure_delete = OFF")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _move_aside(path: Path, reason: str) -> Path:
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    for suffix in ("", "-wal", "-shm"):
        part = Path(str(path) + suffix)
        if part.exists():
            part.rename(Path(str(aside) + suffix))
    log.error("store %s could not be opened (%s): moved aside to %s", path, reason, aside)
    return aside
