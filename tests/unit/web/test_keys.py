"""`floodwatch.web.keys` on its own, on real files: where the key file is, how
it is read (comments, newest first, a bad line named), written (0600, atomic,
a stale temporary file), rotated (the grace period, `retire`), opened (made
when missing, a key moved from the store, loose permissions tightened) and
how a `KeyRing` follows a rotation on disk without a restart and keeps its
keys when the file goes bad."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from floodwatch.web.keys import (
    CHECK_EVERY,
    LEGACY,
    Key,
    KeyRing,
    key_file,
    new_key,
    read_keys,
    rotate,
    write_keys,
)

DAY = 86_400.0


def test_the_key_file_is_configured_or_next_to_the_store(tmp_path: Path) -> None:
    assert key_file(tmp_path / "fw.db", None) == tmp_path / "session-keys"
    assert key_file(str(tmp_path / "fw.db"), "/etc/fw/keys") == Path("/etc/fw/keys")


def test_keys_are_written_private_and_read_back_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "keys"
    old, new = new_key(1000.0), new_key(2000.0)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "keys.tmp").write_text("left over from a crash")
    write_keys(path, [old, new])
    assert path.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "sub" / "keys.tmp").exists()
    assert read_keys(path) == [new, old]
    assert path.read_text().startswith("# floodwatch session-signing keys")


def test_a_bad_line_is_named_and_an_empty_file_has_no_key(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# comment\n\n{new_key(1.0).line()}  # trailing\nab 12 not-hex\n")
    with pytest.raises(ValueError, match=r"keys:4: expected `ID CREATED SECRET`"):
        read_keys(path)
    path.write_text("# nothing but comments\n")
    with pytest.raises(ValueError, match="no session-signing key"):
        read_keys(path)


def test_a_rotation_keeps_the_old_key_for_the_grace_period_then_drops_it(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    first = rotate(path, DAY, 0.0)
    second = rotate(path, DAY, 100.0)
    assert [k.id for k in read_keys(path)] == [second.id, first.id]
    third = rotate(path, DAY, 100.0 + DAY + 1)  # `first`'s successor is older than the grace
    assert [k.id for k in read_keys(path)] == [third.id, second.id]
    fourth = rotate(path, DAY, 200.0 + DAY, retire=True)  # a leak: every older key goes
    assert [k.id for k in read_keys(path)] == [fourth.id]


def test_a_ring_verifies_an_older_key_only_within_the_grace(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    old = rotate(path, 10.0, 0.0)
    new = rotate(path, 10.0, 5.0)
    ring = KeyRing(path, grace=10.0)
    assert ring.signing(5.0) == new
    assert ring.verifying(old.id, 14.0) == old
    assert ring.verifying(old.id, 15.0) is None  # its successor is 10 s old
    assert ring.verifying(new.id, 1e9) == new  # the newest never ages out
    assert ring.verifying("unknown", 6.0) is None


def test_a_ring_follows_a_rotation_on_disk_and_keeps_its_keys_if_the_file_breaks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys"
    first = rotate(path, DAY, 0.0)
    ring = KeyRing(path, DAY)
    t = ring.checked  # the wall clock: when it read the file
    second = rotate(path, DAY, t - 10.0)
    assert ring.signing(t + CHECK_EVERY / 10) == first  # not looked at yet
    assert ring.signing(t + CHECK_EVERY + 0.1).id == second.id
    assert ring.verifying(first.id, t + CHECK_EVERY + 0.2) == first
    path.write_text("garbage\n")
    assert ring.signing(t + 3 * CHECK_EVERY).id == second.id  # a bad file: the keys we had
    path.unlink()
    assert ring.signing(t + 5 * CHECK_EVERY).id == second.id  # no file: the same


def test_open_makes_a_private_file_when_there_is_none(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    ring = KeyRing.open(path, DAY, None, 1000.0)
    assert len(ring.keys) == 1 and path.stat().st_mode & 0o777 == 0o600
    again = KeyRing.open(path, DAY, None, 2000.0)
    assert again.keys == ring.keys  # opened, not replaced


def test_open_tightens_a_file_others_may_read(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    write_keys(path, [new_key(1.0)])
    os.chmod(path, 0o644)
    KeyRing.open(path, DAY, None, 2.0)
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_key_from_the_store_becomes_an_older_key_under_a_fresh_one(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    legacy = bytes(range(32))
    ring = KeyRing.open(path, DAY, legacy, 5000.0)
    fresh, moved = ring.keys
    assert moved == Key(LEGACY, 4999.0, legacy) and fresh.secret != legacy
    assert ring.signing(5000.0) == fresh
    assert ring.verifying(LEGACY, 5000.0 + DAY - 1) == moved
    assert ring.verifying(LEGACY, 5000.0 + DAY + 1) is None
    # opened again with the same key (say the wipe did not happen): not added twice
    assert KeyRing.open(path, DAY, legacy, 6000.0).keys == ring.keys
