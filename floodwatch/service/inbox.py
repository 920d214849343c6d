"""The inbox: what an engine step took in over MQTT (and its idle ticks) since the
last snapshot, kept so that a restart can repeat those steps exactly.

Each row holds the message as received and everything its decoding depended
on: the topic, the fields read from the topic (`{"station": …, "kind": …}`,
or the mark of a topic that matched no pattern), the format, and the decoder
it was decoded with — the format's full definition (field mapping, payload
limit), stored once under a content hash in `inbox_decoders`. Replaying a row
therefore decodes it as it was decoded live, whatever the configuration says
by the time the service comes back. Each row also records how its live decode
came out (readings, rejected), so a replay can tell whether its rejects were
dead-lettered already.

Rows are written in the same transaction as the alerts of their step, before
the messages are acknowledged; sequence numbers never go back (AUTOINCREMENT:
pruning must not make a new message look older than the snapshot).

Schema versions (`meta` key `schema:inbox`): 1 — source, topic, format and
payload only (topic fields were lost, so a topic-addressed message could not
be decoded again); 2 — fields, decoder and outcome added. A version 1 store
is migrated in place when opened: its rows keep NULL there, and their topic
fields are read again from the topic with the configured patterns on replay.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import msgspec.structs

from floodwatch.ingest.decode import Decoders, spec_id
from floodwatch.ingest.source import Incoming
from floodwatch.ingest.topics import TopicPattern, route
from floodwatch.readings import Rejected

log = logging.getLogger("floodwatch.service")

TICK = "tick"  # the source of an idle-advance tick (its payload: the target time, epoch ms)
WALL = "wall"  # the first row of a step: the wall clock it ran at (its engines' bound), epoch ms

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


# -- what a step logs, and what a replay makes of it ----------------------------------


def wall_entry(wall_ms: int) -> Entry:
    """The row giving the wall clock a step ran at (replayed before its messages)."""
    return Entry(WALL, "", "", str(wall_ms).encode(), {}, None, None)


def entry(item: Incoming, decoders: Decoders) -> Entry:
    """The row of a message (after its live decode, `item.decoded`) or a tick."""
    if item.source == TICK:
        return Entry(TICK, item.topic, item.fmt, item.payload, item.fields, None, None)
    decoder = decoders.spec(item.fmt)
    return Entry(
        item.source, item.topic, item.fmt, item.payload, item.fields, decoder, item.decoded
    )


def incoming(
    row: InboxRow, patterns: Sequence[tuple[TopicPattern, str]]
) -> tuple[Incoming, Decoders | None]:
    """The message of a row as it was received, and the decoders it was decoded
    with live (None: not recorded — a version 1 row; decode with today's). A
    version 1 row's topic fields are read again from its topic with today's
    `patterns` (the live service did the same when it received it)."""
    fields = row.fields
    if fields is None:
        fields = {} if row.source == TICK or not patterns else route(patterns, row.topic)[1]
    item = Incoming(row.payload, row.topic, row.format, row.source, dict(fields))
    if row.decoder is None:
        return item, None
    try:
        decoders = Decoders.from_spec(row.decoder)
    except (ValueError, KeyError, TypeError) as exc:  # written by another release
        log.error(
            "inbox row %d: its decoder cannot be read (%s); decoding with today's", row.seq, exc
        )
        return item, None
    item.decoder = spec_id(row.decoder)
    return item, decoders


def replay_rejects(
    item: Incoming, decoders: Decoders, outcome: tuple[int, int] | None
) -> list[Rejected]:
    """What the replay of a message must dead-letter: nothing when it decodes as
    it did live (its rejects went to the dead-letter then, in the transaction
    that logged it); otherwise — decoded differently, or how it decoded live
    was not recorded — every reject of the replay, marked as such."""
    got, bad = decoders.decode_incoming(item)
    if outcome is not None and (len(got), len(bad)) == outcome:
        return []
    if outcome is not None:
        log.error(
            "inbox message from %s decoded to %d readings and %d rejects on replay, "
            "%d and %d when received",
            item.origin,
            len(got),
            len(bad),
            *outcome,
        )
    return [
        msgspec.structs.replace(
            r, detail=f"{r.detail} (replayed from the inbox)", source=f"inbox:{r.source}"
        )
        for r in bad
    ]
