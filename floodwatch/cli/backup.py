"""`floodwatch backup`: a consistent copy of a running service's store.

The service's state is two files: the SQLite store and, beside it, the
engine snapshot (`STORE.snapshot`, the rule windows and latches as of an inbox
sequence; the store's inbox holds every message since). A backup is both,
as of one moment: the snapshot file is read, the store copied, the snapshot
read again — if the service wrote a new snapshot meanwhile (and pruned the
inbox under it), the copy is made again.

SQLite's online backup API copies the whole database in one step inside one
read transaction: with WAL the service keeps writing meanwhile, and the copy
is the store as it stood at one instant — every alert transition with the
outbox rows written in the same transaction. Each file is written beside its
target, checked, synced and then renamed into place (0600), so a backup cut
short never looks complete. Restore: docs/operations.md.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path

import click

from floodwatch.store import Store
from floodwatch.store.backup import copy_store, fsync_dir

ATTEMPTS = 20  # copies made again when a new engine snapshot came in between


class BackupError(Exception):
    pass


def snapshot_of(store: Path) -> Path:
    """The engine snapshot the service keeps beside its store."""
    return Path(f"{store}.snapshot")


def backup(store: Path, output: Path) -> None:
    """`store` and its engine snapshot as of one moment, to `output` and
    `output.snapshot`; raise on any problem."""
    own = {Path(f"{store.resolve()}{suffix}") for suffix in ("", ".snapshot", "-wal", "-shm")}
    if output.resolve() in own:
        raise BackupError(
            f"{output} is the running store's own file: the copy would replace it; "
            "give another --output"
        )
    for _ in range(ATTEMPTS):
        before = _read(snapshot_of(store))
        copy_store(store, output)
        if _read(snapshot_of(store)) == before:
            target = snapshot_of(output)
            if before is None:
                target.unlink(missing_ok=True)
            else:
                _write_atomic(target, before)
            return
    raise BackupError(
        f"the service wrote a new engine snapshot during each of {ATTEMPTS} copies; "
        "try again (or raise service.snapshot_every for the backup)"
    )


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)
    fsync_dir(path.parent)


@click.command("backup")
@click.option(
    "--store",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    help="the service's SQLite store (service.store); the service may keep running",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="the backup file to write (replaced only once the new copy is complete)",
)
def backup_cmd(store: Path, output: Path) -> None:
    """Back up the store and its engine snapshot while the service runs
    (SQLite online backup): a consistent copy, checked, written as OUTPUT and
    OUTPUT.snapshot with mode 0600. Restore both, side by side."""
    started = time.monotonic()
    try:
        backup(store, output)
    except (sqlite3.Error, OSError, BackupError) as exc:
        click.echo(f"backup of {store} failed: {exc}", err=True)
        sys.exit(1)
    copy = Store(output)
    try:
        transitions = len(copy.transitions())
        active = len(copy.active())
        pending = sum(1 for row in copy.outbox() if row["state"] == "pending")
    finally:
        copy.close()
    click.echo(
        f"{output}: {output.stat().st_size} bytes in {time.monotonic() - started:.1f}s — "
        f"{transitions} alert transitions, {active} alerts active, {pending} deliveries pending"
        + ("" if snapshot_of(output).exists() else "; no engine snapshot yet (the inbox has all)")
    )
