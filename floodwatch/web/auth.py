"""Who may do what on the HTTP server: accounts, tokens, roles, login limits.

Accounts live in `service.http.users` with scrypt password hashes (made by
`floodwatch hash-password`); machine clients use tokens from
`service.http.token_file` (one `TOKEN ROLE NAME` per line). A login returns a
session token signed with HMAC-SHA256 under a secret kept in the store, so
sessions survive a restart of the service. Roles are ordered viewer <
operator < admin; every route of the app names the least role it needs
(`web/api.py`, `ACCESS`), and a test fails for a route that does not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

SCRYPT = {"n": 2**14, "r": 8, "p": 1}


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
    """Signed session tokens: base64(payload).base64(hmac)."""

    def __init__(self, secret: bytes, ttl: float) -> None:
        self.secret = secret
        self.ttl = ttl

    def issue(self, who: Principal, now: float) -> str:
        payload = _b64(
            json.dumps({"n": who.name, "r": who.role.name.lower(), "e": now + self.ttl}).encode()
        )
        return f"{payload}.{self._sign(payload)}"

    def check(self, token: str, now: float) -> Principal | None:
        payload, _, signature = token.partition(".")
        if not signature or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            if float(data["e"]) < now:
                return None
            return Principal(str(data["n"]), Role.parse(str(data["r"])))
        except (ValueError, KeyError, TypeError):
            return None

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self.secret, payload.encode(), hashlib.sha256).digest())


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
    """At most `attempts` failed logins per `window` seconds per client address
    and per account name; further attempts are refused until it passes."""

    def __init__(self, attempts: int = 5, window: float = 60.0) -> None:
        self.attempts = attempts
        self.window = window
        self.failures: dict[str, deque[float]] = {}

    def blocked(self, keys: list[str], now: float) -> float:
        """Seconds to wait (0: allowed)."""
        wait = 0.0
        for key in keys:
            recent = self.failures.get(key)
            if recent is None:
                continue
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            if len(recent) >= self.attempts:
                wait = max(wait, recent[0] + self.window - now)
        return wait

    def failed(self, keys: list[str], now: float) -> None:
        for key in keys:
            self.failures.setdefault(key, deque()).append(now)
        if len(self.failures) > 10_000:  # forget the idle ones
            for key in [k for k, v in self.failures.items() if not v or v[-1] < now - self.window]:
                del self.failures[key]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def now() -> float:
    return time.time()
