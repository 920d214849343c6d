"""Versioned schema: numbered steps, each run once, in order, in its own
transaction with the version it reaches (`schema_version`, one row).

A store made before versions existed (no `schema_version`) runs every step
from the first: each step creates only what is missing (`IF NOT EXISTS`,
columns added when absent), so the tables an older release made keep their
rows and gain what is new. A store from a newer release (a higher version
than this code knows) is refused as unreadable, like a damaged file: it is
moved aside, kept, and reported, and the service starts on a new store.

To change the schema, append a step; never edit one that has shipped.
The inbox keeps its own version (`store/inbox.py`, the meta key
`schema:inbox`), run after these steps.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from floodwatch.store.db import script, transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    version: int
    what: str
    run: Callable[[sqlite3.Connection], None]


BASE = """
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
CREATE INDEX IF NOT EXISTS attempts_key ON attempts (key)
"""
OUTBOX_COLUMNS = {
    "alert": "TEXT NOT NULL DEFAULT ''",  # alert id
    "recipient": "TEXT NOT NULL DEFAULT ''",  # JSON of the person (sms), '' otherwise
    "note": "TEXT NOT NULL DEFAULT ''",  # '' (a transition), reminder, resend, escalation, refresh
    "batch": "TEXT",  # sms: the key of the grouped message this row went out in
}
# The outbox keeps every delivery (the alerts' history): lookups by alert and
# by recipient must not scan it.
OUTBOX_INDEXES = """
CREATE INDEX IF NOT EXISTS outbox_alert ON outbox (alert);
CREATE INDEX IF NOT EXISTS outbox_recipient ON outbox (destination, recipient, state, done_at);
CREATE INDEX IF NOT EXISTS transitions_station ON transitions (station, ts)
"""
PEOPLE = """
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts REAL NOT NULL, ends REAL NOT NULL,
    author TEXT NOT NULL, reason TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS acks (
    alert TEXT NOT NULL, by TEXT NOT NULL, via TEXT NOT NULL, comment TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS acks_alert ON acks (alert);
CREATE TABLE IF NOT EXISTS calls (
    alert TEXT NOT NULL, person TEXT NOT NULL, recipient TEXT NOT NULL, tier INTEGER NOT NULL,
    called_at REAL NOT NULL, answered_at REAL,
    PRIMARY KEY (alert, person)
);
CREATE TABLE IF NOT EXISTS follow (
    alert TEXT PRIMARY KEY, severity TEXT NOT NULL, started REAL NOT NULL,
    step INTEGER NOT NULL, next_at REAL, state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reminders (
    alert TEXT NOT NULL, route INTEGER NOT NULL, count INTEGER NOT NULL, last_at REAL NOT NULL,
    PRIMARY KEY (alert, route)
);
CREATE TABLE IF NOT EXISTS broadcasts (
    village TEXT NOT NULL, alert TEXT NOT NULL, identifier TEXT NOT NULL, sent TEXT NOT NULL,
    severity TEXT NOT NULL, event TEXT NOT NULL, active INTEGER NOT NULL, at REAL NOT NULL,
    ref_identifier TEXT, ref_sent TEXT,
    PRIMARY KEY (village, alert)
)
"""
INCIDENTS = """
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY, station TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL,
    state TEXT NOT NULL, started INTEGER NOT NULL, updated INTEGER NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_state ON incidents (state, updated);
CREATE TABLE IF NOT EXISTS incident_changes (
    id TEXT NOT NULL, change TEXT NOT NULL, severity TEXT NOT NULL, ts INTEGER NOT NULL,
    stored_at INTEGER NOT NULL, event TEXT NOT NULL,
    PRIMARY KEY (id, change, severity, ts)
)
"""
INCIDENT_INDEXES = """
CREATE INDEX IF NOT EXISTS transitions_incident ON transitions (incident);
CREATE INDEX IF NOT EXISTS active_incident ON active (incident)
"""
RECENT = """
CREATE TABLE IF NOT EXISTS recent_readings (
    station TEXT NOT NULL, kind TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (station, kind, ts)
)
"""

RETAINED = """
CREATE TABLE IF NOT EXISTS retained (
    topic TEXT PRIMARY KEY, payload BLOB NOT NULL, expires REAL NOT NULL
)
"""
SL651 = """
CREATE TABLE IF NOT EXISTS sl651_seen (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, station TEXT NOT NULL, function INTEGER NOT NULL,
    serial INTEGER NOT NULL, obs TEXT NOT NULL,
    UNIQUE (station, function, serial, obs)
);
CREATE TABLE IF NOT EXISTS sl651_counters (
    station TEXT PRIMARY KEY, ts TEXT NOT NULL, value REAL NOT NULL
)
"""


def add_columns(db: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """Add the columns `table` does not have yet (a table an older release made)."""
    have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    for name, spec in columns.items():
        if name not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {spec}")


def _outbox_columns(db: sqlite3.Connection) -> None:
    add_columns(db, "outbox", OUTBOX_COLUMNS)
    script(db, OUTBOX_INDEXES)


def _incidents(db: sqlite3.Connection) -> None:
    script(db, INCIDENTS)
    for table in ("transitions", "active"):  # NULL for older rows: outside any incident
        add_columns(db, table, {"incident": "TEXT"})
    script(db, INCIDENT_INDEXES)


STEPS = (
    Step(1, "alert ledger, active alerts, meta, outbox and attempts", lambda db: script(db, BASE)),
    Step(2, "outbox: alert, recipient, note, batch; lookup indexes", _outbox_columns),
    Step(
        3, "silences, acks, calls, follow-ups, reminders, broadcasts", lambda db: script(db, PEOPLE)
    ),
    Step(4, "incidents, their changes, the incident of each alert", _incidents),
    Step(5, "the board's recent readings", lambda db: script(db, RECENT)),
    Step(6, "the village broadcast's retained truth per topic", lambda db: script(db, RETAINED)),
    Step(7, "SL 651: reports stored (deduplication), rain counters", lambda db: script(db, SL651)),
)
LATEST = STEPS[-1].version


def version(db: sqlite3.Connection) -> int:
    """The store's schema version (0: made before versions, or new)."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(db: sqlite3.Connection) -> int:
    """Run the steps the store has not had; return the version found."""
    found = version(db)
    if found > LATEST:
        raise sqlite3.DatabaseError(
            f"store schema version {found} is newer than this floodwatch knows ({LATEST})"
        )
    for step in STEPS:
        if step.version <= found:
            continue
        with transaction(db):
            step.run(db)
            db.execute("DELETE FROM schema_version")
            db.execute("INSERT INTO schema_version VALUES (?)", (step.version,))
        if found:
            log.info("store schema %d: %s", step.version, step.what)
    return found
