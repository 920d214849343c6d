"""`store/meta.py`: named values, the liveness check (`writable`) and a
secret wiped from the file and its WAL (`forget_meta`)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from floodwatch.store import Store
from floodwatch.store.meta import Meta

SECRET = "5ec7e7-5e55101-key-0f-an-01der-release"


def test_a_value_is_none_until_set_then_the_last_one_set(store: Store) -> None:
    meta = Meta(store.db)
    assert meta.meta("kafka:readings:0") is None
    meta.set_meta("kafka:readings:0", "41")
    meta.set_meta("kafka:readings:0", "42")
    meta.set_meta("kafka:readings:1", "7")
    assert (meta.meta("kafka:readings:0"), meta.meta("kafka:readings:1")) == ("42", "7")


def test_a_value_set_in_a_transaction_rolled_back_is_not_kept(store: Store) -> None:
    meta = Meta(store.db)
    meta.set_meta("board", "before")
    with pytest.raises(RuntimeError), store.transaction():
        meta.set_meta("board", "after")
        raise RuntimeError("crash before the commit")
    assert meta.meta("board") == "before"


def test_a_value_set_by_one_store_is_read_by_another_on_the_file(tmp_path: Path) -> None:
    one, two = Store(tmp_path / "fw.db"), Store(tmp_path / "fw.db")
    Meta(one.db).set_meta("k", "from one")
    assert Meta(two.db).meta("k") == "from one"
    one.close()
    two.close()


def test_writable_records_when_it_last_wrote(store: Store) -> None:
    meta = Meta(store.db)
    assert meta.writable()
    first = float(meta.meta("checked_at") or 0)
    assert meta.writable()
    assert float(meta.meta("checked_at") or 0) >= first > 0


def test_a_store_another_process_holds_locked_is_not_writable(tmp_path: Path) -> None:
    path = tmp_path / "fw.db"
    store, holder = Store(path), Store(path)
    store.db.execute("PRAGMA busy_timeout = 50")  # the default waits 5 s
    with holder.transaction():
        assert not Meta(store.db).writable()
    assert Meta(store.db).writable()
    store.close()
    holder.close()


def test_a_read_only_store_is_not_writable(tmp_path: Path) -> None:
    path = tmp_path / "fw.db"
    Store(path).close()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    assert not Meta(db).writable()
    assert not db.in_transaction  # the failed write left no transaction open
    db.close()


def _raw(path: Path) -> bytes:
    return b"".join(
        Path(f"{path}{suffix}").read_bytes()
        for suffix in ("", "-wal")
        if Path(f"{path}{suffix}").exists()
    )


def test_a_forgotten_secret_is_gone_from_the_file_and_the_wal(store: Store) -> None:
    """Even where SQLite is built to leave deleted bytes in place (this
    machine's build overwrites them by default; many do not)."""
    store.db.execute("PRAGMA secure_delete = OFF")
    meta = Meta(store.db)
    meta.set_meta("http_secret", SECRET)
    meta.set_meta("board", "x" * 100)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # in the main file too
    meta.set_meta("board", "y" * 100)  # and a later WAL frame of the same page
    assert SECRET.encode() in _raw(store.path)
    assert meta.forget_meta("http_secret")
    assert meta.meta("http_secret") is None
    assert meta.meta("board") == "y" * 100
    assert SECRET.encode() not in _raw(store.path)
    assert not store.db.execute("PRAGMA secure_delete").fetchone()[0]  # off again


def test_forgetting_a_missing_value_is_harmless(store: Store) -> None:
    meta = Meta(store.db)
    meta.set_meta("other", "kept")
    assert meta.forget_meta("never-set")
    assert meta.meta("other") == "kept"


def test_a_reader_keeping_the_wal_is_reported_and_a_later_call_finishes_the_wipe(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """The CLI (another process) reading while the service wipes a secret:
    the WAL cannot be emptied, the old frame with the secret stays in it."""
    store.db.execute("PRAGMA secure_delete = OFF")
    store.db.execute("PRAGMA busy_timeout = 50")  # the default waits 5 s for the reader
    meta = Meta(store.db)
    meta.set_meta("http_secret", SECRET)
    reader = sqlite3.connect(store.path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM meta").fetchone()  # holds its snapshot
    with caplog.at_level(logging.WARNING, "floodwatch.store.meta"):
        assert not meta.forget_meta("http_secret")
    assert "'http_secret' deleted, but another connection is reading" in caplog.text
    assert meta.meta("http_secret") is None
    assert SECRET.encode() in _raw(store.path)  # what the warning says
    reader.execute("COMMIT")
    reader.close()
    assert meta.forget_meta("http_secret")
    assert SECRET.encode() not in _raw(store.path)
