"""The command center's security decisions, in process: login limits per
address (never a lock-out of an account), the token in the URL only for the
stream, token expiry and issue time, key rotation, browser security headers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient

from floodwatch.notify.sinks import load_config_dir
from floodwatch.service.run import Service
from floodwatch.web import keys
from floodwatch.web.access import ACCESS
from floodwatch.web.auth import Principal, Role, Tokens
from floodwatch.web.demo import demo_settings
from floodwatch.web.guard import CSP
from floodwatch.web.live import Live
from tests.web.conftest import client_on


@pytest.fixture
def app(tmp_path: Path, loop: BlockingPortal) -> Iterator[tuple[Service, Live]]:
    loaded = demo_settings(load_config_dir("config"), tmp_path, 8080)
    service = Service(loaded)
    loop.call(service.open)
    yield service, loop.call(Live, service)
    loop.call(service.close)


@pytest.fixture
def client(app: tuple[Service, Live], loop: BlockingPortal) -> TestClient:
    service, live = app
    assert service.settings.http is not None
    return client_on(
        loop, loop.call(live.app, service.settings.http), raise_server_exceptions=False
    )


def login(client: TestClient, name: str = "duty", password: str = "floodwatch") -> str:
    answer = client.post("/api/login", json={"name": name, "password": password})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def test_guessing_at_the_duty_officers_name_does_not_lock_the_officer_out(
    app: tuple[Service, Live], loop: BlockingPortal
) -> None:
    service, live = app
    assert service.settings.http is not None
    web = loop.call(live.app, service.settings.http)
    attacker = client_on(loop, web, client=("203.0.113.66", 4000))
    officer = client_on(loop, web, client=("10.0.0.5", 4000))
    codes = [
        attacker.post("/api/login", json={"name": "duty", "password": f"guess{i}"}).status_code
        for i in range(7)
    ]
    assert codes == [401] * 5 + [429] * 2  # that address is limited
    started = time.monotonic()
    login(officer)  # the account is not
    slowed = time.monotonic() - started
    assert 0.4 < slowed < 5, slowed  # slowed down after the failures, not refused


def test_a_token_in_the_url_is_accepted_only_by_the_event_stream(client: TestClient) -> None:
    token = login(client)
    assert client.get("/api/me", params={"token": token}).status_code == 401
    posted = client.post("/api/drills", params={"token": token}, json={})
    assert posted.status_code == 401
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    in_url = [key for key, rule in ACCESS.items() if rule.token_in_url]
    assert in_url == [("GET", "/api/stream")]


def test_the_stream_takes_its_token_from_the_url(
    app: tuple[Service, Live], loop: BlockingPortal
) -> None:
    service, live = app
    assert service.settings.http is not None
    web = loop.call(live.app, service.settings.http)
    seen: list[int] = []

    async def call(url: str) -> None:
        messages = [{"type": "http.request", "body": b""}]

        async def receive() -> dict[str, object]:
            if messages:
                return messages.pop()
            await asyncio.sleep(0.1)
            return {"type": "http.disconnect"}  # the client goes away

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                seen.append(int(message["status"]))  # type: ignore[call-overload]

        path, _, query = url.partition("?")
        scope = {
            "type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
            "query_string": query.encode(), "headers": [], "client": ("127.0.0.1", 1),
            "server": ("t", 80), "scheme": "http", "root_path": "", "http_version": "1.1",
        }  # fmt: skip
        await web(scope, receive, send)

    token = login(client_on(loop, web))
    loop.call(call, f"/api/stream?token={token}")
    loop.call(call, "/api/stream?token=forged.token")
    assert seen == [200, 401]


def test_tokens_carry_their_issue_time_and_expire(
    client: TestClient, app: tuple[Service, Live]
) -> None:
    service, _ = app
    ring = keys.KeyRing(keys.key_file(service.store_path, None), grace=3600)
    tokens = Tokens(ring, ttl=3600)
    duty = Principal("duty", Role.OPERATOR)
    now = time.time()

    def status(token: str) -> int:
        return client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code

    assert status(tokens.issue(duty, now)) == 200
    assert status(tokens.issue(duty, now - 3601)) == 401  # expired
    assert status(tokens.issue(duty, now + 600)) == 401  # issued in the future
    assert status(login(client) + "x") == 401  # signature


def test_a_rotated_key_verifies_for_the_grace_period_only(tmp_path: Path) -> None:
    path = tmp_path / "session-keys"
    t0 = 1_000_000.0
    ring = keys.KeyRing.open(path, grace=3600, legacy=None, now=t0)
    assert path.stat().st_mode & 0o777 == 0o600
    tokens = Tokens(ring, ttl=7200)  # longer than the grace: the key decides
    duty = Principal("duty", Role.OPERATOR)
    before = tokens.issue(duty, t0)
    keys.rotate(path, grace=3600, now=t0 + 60)
    ring.checked = -1.0  # look at the file now
    after = tokens.issue(duty, t0 + 61)
    assert before.split(".")[1] != after.split(".")[1]
    assert tokens.check(before, t0 + 120) == duty  # the previous key, within the grace
    assert tokens.check(after, t0 + 120) == duty
    assert tokens.check(before, t0 + 60 + 3601) is None  # the old key after its grace
    assert tokens.check(after, t0 + 60 + 3601) == duty
    keys.rotate(path, grace=3600, now=t0 + 7200)
    assert len(keys.read_keys(path)) == 2  # the key past its grace is gone from the file


def test_every_answer_carries_the_browser_security_headers(client: TestClient) -> None:
    for answer in (
        client.get("/"),
        client.get("/static/app.js"),
        client.get("/api/me"),
        client.post("/api/login", content=b"x" * 70_000),
        client.get("/nowhere"),
    ):
        assert answer.headers["content-security-policy"] == CSP
        assert "frame-ancestors 'none'" in CSP and "'unsafe-inline'" not in CSP
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"


def test_a_configured_tile_server_is_the_one_origin_images_may_also_come_from() -> None:
    from floodwatch.web.api import _origin
    from floodwatch.web.guard import headers

    origin = _origin("http://tiles.county.local:8081/{z}/{x}/{y}.png")
    assert origin == "http://tiles.county.local:8081"
    policy = dict(headers(origin))[b"content-security-policy"].decode()
    assert "img-src 'self' data: http://tiles.county.local:8081;" in policy
    assert policy.replace(" http://tiles.county.local:8081", "") == CSP  # nothing else opens
    assert _origin(None) is None and dict(headers())[b"content-security-policy"] == CSP.encode()
