"""The `Store` facade (`floodwatch/store/__init__.py`): one file, one connection
under every repository; a file that cannot be opened moved aside (or, for a
command beside the service, `Store.existing`, refused and left as it is); the
one way a silence is made; the event loop's thread only."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from floodwatch.store import Store
from floodwatch.store.migrations import LATEST, version


def test_a_new_store_is_made_with_its_folder_every_repository_on_one_connection(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "deep" / "er" / "fw.db")
    assert store.moved_aside is None and store.path.exists()
    assert version(store.db) == LATEST
    assert store.db.execute("SELECT value FROM meta WHERE key = 'schema:inbox'").fetchone()
    for part in (store.inbox, store.people, store.incidents, store.sl651):
        assert part.db is store.db
    assert store.writable()
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):  # closed means closed
        store.db.execute("SELECT 1")


def test_a_file_that_is_not_a_database_is_moved_aside_and_a_new_store_made(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fw.db"
    path.write_bytes(b"not a database at all, " * 200)
    store = Store(path)
    assert store.moved_aside is not None and ".corrupt-" in store.moved_aside.name
    assert store.moved_aside.read_bytes().startswith(b"not a database")  # kept for a look
    assert version(store.db) == LATEST and store.active() == []
    store.close()


def test_without_moving_aside_a_bad_file_raises_and_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "fw.db"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(sqlite3.DatabaseError):
        Store(path, move_aside=False)
    assert path.read_bytes() == b"garbage" * 1000
    assert [p.name for p in tmp_path.iterdir()] == ["fw.db"]


def test_existing_opens_a_store_and_refuses_what_is_not_one(tmp_path: Path) -> None:
    made = tmp_path / "fw.db"
    Store(made).close()
    store = Store.existing(made)
    assert version(store.db) == LATEST
    store.close()

    other = tmp_path / "other.db"  # another program's SQLite file
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(sqlite3.DatabaseError, match="no such table: transitions"):
        Store.existing(other)
    with sqlite3.connect(other) as db:  # no floodwatch tables made in it
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["notes"]

    with pytest.raises(sqlite3.OperationalError):  # a mistyped path: nothing created
        Store.existing(tmp_path / "typo.db")
    assert not (tmp_path / "typo.db").exists()


def test_existing_refuses_a_store_of_a_newer_release_without_moving_it(tmp_path: Path) -> None:
    path = tmp_path / "fw.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = ?", (LATEST + 1,))
    with pytest.raises(sqlite3.DatabaseError, match="newer than this floodwatch knows"):
        Store.existing(path)
    assert not [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]  # not moved aside
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchone() == (LATEST + 1,)


def test_a_silence_starts_now_unless_told_and_is_stored_in_its_own_transaction(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "fw.db")
    before = time.time()
    now = store.create_silence(ends=before + 3600, author="李工", reason="检修", stations=["p1"])
    assert before <= now.starts <= time.time() and now.stations == ["p1"]
    later = store.create_silence(
        starts=before + 7200, ends=before + 9000, author="a", reason="r", towns=["330182104"]
    )
    assert later.towns == ["330182104"] and later.starts == before + 7200
    assert [s.id for s in store.people.silences()] == [now.id, later.id]
    with pytest.raises(ValueError, match="end after it starts"):
        store.create_silence(starts=10.0, ends=10.0, author="a", reason="r", rules=["x"])
    with pytest.raises(ValueError, match="at least one station"):
        store.create_silence(ends=before + 60, author="a", reason="r")
    assert len(store.people.silences()) == 2  # the refused ones left nothing
    assert not store.db.in_transaction
    store.close()


def test_the_store_is_used_from_its_own_thread_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "fw.db")
    errors: list[BaseException] = []

    def elsewhere() -> None:
        try:
            store.active()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], sqlite3.ProgrammingError)
    store.close()
