"""Who may do what on the HTTP server: accounts, tokens, roles, login limits.

Accounts live in `service.http.users` with scrypt password hashes (made by
`floodwatch hash-password`); machine clients use tokens from
`service.http.token_file` (one `TOKEN ROLE NAME` per line). A login returns a
session token signed with HMAC-SHA256 under a key of the session key file
(`web/keys.py`: not the store, rotated with a grace period), carrying who,
the role, the key's id, when it was issued and when it expires; sessions
survive a restart of the service. Roles are ordered viewer < operator <
admin; every route of the app names the least role it needs (`web/api.py`,
`ACCESS`), and a test fails for a route that does not.

A login always runs the password hash, also for an unknown account (against
a dummy hash), so the answer's timing does not tell which accounts exist.
Failed logins are limited per client address (then 429); per account they
only slow further attempts down (`LoginLimiter`), so nobody can lock the
duty officer out by guessing at the officer's name.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import secrets
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TypeVar

from floodwatch.web.keys import LEGACY, KeyRing

SCRYPT = {"n": 2**14, "r": 8, "p": 1}
CLOCK_SLACK = 60.0  # seconds a token's issue time may be ahead (a clock step)
T = TypeVar("T")


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: str) -> Role:
        return cls[name.upper()]


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>` (for `service.http.users`)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    n, r, p = SCRYPT["n"], SCRYPT["r"], SCRYPT["p"]
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


@functools.cache
def dummy_hash() -> str:
    """A hash no password matches, checked for unknown accounts (same cost)."""
    return hash_password(secrets.token_hex(16))


def check_login(
    users: Mapping[str, T], name: str, password: str, hash_of: Callable[[T], str]
) -> T | None:
    """The account `name` if `password` is its password. The hash runs
    whether or not the account exists."""
    user = users.get(name)
    ok = check_password(password, hash_of(user) if user is not None else dummy_hash())
    return user if ok and user is not None else None


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), dklen=32, n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


class Tokens:
    """Signed session tokens: base64(payload).base64(hmac). The payload names
    the account, role, signing key (`k`), issued-at (`iat`) and expiry (`exp`)."""

    def __init__(self, keys: KeyRing, ttl: float) -> None:
        self.keys = keys
        self.ttl = ttl

    def issue(self, who: Principal, now: float) -> str:
        key = self.keys.signing(now)
        claims = {
            "n": who.name,
            "r": who.role.name.lower(),
            "k": key.id,
            "iat": int(now),
            "exp": int(now + self.ttl),
        }
        payload = _b64(json.dumps(claims, ensure_ascii=False).encode())
        return f"{payload}.{_sign(key.secret, payload)}"

    def check(self, token: str, now: float) -> Principal | None:
        """Who the token is, or None: a bad signature, an unknown or retired
        key, an expiry passed, an issue time in the future."""
        payload, _, signature = token.partition(".")
        if not signature or len(token) > 4096:
            return None
        try:
            data = json.loads(_unb64(payload))
            key = self.keys.verifying(str(data.get("k", LEGACY)), now)
            if key is None or not hmac.compare_digest(signature, _sign(key.secret, payload)):
                return None
            if "k" not in data:  # signed before keys had ids (`n`, `r`, `e`)
                data = {**data, "iat": 0, "exp": data["e"]}
            if not float(data["iat"]) - CLOCK_SLACK <= now < float(data["exp"]):
                return None
            return Principal(str(data["n"]), Role.parse(str(data["r"])))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def _sign(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def read_token_file(path: str | None) -> dict[str, Principal]:
    """`TOKEN ROLE NAME` per line (# comments); tokens for machine clients."""
    if path is None:
        return {}
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 3:
            out[parts[0]] = Principal(" ".join(parts[2:]), Role.parse(parts[1]))
    return out


class LoginLimiter:
    """Failed logins: at most `attempts` per `window` seconds from one client
    address (then refused until the window passes: `blocked`); per account
    name, after `attempts` failures each further attempt waits (`delay`),
    doubling up to `max_delay` — slower guessing, never a lock-out. An
    attempt counts as failed from its start until it succeeds (`forgive`), so
    a burst of concurrent attempts is limited like a sequence of them."""

    def __init__(
        self,
        attempts: int = 5,
        window: float = 60.0,
        first_delay: float = 0.5,
        max_delay: float = 4.0,
    ) -> None:
        self.attempts = attempts
        self.window = window
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.failures: dict[str, deque[float]] = {}

    def blocked(self, address: str, now: float) -> float:
        """Seconds this address must wait (0: allowed)."""
        recent = self._recent(f"ip:{address}", now)
        if len(recent) >= self.attempts:
            return recent[0] + self.window - now
        return 0.0

    def delay(self, name: str, now: float) -> float:
        """Seconds to wait before checking a password for this account."""
        over = len(self._recent(f"name:{name}", now)) - self.attempts
        if over < 0:
            return 0.0
        return float(min(self.max_delay, self.first_delay * 2 ** min(over, 16)))

    def failed(self, address: str, name: str, now: float) -> None:
        for key in (f"ip:{address}", f"name:{name}"):
            self.failures.setdefault(key, deque()).append(now)
        if len(self.failures) > 10_000:  # forget the idle ones
            for key in [k for k, v in self.failures.items() if not v or v[-1] < now - self.window]:
                del self.failures[key]

    def forgive(self, address: str, name: str, at: float) -> None:
        """Take back the failure recorded at `at` (the attempt succeeded)."""
        for key in (f"ip:{address}", f"name:{name}"):
            with contextlib.suppress(KeyError, ValueError):
                self.failures[key].remove(at)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self.failures.get(key)
        if recent is None:
            return deque()
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return recent


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
