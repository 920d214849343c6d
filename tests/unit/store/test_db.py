"""`store/db.py`: the connection (WAL, durable commits, autocommit), explicit
transactions that leave nothing behind when they fail, a multi-statement
script inside one, the read-back check and a damaged file moved aside."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest

from floodwatch.store.db import check, connect, move_aside, script, transaction
from floodwatch.store.migrations import migrate

FULL = 2  # PRAGMA synchronous
META_KEYS = "sqlite_autoindex_meta_1"


def test_a_connection_is_in_wal_mode_durable_and_autocommits(tmp_path: Path) -> None:
    db = connect(tmp_path / "fw.db")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA synchronous").fetchone() == (FULL,)
    db.execute("CREATE TABLE t (x)")
    db.execute("INSERT INTO t VALUES (1)")
    assert not db.in_transaction  # committed at once: another connection sees it
    other = sqlite3.connect(tmp_path / "fw.db")
    assert other.execute("SELECT x FROM t").fetchall() == [(1,)]
    other.close()
    db.close()


def test_a_transaction_commits_every_statement_together(tmp_path: Path) -> None:
    db = connect(tmp_path / "fw.db")
    db.execute("CREATE TABLE t (x)")
    with transaction(db) as inside:
        assert inside is db and db.in_transaction
        db.execute("INSERT INTO t VALUES (1)")
        db.execute("INSERT INTO t VALUES (2)")
    assert not db.in_transaction
    assert db.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,)]
    db.close()


@pytest.mark.parametrize("crash", [RuntimeError, KeyboardInterrupt, sqlite3.IntegrityError])
def test_a_crash_between_statements_leaves_nothing(tmp_path: Path, crash: type) -> None:
    db = connect(tmp_path / "fw.db")
    db.execute("CREATE TABLE t (x UNIQUE)")
    with pytest.raises(crash), transaction(db):
        db.execute("INSERT INTO t VALUES (1)")
        raise crash("between the two statements")
    assert not db.in_transaction
    assert db.execute("SELECT count(*) FROM t").fetchone() == (0,)
    with transaction(db):  # the connection is usable again
        db.execute("INSERT INTO t VALUES (2)")
    assert db.execute("SELECT x FROM t").fetchall() == [(2,)]
    db.close()


def test_a_second_writer_is_refused_at_begin_not_halfway(tmp_path: Path) -> None:
    """`BEGIN IMMEDIATE`: the write lock is taken at once, so a second process
    waits (here: gives up at once) before it wrote anything; readers go on
    reading the last commit meanwhile (WAL)."""
    path = tmp_path / "fw.db"
    one = connect(path)
    one.execute("CREATE TABLE t (x)")
    two = sqlite3.connect(path, isolation_level=None, timeout=0)
    with transaction(one):
        one.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(sqlite3.OperationalError, match="locked"), transaction(two):
            pytest.fail("the second writer got the lock")
        assert not two.in_transaction
        assert two.execute("SELECT count(*) FROM t").fetchone() == (0,)  # reads the last commit
    assert two.execute("SELECT count(*) FROM t").fetchone() == (1,)
    one.close()
    two.close()


def test_a_script_runs_inside_the_callers_transaction(tmp_path: Path) -> None:
    db = connect(tmp_path / "fw.db")
    sql = "CREATE TABLE a (x);\n;  \nCREATE TABLE b (y);\nINSERT INTO a VALUES (1);\n"
    with pytest.raises(RuntimeError), transaction(db):
        script(db, sql)
        assert db.in_transaction  # `executescript` would have committed here
        raise RuntimeError("crash")
    tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == []
    with transaction(db):
        script(db, sql)  # empty statements skipped
    assert db.execute("SELECT x FROM a").fetchall() == [(1,)]
    db.close()


def test_check_passes_a_whole_store(tmp_path: Path) -> None:
    db = connect(tmp_path / "fw.db")
    migrate(db)
    check(db)
    db.close()


def test_check_refuses_a_file_without_the_ledger(tmp_path: Path) -> None:
    db = connect(tmp_path / "fw.db")
    with pytest.raises(sqlite3.DatabaseError, match="transitions"):
        check(db)
    db.close()


def test_check_refuses_a_file_with_a_damaged_page(tmp_path: Path) -> None:
    path = tmp_path / "fw.db"
    db = connect(path)
    migrate(db)
    with transaction(db):
        db.executemany("INSERT INTO meta VALUES (?, ?)", [(f"k{i}", "x" * 200) for i in range(500)])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    [(root,)] = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (META_KEYS,))
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    data = bytearray(path.read_bytes())
    page = size * (root - 1)  # the meta keys' index: the ledger still reads, the file is not whole
    data[page : page + 200] = b"\xff" * 200
    path.write_bytes(bytes(data))
    db = connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="integrity check failed"):
        check(db)
    db.close()


def test_a_damaged_store_is_moved_aside_with_its_wal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "fw.db"
    for suffix, content in (("", b"db"), ("-wal", b"wal"), ("-shm", b"shm")):
        Path(f"{path}{suffix}").write_bytes(content)
    with caplog.at_level(logging.ERROR, "floodwatch.store.db"):
        aside = move_aside(path, "file is not a database")
    assert aside.name.startswith("fw.db.corrupt-")
    assert not any(Path(f"{path}{s}").exists() for s in ("", "-wal", "-shm"))
    moved = [Path(f"{aside}{s}").read_bytes() for s in ("", "-wal", "-shm")]
    assert moved == [b"db", b"wal", b"shm"]
    assert "file is not a database" in caplog.text and str(aside) in caplog.text


def test_a_store_without_a_wal_is_moved_aside_alone(tmp_path: Path) -> None:
    path = tmp_path / "fw.db"
    path.write_bytes(b"db")
    aside = move_aside(path, "bad")
    assert aside.read_bytes() == b"db" and not path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [aside.name]


def test_moving_aside_twice_in_one_second_keeps_both(tmp_path: Path) -> None:
    """A restart that finds its new store damaged too (or two processes moving
    one aside) within a second must not overwrite the file kept before."""
    path = tmp_path / "fw.db"
    now = int(time.time())
    kept = [tmp_path / f"fw.db.corrupt-{now + d}" for d in (0, 1)]  # whichever second it is
    for k in kept:
        k.write_bytes(b"kept before")
        Path(f"{k}-wal").write_bytes(b"its wal")
    path.write_bytes(b"second")
    aside = move_aside(path, "bad again")
    assert aside not in kept and aside.name.endswith("-2") and aside.read_bytes() == b"second"
    assert [k.read_bytes() for k in kept] == [b"kept before"] * 2
    assert [Path(f"{k}-wal").read_bytes() for k in kept] == [b"its wal"] * 2
