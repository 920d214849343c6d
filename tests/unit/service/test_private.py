"""The service's files are its user's alone (service/private.py): the store made
0600 before SQLite creates it (its WAL and SHM follow), files left readable by
others tightened, and the process umask."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from floodwatch.service.private import UMASK, private_umask, tighten
from floodwatch.store import Store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask (an operator's shell) for the test, restored after."""
    before = os.umask(0o022)
    yield
    os.umask(before)


@pytest.mark.usefixtures("open_umask")
def test_a_new_store_and_its_wal_and_shm_are_private_under_a_permissive_umask(
    tmp_path: Path,
) -> None:
    db = tmp_path / "var" / "lib" / "floodwatch.db"
    tighten(db)
    assert _mode(db) == 0o600 and _mode(db.parent) == 0o700
    store = Store(db)
    try:
        with store.transaction():
            store.set_meta("k", "v")
        for part in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            assert part.exists() and _mode(part) == 0o600, part
    finally:
        store.close()


@pytest.mark.usefixtures("open_umask")
def test_files_left_readable_by_others_are_tightened_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "floodwatch.db"
    modes = {
        db: 0o644,
        Path(f"{db}-wal"): 0o640,
        Path(f"{db}-shm"): 0o604,
        tmp_path / "floodwatch.db.snapshot": 0o664,
        tmp_path / "dead-letter.jsonl": 0o600,  # private already: left alone
        tmp_path / "run.sh": 0o755,  # the owner's bits are kept
    }
    for path, mode in modes.items():
        path.write_bytes(b"x")
        path.chmod(mode)
    with caplog.at_level(logging.WARNING, "floodwatch.service.private"):
        tighten(db, *list(modes)[3:], tmp_path / "missing.jsonl")
    assert {p.name: oct(_mode(p)) for p in modes} == {
        "floodwatch.db": "0o600",
        "floodwatch.db-wal": "0o600",
        "floodwatch.db-shm": "0o600",
        "floodwatch.db.snapshot": "0o600",
        "dead-letter.jsonl": "0o600",
        "run.sh": "0o700",
    }
    assert db.read_bytes() == b"x"  # an existing store is not recreated
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 5
    assert f"{db} was readable by others (644): now 600" in warned


def test_the_umask_makes_every_new_file_0600_and_directory_0700(tmp_path: Path) -> None:
    before = os.umask(0o022)
    try:
        private_umask()
        assert os.umask(0o022) == UMASK == 0o077
        private_umask()
        (tmp_path / "f").write_text("x")
        (tmp_path / "d").mkdir()
    finally:
        os.umask(before)
    assert _mode(tmp_path / "f") == 0o600 and _mode(tmp_path / "d") == 0o700
