"""The connection: opened once per store, used from one thread (SQLite refuses
any other), in autocommit mode with explicit transactions.

WAL lets the CLI (another process) read and write while the service runs;
`synchronous=FULL` makes every commit durable before the service acknowledges
what it stored. A file that cannot be opened is moved aside (with its WAL)
and a new one made; the caller reports it.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


def check(db: sqlite3.Connection) -> None:
    """Raise `sqlite3.DatabaseError` unless the file reads back whole."""
    db.execute("SELECT count(*) FROM transitions").fetchone()
    found = db.execute("PRAGMA quick_check").fetchone()
    if found is None or found[0] != "ok":
        raise sqlite3.DatabaseError(f"integrity check failed: {found}")


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` … `COMMIT` (the write lock taken at once: a second
    process waits at the start, not halfway); rolled back on any exception."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def script(db: sqlite3.Connection, sql: str) -> None:
    """Statements separated by `;`, each on its own (`executescript` would
    commit the caller's transaction first)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def move_aside(path: Path, reason: str) -> Path:
    """Rename the file and its WAL and shared memory to `NAME.corrupt-TIME`
    (`-2`, `-3`… added when a file of that second was moved aside already: never
    overwrite one kept before); return the new path."""
    stamp = int(time.time())
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while any(Path(str(aside) + suffix).exists() for suffix in ("", "-wal", "-shm")):
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    for suffix in ("", "-wal", "-shm"):
        part = Path(str(path) + suffix)
        if part.exists():
            part.rename(Path(str(aside) + suffix))
    log.error("store %s could not be opened (%s): moved aside to %s", path, reason, aside)
    return aside
