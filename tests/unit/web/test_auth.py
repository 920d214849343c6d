"""`floodwatch.web.auth` on its own: roles and their order, scrypt password
hashes (and stored hashes that are not ours), a login that hashes also for an
unknown account, session tokens (issued, checked, expired, from the future,
tampered, signed by a retired key, too long, the old format without a key
id), machine tokens from their file, and the login limiter (per address a
window, per account only a delay, `forgive`, forgetting idle entries)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from floodwatch.web import auth
from floodwatch.web.auth import (
    CLOCK_SLACK,
    LoginLimiter,
    Principal,
    Role,
    Tokens,
    check_login,
    check_password,
    hash_password,
    read_token_file,
)
from floodwatch.web.keys import LEGACY, Key, KeyRing, rotate, write_keys

DUTY = Principal("值班员", Role.OPERATOR)
NOW = 1_800_000_000.0


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    path = tmp_path / "keys"
    rotate(path, 3600.0, NOW)
    return KeyRing(path, grace=3600.0)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_roles_are_ordered_and_parsed_by_name() -> None:
    assert Role.VIEWER < Role.OPERATOR < Role.ADMIN
    assert Role.parse("Operator") is Role.OPERATOR
    with pytest.raises(KeyError):
        Role.parse("root")


def test_a_password_checks_against_its_own_hash_only() -> None:
    stored = hash_password("floodwatch", salt=b"0123456789abcdef")
    scheme, n, r, p, _, _ = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert stored == hash_password("floodwatch", salt=b"0123456789abcdef")  # salt decides
    assert hash_password("floodwatch") != hash_password("floodwatch")  # a fresh salt each
    assert check_password("floodwatch", stored)
    assert not check_password("Floodwatch", stored)
    assert not check_password("", stored)


def test_a_stored_hash_that_is_not_ours_never_matches() -> None:
    good = hash_password("pw")
    for stored in (
        "", "plain-text", good.replace("scrypt", "bcrypt", 1), good.rsplit("$", 1)[0],
        good.replace("$16384$", "$abc$"), good.replace("$16384$", "$3$"),  # n not a power of 2
        good + "$extra",
    ):  # fmt: skip
        assert not check_password("pw", stored), stored


def test_a_login_hashes_also_for_an_unknown_account(monkeypatch: pytest.MonkeyPatch) -> None:
    users = {"duty": hash_password("right")}
    checked: list[str] = []
    real = auth.check_password

    def counting(password: str, stored: str) -> bool:
        checked.append(stored)
        return real(password, stored)

    monkeypatch.setattr(auth, "check_password", counting)
    assert check_login(users, "duty", "right", lambda h: h) == users["duty"]
    assert check_login(users, "duty", "wrong", lambda h: h) is None
    assert check_login(users, "nobody", "right", lambda h: h) is None
    assert len(checked) == 3 and checked[2] == auth.dummy_hash()  # the same cost for nobody
    assert check_login(users, "nobody", "", lambda h: h) is None


def test_a_session_token_says_who_until_it_expires(ring: KeyRing) -> None:
    tokens = Tokens(ring, ttl=600.0)
    token = tokens.issue(DUTY, NOW)
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert claims == {"n": "值班员", "r": "operator", "k": ring.keys[0].id,
                      "iat": int(NOW), "exp": int(NOW + 600)}  # fmt: skip
    assert tokens.check(token, NOW) == DUTY
    assert tokens.check(token, NOW + 599) == DUTY
    assert tokens.check(token, NOW + 600) is None  # expired
    assert tokens.check(token, NOW - CLOCK_SLACK) == DUTY  # a clock stepped back a little
    assert tokens.check(token, NOW - CLOCK_SLACK - 1) is None  # issued in the future


def test_a_tampered_truncated_or_foreign_token_is_nobody(ring: KeyRing, tmp_path: Path) -> None:
    tokens = Tokens(ring, ttl=600.0)
    token = tokens.issue(Principal("guest", Role.VIEWER), NOW)
    payload, _, signature = token.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    admin = b64(json.dumps({**claims, "r": "admin"}).encode())
    other = tmp_path / "other"
    rotate(other, 3600.0, NOW)
    foreign = Tokens(KeyRing(other, 3600.0), 600.0).issue(DUTY, NOW)
    for bad in (
        f"{admin}.{signature}", payload, f"{payload}.", f"{payload}.{signature[:-2]}",
        "", ".", "x.y", "%%%.%%%", foreign, token + "x" * 4096,
        f"{b64(b'[1, 2]')}.{signature}",
    ):  # fmt: skip
        assert tokens.check(bad, NOW) is None, bad[:40]


def test_a_token_whose_claims_are_wrong_is_nobody_even_when_signed(ring: KeyRing) -> None:
    key = ring.keys[0]

    def signed(claims: object) -> str:
        payload = b64(json.dumps(claims).encode())
        mac = b64(hmac.new(key.secret, payload.encode(), hashlib.sha256).digest())
        return f"{payload}.{mac}"

    tokens = Tokens(ring, 600.0)
    good = {"n": "x", "r": "viewer", "k": key.id, "iat": NOW, "exp": NOW + 60}
    assert tokens.check(signed(good), NOW) == Principal("x", Role.VIEWER)
    for claims in (
        {**good, "r": "root"}, {**good, "exp": "soon"}, {k: v for k, v in good.items() if k != "n"},
        {k: v for k, v in good.items() if k != "exp"}, ["x"], "x",
    ):  # fmt: skip
        assert tokens.check(signed(claims), NOW) is None, claims


def test_a_token_signed_by_a_retired_key_is_nobody(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    rotate(path, 3600.0, NOW)
    ring = KeyRing(path, 3600.0)
    tokens = Tokens(ring, 3600.0)
    old = tokens.issue(DUTY, NOW)
    rotate(path, 3600.0, NOW + 10, retire=True)
    ring.checked = 0.0  # look at the file at the next call
    assert tokens.check(old, NOW + 20) is None
    assert tokens.check(tokens.issue(DUTY, NOW + 20), NOW + 20) == DUTY


def test_a_token_of_the_key_that_was_in_the_store_still_works(tmp_path: Path) -> None:
    """Before keys had ids a token said `n`, `r` and `e` (expiry) only."""
    path, legacy = tmp_path / "keys", b"k" * 32
    write_keys(path, [Key("new", NOW, b"n" * 32), Key(LEGACY, NOW - 1, legacy)])
    tokens = Tokens(KeyRing(path, 3600.0), 3600.0)
    payload = b64(json.dumps({"n": "duty", "r": "operator", "e": NOW + 100}).encode())
    old = f"{payload}.{b64(hmac.new(legacy, payload.encode(), hashlib.sha256).digest())}"
    assert tokens.check(old, NOW) == Principal("duty", Role.OPERATOR)
    assert tokens.check(old, NOW + 100) is None


def test_machine_tokens_come_from_their_file(tmp_path: Path) -> None:
    assert read_token_file(None) == {}
    path = tmp_path / "tokens"
    path.write_text(
        "# TOKEN ROLE NAME\n\nabc123 viewer grafana scraper  # the dashboards\n"
        "def456 OPERATOR sms-gateway\nonly-two viewer\n"
    )
    assert read_token_file(str(path)) == {
        "abc123": Principal("grafana scraper", Role.VIEWER),
        "def456": Principal("sms-gateway", Role.OPERATOR),
    }
    path.write_text("ghi789 superuser someone\n")
    with pytest.raises(KeyError):
        read_token_file(str(path))
    with pytest.raises(FileNotFoundError):
        read_token_file(str(tmp_path / "missing"))


def test_an_address_that_keeps_failing_waits_for_its_window() -> None:
    limiter = LoginLimiter(attempts=3, window=60.0)
    for i in range(3):
        assert limiter.blocked("10.0.0.1", 100.0 + i) == 0.0
        limiter.failed("10.0.0.1", f"user{i}", 100.0 + i)
    assert limiter.blocked("10.0.0.1", 110.0) == pytest.approx(50.0)
    assert limiter.blocked("10.0.0.2", 110.0) == 0.0  # another address
    assert limiter.blocked("10.0.0.1", 159.5) == pytest.approx(0.5)
    assert limiter.blocked("10.0.0.1", 160.0) == 0.0  # the first failure left the window
    limiter.failed("10.0.0.1", "user3", 160.0)
    assert limiter.blocked("10.0.0.1", 160.5) == pytest.approx(0.5)  # until 101 + 60


def test_guessing_at_an_account_slows_it_down_but_never_locks_it() -> None:
    limiter = LoginLimiter(attempts=2, window=60.0, first_delay=0.5, max_delay=4.0)
    delays = []
    for i in range(8):
        delays.append(limiter.delay("duty", 100.0))
        limiter.failed(f"10.0.0.{i}", "duty", 100.0)
    assert delays == [0.0, 0.0, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert limiter.delay("duty", 161.0) == 0.0  # all out of the window
    assert limiter.delay("guest", 100.0) == 0.0


def test_a_successful_attempt_is_forgiven_and_idle_entries_are_forgotten() -> None:
    limiter = LoginLimiter(attempts=1, window=60.0)
    limiter.failed("10.0.0.1", "duty", 100.0)
    assert limiter.blocked("10.0.0.1", 101.0) > 0
    limiter.forgive("10.0.0.1", "duty", 100.0)
    assert limiter.blocked("10.0.0.1", 101.0) == 0.0
    limiter.forgive("10.0.0.9", "nobody", 100.0)  # nothing to take back: no error
    for i in range(10_001):
        limiter.failed(f"a{i}", "x", 0.0)
    limiter.failed("b", "y", 1000.0)  # over 10 000 keys: the idle ones go
    assert set(limiter.failures) == {"ip:b", "name:y"}
