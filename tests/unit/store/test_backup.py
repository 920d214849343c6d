"""`store/backup.py`: a consistent, checked, self-contained copy of a store
another connection is writing to, put in place atomically (mode 0600); a
failed copy leaves the previous backup and no partial file."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from floodwatch.store import Store
from floodwatch.store.backup import copy_store, fsync_dir
from floodwatch.store.migrations import LATEST, version


def _pairs(path: Path) -> tuple[int, int]:
    """(meta rows, recent rows) the writer made: always written together."""
    db = sqlite3.connect(path)
    try:
        meta = db.execute("SELECT count(*) FROM meta WHERE key LIKE 'w%'").fetchone()[0]
        recent = db.execute("SELECT count(*) FROM recent_readings").fetchone()[0]
    finally:
        db.close()
    return int(meta), int(recent)


def test_a_copy_of_a_store_being_written_is_one_instant_of_it(tmp_path: Path) -> None:
    path, output = tmp_path / "fw.db", tmp_path / "backup" / "fw.db"
    output.parent.mkdir()
    Store(path).close()
    stop, started = threading.Event(), threading.Event()
    written = [0]

    def writer() -> None:  # the service: its own connection, one commit after another
        store = Store(path)
        try:
            while not stop.is_set():
                n = written[0]
                with store.transaction() as db:
                    db.execute("INSERT INTO meta VALUES (?, ?)", (f"w{n}", "x" * 500))
                    db.execute("INSERT INTO recent_readings VALUES ('pond', 'level', ?, 1.0)", (n,))
                written[0] = n + 1
                started.set()
        finally:
            store.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert started.wait(10)
        seen = []
        for _ in range(5):
            copy_store(path, output)
            meta, recent = _pairs(output)
            assert meta == recent  # never half of a transaction
            seen.append(meta)
    finally:
        stop.set()
        thread.join()
    assert seen == sorted(seen) and seen[-1] > 0 and seen[-1] <= written[0]
    assert output.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in output.parent.iterdir()) == ["fw.db"]  # no WAL, no partial
    db = sqlite3.connect(output)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    db.close()
    copy = Store(output)  # a store the service can start on
    assert copy.moved_aside is None and version(copy.db) == LATEST
    copy.close()


def test_a_copy_holds_what_is_committed_in_the_wal_only(tmp_path: Path) -> None:
    path, output = tmp_path / "fw.db", tmp_path / "copy.db"
    store = Store(path)
    store.set_meta("only-in-the-wal", "yes")  # not checkpointed into the main file
    assert Path(f"{path}-wal").stat().st_size > 0
    copy_store(path, output)
    store.close()
    copy = Store(output)
    assert copy.meta("only-in-the-wal") == "yes"
    copy.close()


def test_a_new_copy_replaces_the_previous_one(tmp_path: Path) -> None:
    path, output = tmp_path / "fw.db", tmp_path / "copy.db"
    store = Store(path)
    store.set_meta("generation", "1")
    copy_store(path, output)
    store.set_meta("generation", "2")
    copy_store(path, output)
    store.close()
    copy = Store(output)
    assert copy.meta("generation") == "2"
    copy.close()


def test_a_partial_file_of_a_crashed_backup_is_replaced(tmp_path: Path) -> None:
    path, output = tmp_path / "fw.db", tmp_path / "copy.db"
    Store(path).close()
    (tmp_path / ".copy.db.partial").write_bytes(b"half a copy from a backup killed midway")
    copy_store(path, output)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("copy", ".copy"))) == [
        "copy.db"
    ]


def test_a_store_that_is_not_a_database_keeps_the_previous_backup(tmp_path: Path) -> None:
    path, output = tmp_path / "fw.db", tmp_path / "copy.db"
    output.write_bytes(b"the previous backup")
    path.write_bytes(b"not a database at all" * 300)
    with pytest.raises(sqlite3.DatabaseError):
        copy_store(path, output)
    assert output.read_bytes() == b"the previous backup"
    assert not (tmp_path / ".copy.db.partial").exists()


def test_a_database_that_is_not_a_store_is_refused_and_no_copy_left(tmp_path: Path) -> None:
    path, output = tmp_path / "other.db", tmp_path / "copy.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE unrelated (x)")
    db.close()
    with pytest.raises(sqlite3.DatabaseError, match="transitions"):
        copy_store(path, output)
    assert not output.exists() and not (tmp_path / ".copy.db.partial").exists()


def test_a_missing_output_folder_fails_without_touching_the_store(tmp_path: Path) -> None:
    path = tmp_path / "fw.db"
    store = Store(path)
    store.set_meta("k", "v")
    with pytest.raises(FileNotFoundError):
        copy_store(path, tmp_path / "no-such-folder" / "copy.db")
    assert store.meta("k") == "v"
    store.close()


def test_fsync_dir_of_a_missing_folder_raises(tmp_path: Path) -> None:
    fsync_dir(tmp_path)
    with pytest.raises(FileNotFoundError):
        fsync_dir(tmp_path / "missing")
