"""`floodwatch.cli.backup` on a real store after a storm: the store and its
engine snapshot as of one moment (copied again when the service wrote a new
snapshot meanwhile, given up after ATTEMPTS), written whole or not at all,
mode 0600; and what an operator reads on success and on failure."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from floodwatch.cli import backup as module
from floodwatch.cli.backup import ATTEMPTS, BackupError, backup, backup_cmd, snapshot_of
from floodwatch.store import Store
from tests.unit.cli.stores import copy_of, storm_store


@pytest.fixture(scope="module")
def storm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return storm_store(tmp_path_factory.mktemp("storm"))


@pytest.fixture
def store(storm: Path, tmp_path: Path) -> Path:
    return copy_of(storm, tmp_path / "var")


def run(store: Path, output: Path) -> Result:
    return CliRunner().invoke(backup_cmd, ["--store", str(store), "--output", str(output)])


def snapshots_written_during(copies: int) -> Callable[[Path, Path], None]:
    """`copy_store` as it runs while the service writes a new engine snapshot
    during each of the first `copies` copies (the service's snapshotter: every
    service.snapshot_every, and on a reload)."""
    real = module.copy_store
    done = 0

    def copy(store: Path, output: Path) -> None:
        nonlocal done
        real(store, output)
        done += 1
        if done <= copies:
            snapshot_of(store).write_bytes(b"snapshot %d" % done)

    return copy


def test_the_snapshot_sits_beside_the_store() -> None:
    assert snapshot_of(Path("/var/lib/floodwatch/fw.db")) == Path(
        "/var/lib/floodwatch/fw.db.snapshot"
    )


def test_a_backup_is_the_store_and_its_snapshot_whole_and_private(
    store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "backup" / "fw.db"
    out.parent.mkdir()
    result = run(store, out)
    assert result.exit_code == 0, result.output
    copied = Store(out)
    try:
        assert len(copied.transitions()) == 25 and len(copied.active()) == 3
    finally:
        copied.close()
    assert snapshot_of(out).read_bytes() == snapshot_of(store).read_bytes()
    for path in (out, snapshot_of(out)):
        assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in out.parent.iterdir()) == ["fw.db", "fw.db.snapshot"]
    said = result.stdout.strip()
    assert said.startswith(f"{out}: {out.stat().st_size} bytes in ")
    assert said.endswith("— 25 alert transitions, 3 alerts active, 0 deliveries pending")


def test_without_a_snapshot_an_old_one_at_the_target_is_removed(
    store: Path, tmp_path: Path
) -> None:
    """A backup without a snapshot beside a stale one would restore the engine
    to another moment than the store."""
    snapshot_of(store).unlink()
    out = tmp_path / "fw.db"
    snapshot_of(out).write_bytes(b"from last week")
    result = run(store, out)
    assert result.exit_code == 0, result.output
    assert not snapshot_of(out).exists()
    assert result.stdout.strip().endswith("; no engine snapshot yet (the inbox has all)")


def test_a_snapshot_written_during_the_copy_makes_it_copy_again(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "copy_store", snapshots_written_during(2))
    out = tmp_path / "fw.db"
    backup(store, out)
    assert snapshot_of(out).read_bytes() == b"snapshot 2"  # the one the last copy went with


def test_a_snapshot_written_during_every_copy_gives_up_and_says_why(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "copy_store", snapshots_written_during(ATTEMPTS))
    out = tmp_path / "fw.db"
    with pytest.raises(BackupError, match=f"during each of {ATTEMPTS} copies"):
        backup(store, out)
    assert not snapshot_of(out).exists()
    monkeypatch.setattr(module, "copy_store", snapshots_written_during(ATTEMPTS))
    result = run(store, tmp_path / "again.db")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"backup of {store} failed: the service wrote a new engine")
    assert "raise service.snapshot_every" in result.stderr


def test_a_file_that_is_not_a_store_fails_with_exit_1_and_no_output(tmp_path: Path) -> None:
    wrong = tmp_path / "stations.yaml"
    wrong.write_text("stations: []\n")
    out = tmp_path / "fw.db"
    result = run(wrong, out)
    assert result.exit_code == 1
    assert result.stderr == f"backup of {wrong} failed: file is not a database\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stations.yaml"]


def test_a_failed_copy_keeps_the_previous_backup(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "fw.db"
    assert run(store, out).exit_code == 0
    before = out.read_bytes()
    with sqlite3.connect(store) as db:  # the store is damaged after the last backup
        db.execute("DROP TABLE transitions")
    result = run(store, out)
    assert result.exit_code == 1
    assert "no such table: transitions" in result.stderr
    assert out.read_bytes() == before
    assert not list(tmp_path.glob(".*partial"))


def test_a_target_directory_that_does_not_exist_fails_with_exit_1(
    store: Path, tmp_path: Path
) -> None:
    result = run(store, tmp_path / "missing" / "fw.db")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"backup of {store} failed: [Errno 2]")


def test_a_store_that_does_not_exist_is_refused_by_the_option(tmp_path: Path) -> None:
    result = run(tmp_path / "nowhere.db", tmp_path / "fw.db")
    assert result.exit_code == 2 and "does not exist" in result.output


@pytest.mark.parametrize("suffix", ["", ".snapshot", "-wal"])
def test_a_backup_onto_the_store_itself_is_refused(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """The copy would replace the file the service has open: its writes from
    then on would go to a file no longer in the directory, lost at restart."""
    target = Path(f"{store}{suffix}")
    before = {p.name: (p.stat().st_ino, p.read_bytes()) for p in store.parent.iterdir()}
    monkeypatch.chdir(store.parent)
    result = run(store, Path(target.name))  # the same file by another spelling
    assert result.exit_code == 1
    assert result.stderr == (
        f"backup of {store} failed: {target.name} is the running store's own file: "
        "the copy would replace it; give another --output\n"
    )
    assert {p.name: (p.stat().st_ino, p.read_bytes()) for p in store.parent.iterdir()} == before
