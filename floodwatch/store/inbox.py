"""The inbox tables: what an engine step took in over MQTT (and its idle
ticks) since the last snapshot, each row with everything its decoding
depended on (`service/inbox.py` says what is logged and how a replay decodes
it).

The decoder definitions are stored once under a content hash in
`inbox_decoders`. Rows are written in the same transaction as the alerts of
their step, before the messages are acknowledged; sequence numbers never go
back (AUTOINCREMENT: pruning must not make a new message look older than the
snapshot).

Schema versions (`meta` key `schema:inbox`, its own, run after the store's
steps): 1 — source, topic, format and payload only (topic fields were lost,
so a topic-addressed message could not be decoded again); 2 — fields,
decoder and outcome added. A version 1 store is migrated in place when
opened: its rows keep NULL there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

VERSION = 2
VERSION_KEY = "schema:inbox"

_TABLE_V1 = """
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, batch INTEGER NOT NULL, source TEXT NOT NULL,
    topic TEXT NOT NULL, format TEXT NOT NULL, payload BLOB NOT NULL
);
"""
# Version 2: NULL in the new columns means "not recorded" (a row from version 1).
_TO_V2 = (
    "ALTER TABLE inbox ADD COLUMN fields TEXT",  # JSON object of the topic's fields
    "ALTER TABLE inbox ADD COLUMN decoder TEXT",  # inbox_decoders.id (NULL for ticks)
    "ALTER TABLE inbox ADD COLUMN readings INTEGER",  # live decode: readings …
    "ALTER TABLE inbox ADD COLUMN rejected INTEGER",  # … and rejects (dead-lettered)
    "CREATE TABLE IF NOT EXISTS inbox_decoders (id TEXT PRIMARY KEY, spec TEXT NOT NULL)",
)

_encode = msgspec.json.Encoder(order="sorted")
_fields = msgspec.json.Decoder(dict[str, str])
_spec = msgspec.json.Decoder(dict[str, Any])


def migrate(db: sqlite3.Connection) -> int:
    """Bring the inbox tables to `VERSION` (creating them in a new store); return
    the version found. Runs in its own transaction; `meta` must exist."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone()
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'inbox'").fetchone()
    found = int(row[0]) if row else (1 if exists else 0)
    if found > VERSION:
        raise sqlite3.DatabaseError(
            f"inbox schema version {found} is newer than this floodwatch knows ({VERSION})"
        )
    if found == VERSION:
        return found
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(_TABLE_V1)
        for statement in _TO_V2:
            db.execute(statement)
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (VERSION_KEY, str(VERSION)))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return found


@dataclass(frozen=True)
class Entry:
    """One message (or tick) of a step, as logged."""

    source: str  # "mqtt" or "tick"
    topic: str
    format: str
    payload: bytes
    fields: Mapping[str, str]
    decoder: tuple[str, Mapping[str, object]] | None  # (id, definition); None for ticks
    outcome: tuple[int, int] | None  # live decode: (readings, rejected)


@dataclass(frozen=True)
class InboxRow:
    seq: int
    batch: int  # rows of one engine step share it: replays repeat the same steps
    source: str
    topic: str
    format: str
    payload: bytes
    fields: dict[str, str] | None  # None: not recorded (a version 1 row)
    decoder: dict[str, Any] | None  # the decoder definition; None: not recorded / a tick
    outcome: tuple[int, int] | None  # None: not recorded


class Inbox:
    """The inbox tables on the store's connection. `log` runs inside the caller's
    transaction (the step's)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def log(self, entries: Iterable[Entry]) -> int:
        """Append one engine step's rows; return the last seq (0 if none)."""
        batch = self.last_seq() + 1
        last = 0
        stored: set[str] = set()  # decoder definitions written in this transaction
        for e in entries:
            ident = None
            if e.decoder is not None:
                ident, spec = e.decoder
                if ident not in stored:
                    self.db.execute(
                        "INSERT OR IGNORE INTO inbox_decoders VALUES (?, ?)",
                        (ident, _encode.encode(spec).decode()),
                    )
                    stored.add(ident)
            readings, rejected = e.outcome if e.outcome is not None else (None, None)
            cur = self.db.execute(
                "INSERT INTO inbox (batch, source, topic, format, payload, fields, decoder, "
                "readings, rejected) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    batch,
                    e.source,
                    e.topic,
                    e.format,
                    e.payload,
                    _encode.encode(dict(e.fields)).decode(),
                    ident,
                    readings,
                    rejected,
                ),
            )
            last = cur.lastrowid or last
        return last

    def after(self, seq: int) -> Iterator[InboxRow]:
        cur = self.db.execute(
            "SELECT seq, batch, source, topic, format, payload, fields, spec, readings, "
            "rejected FROM inbox LEFT JOIN inbox_decoders ON inbox_decoders.id = inbox.decoder "
            "WHERE seq > ? ORDER BY seq",
            (seq,),
        )
        for seq_, batch, source, topic, fmt, payload, fields, spec, readings, rejected in cur:
            yield InboxRow(
                seq_,
                batch,
                source,
                topic,
                fmt,
                bytes(payload),
                None if fields is None else _fields.decode(fields),
                None if spec is None else _spec.decode(spec),
                None if readings is None else (int(readings), int(rejected)),
            )

    def last_seq(self) -> int:
        """The last seq ever given (sequence numbers are never reused, even after pruning)."""
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'inbox'").fetchone()
        return int(row[0]) if row else 0

    def prune(self, upto: int) -> None:
        """Forget the rows up to `upto` (inside a transaction) and the decoders
        no row needs any more."""
        self.db.execute("DELETE FROM inbox WHERE seq <= ?", (upto,))
        self.db.execute(
            "DELETE FROM inbox_decoders WHERE id NOT IN "
            "(SELECT decoder FROM inbox WHERE decoder IS NOT NULL)"
        )
