"""Session-signing keys: kept in their own file, never in the store; rotated
with a grace period.

The key file (`service.http.session_keys`, by default `session-keys` next to
the store) is created with mode 0600 and holds one key per line, newest
first: `ID CREATED SECRET` (CREATED in epoch seconds, SECRET 64 hex
digits). The newest key signs new sessions. An older key still verifies
sessions until its successor has existed for the grace period (the session
lifetime, so every session it signed has expired by then); after that it is
ignored, and the next rotation drops it from the file.

`floodwatch rotate-session-key` (or `rotate()`) adds a new key; the running
service notices the changed file within a second, with no restart, so
sessions signed by the old key keep working while new logins get the new
one. `rotate(..., retire=True)` drops every older key at once (a suspected
leak: every session must log in again).

Stores made before this had the key in their `meta` table: the first start
moves it to the file as an *older* key (its sessions keep working for the
grace period), signs from then on with a fresh key that never was in the
store, and overwrites the old row in the database file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

CHECK_EVERY = 1.0  # seconds between looks at the file for a rotation
LEGACY = "store"  # the id of a key moved from the store


@dataclass(frozen=True)
class Key:
    id: str
    created: float
    secret: bytes

    def line(self) -> str:
        return f"{self.id} {self.created:.0f} {self.secret.hex()}"


def key_file(store: str | Path, configured: str | None) -> Path:
    """`service.http.session_keys`, or `session-keys` next to the store."""
    return Path(configured) if configured else Path(store).with_name("session-keys")


def new_key(now: float) -> Key:
    return Key(secrets.token_hex(4), now, secrets.token_bytes(32))


def read_keys(path: Path) -> list[Key]:
    """The keys in the file, newest first (ValueError naming the line if one is bad)."""
    keys = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            kid, created, secret = text.split()
            keys.append(Key(kid, float(created), bytes.fromhex(secret)))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: expected `ID CREATED SECRET`") from exc
    if not keys:
        raise ValueError(f"{path}: no session-signing key")
    return sorted(keys, key=lambda k: k.created, reverse=True)


def write_keys(path: Path, keys: list[Key]) -> None:
    """Replace the file atomically; the new file has mode 0600 from its creation."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# floodwatch session-signing keys, newest first: ID CREATED SECRET\n")
        out.writelines(k.line() + "\n" for k in keys)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def rotate(path: Path, grace: float, now: float, *, retire: bool = False) -> Key:
    """Add a new signing key; drop keys past their grace period (all older
    keys with `retire`). Returns the new key."""
    keys = read_keys(path) if path.exists() else []
    fresh = new_key(now)
    kept = [] if retire else [k for k in _alive(keys, grace, now)]
    write_keys(path, [fresh, *kept])
    return fresh


def _alive(keys: list[Key], grace: float, now: float) -> list[Key]:
    """Newest first: the newest, and each older key whose successor is younger than `grace`."""
    return [k for i, k in enumerate(keys) if i == 0 or keys[i - 1].created + grace > now]


class KeyRing:
    """The keys of one file, re-read when the file changes (rotation)."""

    def __init__(self, path: Path, grace: float) -> None:
        self.path = path
        self.grace = grace
        self.keys: list[Key] = []
        self.stamp: tuple[float, int] | None = None
        self.checked = 0.0
        self._reload()

    @classmethod
    def open(cls, path: Path, grace: float, legacy: bytes | None, now: float) -> KeyRing:
        """The ring of `path`, made (0600) if missing; `legacy` (a key that was
        kept in the store) is added as an older key, verifying only for `grace`."""
        keys = read_keys(path) if path.exists() else []
        if legacy is not None and all(k.secret != legacy for k in keys):
            keys = [new_key(now), *keys, Key(LEGACY, now - 1, legacy)]
        if not keys:
            keys = [new_key(now)]
        if not path.exists() or legacy is not None:
            write_keys(path, keys)
        elif path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return cls(path, grace)

    def signing(self, now: float) -> Key:
        self._maybe_reload(now)
        return self.keys[0]

    def verifying(self, kid: str, now: float) -> Key | None:
        self._maybe_reload(now)
        for key in _alive(self.keys, self.grace, now):
            if key.id == kid:
                return key
        return None

    def _maybe_reload(self, now: float) -> None:
        if now - self.checked < CHECK_EVERY and now >= self.checked:
            return
        self.checked = now
        with contextlib.suppress(OSError, ValueError):  # keep the keys we have
            stat = self.path.stat()
            if (stat.st_mtime, stat.st_ino) != self.stamp:
                self._reload()

    def _reload(self) -> None:
        stat = self.path.stat()
        self.keys = read_keys(self.path)
        self.stamp = (stat.st_mtime, stat.st_ino)
        self.checked = time.time()
