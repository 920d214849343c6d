"""A consistent copy of the store while the service writes to it (SQLite's
online backup API: all pages in one step, inside one read transaction, so the
copy is the store as of one instant). `floodwatch backup` (cli/backup.py)
pairs it with the engine snapshot."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from floodwatch.store import db as store_db


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_store(store: Path, output: Path) -> None:
    """Copy the SQLite store to `output` (replaced atomically)."""
    partial = output.with_name(f".{output.name}.partial")
    partial.unlink(missing_ok=True)
    source = store_db.connect(store)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)  # all pages in one step: one consistent snapshot
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            store_db.check(target)
        finally:
            target.close()
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, output)
        fsync_dir(output.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
