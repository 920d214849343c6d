"""The service's files are readable by its own user only.

The store (with its WAL and shared-memory files), the engine snapshot and the
dead-letter file hold alert history, readings and operators' names; none of
them is for other local users or a world-readable backup. `run_service` sets
the process umask to 077, so every file the service creates is 0600 (and
every directory 0700); `tighten` makes the store file 0600 before SQLite
creates it (SQLite gives the WAL and SHM files the database's mode) and
tightens files left group- or world-readable by an older version.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
UMASK = 0o077


def private_umask() -> None:
    """From now on, this process creates files 0600 and directories 0700."""
    os.umask(UMASK)


def tighten(store: Path, *others: Path) -> None:
    """Create `store` (0600) if missing; make it, its -wal and -shm, and
    `others` 0600 where they exist with wider modes."""
    store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(store, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for path in (store, Path(f"{store}-wal"), Path(f"{store}-shm"), *others):
        with contextlib.suppress(FileNotFoundError):
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                path.chmod(mode & 0o700)
                log.warning("%s was readable by others (%o): now %o", path, mode, mode & 0o700)
