"""The inbox tables (store/inbox.py) on a real SQLite file: its own schema
version (a version 1 store migrated in place, its rows keeping "not
recorded"; a newer version refused; a failed migration leaving nothing);
one step's rows logged as one batch with each decoder definition stored
once; read back in order; pruned with the decoders no row needs, sequence
numbers never going back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from floodwatch.store import Store
from floodwatch.store.db import connect
from floodwatch.store.inbox import VERSION, VERSION_KEY, Entry, Inbox, migrate
from floodwatch.store.migrations import migrate as migrate_store

CSV = ("csv-1", {"format": "csv", "columns": ["ts", "level"]})
JSON = ("json-1", {"format": "json", "value": "$.v"})


def mqtt(payload: bytes, decoder: tuple[str, dict[str, object]] = CSV, **fields: str) -> Entry:
    return Entry("mqtt", "fw/p1/level", "csv", payload, fields, decoder, (1, 0))


TICK = Entry("tick", "local", "", b"1751868000000", {}, None, None)


def decoders(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT id FROM inbox_decoders ORDER BY id")]


def test_a_step_is_one_batch_and_reads_back_as_logged(store: Store) -> None:
    with store.transaction():
        last = store.inbox.log([mqtt(b"a,1", station="p1"), TICK, mqtt(b"b,2", JSON)])
    assert last == 3 == store.inbox.last_seq()
    rows = list(store.inbox.after(0))
    assert [(r.seq, r.batch, r.source, r.payload) for r in rows] == [
        (1, 1, "mqtt", b"a,1"),
        (2, 1, "tick", b"1751868000000"),
        (3, 1, "mqtt", b"b,2"),
    ]
    first, tick, _ = rows
    assert first.fields == {"station": "p1"} and first.decoder == CSV[1]
    assert first.outcome == (1, 0) and first.topic == "fw/p1/level" and first.format == "csv"
    assert tick.decoder is None and tick.outcome is None and tick.fields == {}
    with store.transaction():
        store.inbox.log([mqtt(b"c,3")])
    assert [(r.seq, r.batch) for r in store.inbox.after(3)] == [(4, 4)]  # the next step's batch


def test_a_decoder_definition_is_stored_once_whoever_uses_it(store: Store) -> None:
    with store.transaction():
        store.inbox.log([mqtt(b"1"), mqtt(b"2"), mqtt(b"3", JSON)])
    with store.transaction():
        store.inbox.log([mqtt(b"4")])
    assert decoders(store.db) == ["csv-1", "json-1"]
    assert [r.decoder for r in store.inbox.after(0)] == [CSV[1], CSV[1], JSON[1], CSV[1]]


def test_nothing_logged_is_no_row(store: Store) -> None:
    with store.transaction():
        assert store.inbox.log([]) == 0
    assert store.inbox.last_seq() == 0 and list(store.inbox.after(0)) == []


def test_pruning_forgets_rows_and_unused_decoders_and_seq_never_goes_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fw.db"
    store = Store(path)
    with store.transaction():
        store.inbox.log([mqtt(b"1", JSON), mqtt(b"2")])
    with store.transaction():
        store.inbox.log([mqtt(b"3")])
    with store.transaction():
        store.inbox.prune(2)
    assert [r.payload for r in store.inbox.after(0)] == [b"3"]
    assert decoders(store.db) == ["csv-1"]  # json-1's only row is gone
    with store.transaction():
        store.inbox.prune(3)
    assert decoders(store.db) == [] and store.inbox.last_seq() == 3
    store.close()
    store = Store(path)  # reopened: still no going back
    with store.transaction():
        assert store.inbox.log([TICK]) == 4
    store.close()


def test_a_version_1_store_is_migrated_in_place_its_rows_not_recorded(tmp_path: Path) -> None:
    db = connect(tmp_path / "fw.db")
    migrate_store(db)
    db.execute(
        "CREATE TABLE inbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, batch INTEGER NOT NULL, "
        "source TEXT NOT NULL, topic TEXT NOT NULL, format TEXT NOT NULL, payload BLOB NOT NULL)"
    )
    db.execute("INSERT INTO inbox (batch, source, topic, format, payload) "
               "VALUES (1, 'mqtt', 'fw/p1', 'csv', x'6131')")  # fmt: skip
    assert migrate(db) == 1
    assert db.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone() == (
        str(VERSION),
    )
    [old] = Inbox(db).after(0)
    assert old.payload == b"a1" and old.topic == "fw/p1"
    assert old.fields is None and old.decoder is None and old.outcome is None
    assert migrate(db) == VERSION  # nothing more to do
    db.close()


def test_a_new_store_gets_the_tables_at_the_latest_version(tmp_path: Path) -> None:
    db = connect(tmp_path / "fw.db")
    migrate_store(db)
    assert migrate(db) == 0
    assert migrate(db) == VERSION
    db.close()


def test_an_inbox_of_a_newer_release_is_refused(store: Store) -> None:
    store.set_meta(VERSION_KEY, str(VERSION + 1))
    with pytest.raises(sqlite3.DatabaseError, match=f"inbox schema version {VERSION + 1}"):
        migrate(store.db)


def test_a_migration_that_fails_leaves_nothing_behind(tmp_path: Path) -> None:
    db = connect(tmp_path / "fw.db")
    migrate_store(db)
    db.execute(  # a version 1 table that has one of version 2's columns already
        "CREATE TABLE inbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, batch INTEGER NOT NULL, "
        "source TEXT NOT NULL, topic TEXT NOT NULL, format TEXT NOT NULL, payload BLOB NOT NULL, "
        "decoder TEXT)"
    )
    with pytest.raises(sqlite3.OperationalError, match="duplicate column"):
        migrate(db)
    assert not db.in_transaction
    columns = [r[1] for r in db.execute("PRAGMA table_info(inbox)")]
    assert "fields" not in columns  # added before the failure: rolled back
    assert db.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone() is None
    assert (
        db.execute("SELECT 1 FROM sqlite_master WHERE name = 'inbox_decoders'").fetchone() is None
    )
    db.close()
