"""The service and its app on one event loop in a thread of its own, as
`floodwatch run` has them: the store is used from that thread only (its
SQLite connection refuses any other), so the test's own calls on the service
go through `loop.call`, and a `TestClient` sends its requests to that loop
instead of starting one of its own.

`setup` is the service (the example config with the demo's accounts and
warning chain, no broker), its `Live` parts and a client of its app; `token`
logs in, `session` signs a token without the password hash (any role, any
issue time), `feed` runs readings through the service's steps."""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from fastapi.testclient import TestClient

from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.service.run import Service
from floodwatch.sim import simulate
from floodwatch.web import demo
from floodwatch.web.auth import Principal, Role, Tokens, hash_password
from floodwatch.web.keys import KeyRing, key_file
from floodwatch.web.live import Live

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings


@pytest.fixture
def loop() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as portal:
        yield portal


def client_on(loop: BlockingPortal, app: FastAPI, **options: Any) -> TestClient:
    """A TestClient whose requests run on `loop` (the app has no lifespan to enter)."""
    client = TestClient(app, **options)
    client.portal = loop
    return client


_hashed = functools.cache(hash_password)  # the demo accounts' scrypt once, not per test


@pytest.fixture
def setup(
    tmp_path: Path, loop: BlockingPortal, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Service, Live, TestClient]]:
    monkeypatch.setattr(demo, "hash_password", _hashed)
    loaded = demo.demo_settings(load_config_dir("config"), tmp_path, 8080)  # port unused here
    service = Service(loaded)
    loop.call(service.open)
    live = loop.call(Live, service)
    settings = loaded.config.service.http
    assert settings is not None
    yield (
        service,
        live,
        client_on(loop, loop.call(live.app, settings), raise_server_exceptions=False),
    )
    loop.call(service.close)


def token(client: TestClient, name: str = "duty") -> dict[str, str]:
    answer = client.post("/api/login", json={"name": name, "password": "floodwatch"})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def session(
    service: Service, role: Role, name: str = "someone", issued: float | None = None
) -> dict[str, str]:
    """The header of a session token as `POST /api/login` signs it (with the
    service's own key file), for any role and issue time, without a login."""
    http = service.settings.http
    assert http is not None
    ttl = http.session_ttl.total_seconds()
    ring = KeyRing(key_file(service.store_path, http.session_keys), grace=ttl)
    at = time.time() if issued is None else issued
    signed = Tokens(ring, ttl).issue(Principal(name, role), at)
    return {"Authorization": f"Bearer {signed}"}


def sweeps(readings: list[Reading]) -> list[Incoming]:
    by_ts: dict[object, list[Reading]] = {}
    for r in readings:
        by_ts.setdefault(r.ts, []).append(r)
    return [
        Incoming(json.dumps([r.to_json() for r in rs]).encode(), "t", "batch", "mqtt")
        for _, rs in sorted(by_ts.items())  # type: ignore[type-var]
    ]


def feed(client: TestClient, service: Service, readings: list[Reading]) -> None:
    """Steps of the service, on its loop."""
    for item in sweeps(readings):
        client.portal.call(service.step, [item])  # type: ignore[union-attr]


def forged(service: Service) -> dict[str, str]:
    """A viewer's real session token with its payload changed to say admin
    (the signature kept): what a tampering client would send."""
    real = session(service, Role.VIEWER)["Authorization"].removeprefix("Bearer ")
    payload, _, signature = real.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["r"] = "admin"
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return {"Authorization": f"Bearer {changed}.{signature}"}


def who_may(
    client: TestClient, service: Service, method: str, url: str, body: object = None
) -> dict[str, int]:
    """The status each kind of caller gets for one request: no session, a
    tampered token, an expired session, and a viewer, operator and admin."""
    http = service.settings.http
    assert http is not None
    expired = time.time() - http.session_ttl.total_seconds() - 1
    callers = {
        "nobody": {},
        "forged": forged(service),
        "expired": session(service, Role.ADMIN, issued=expired),
        "viewer": session(service, Role.VIEWER),
        "operator": session(service, Role.OPERATOR),
        "admin": session(service, Role.ADMIN),
    }
    return {
        who: client.request(method, url, headers=headers, json=body).status_code
        for who, headers in callers.items()
    }
