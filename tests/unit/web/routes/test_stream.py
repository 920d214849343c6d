"""`floodwatch.web.routes.stream` (`GET /api/stream`) over `create_app`, called
as uvicorn calls it (the stream is endless: the client goes away after a
moment): the token may come in the URL, a client that goes away is
forgotten, and a client that says which event it saw last (`Last-Event-ID`,
or `?last_event_id=`) gets what it missed."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from anyio.from_thread import BlockingPortal
from fastapi import FastAPI
from fastapi.testclient import TestClient

from floodwatch.service.run import Service
from floodwatch.web.auth import Role
from floodwatch.web.live import Live
from floodwatch.web.routes import stream
from tests.web.conftest import forged, session

Setup = tuple[Service, Live, TestClient]


def watch(
    loop: BlockingPortal, app: FastAPI, query: str = "", headers: dict[str, str] | None = None
) -> tuple[int, str]:
    """Status and what the stream sent in its first 0.3 s."""
    got: dict[str, Any] = {"status": 0, "body": b""}

    async def call() -> None:
        messages = [{"type": "http.request", "body": b""}]

        async def receive() -> dict[str, object]:
            if messages:
                return messages.pop()
            await asyncio.sleep(0.3)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                got["status"] = message["status"]
            elif message["type"] == "http.response.body":
                got["body"] += message.get("body", b"")

        scope = {
            "type": "http",
            "method": "GET",
            "path": "/api/stream",
            "raw_path": b"/api/stream",
            "query_string": query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
            "client": ("127.0.0.1", 1),
            "server": ("t", 80),
            "scheme": "http",
            "root_path": "",
            "http_version": "1.1",
        }
        await app(scope, receive, send)

    loop.call(call)
    return got["status"], got["body"].decode()


def ids(body: str) -> list[str]:
    return [line[4:] for line in body.splitlines() if line.startswith("id: ")]


def drills(client: TestClient, service: Service, n: int) -> None:
    duty = session(service, Role.OPERATOR)
    for _ in range(n):
        made = client.post(
            "/api/drills", headers=duty, json={"station": "xiawu-pond", "severity": "blue"}
        )
        assert made.status_code == 201


def test_the_stream_takes_a_session_from_the_header_or_the_url(
    setup: Setup, loop: BlockingPortal
) -> None:
    service, live, client = setup
    app = cast(FastAPI, client.app)
    viewer = session(service, Role.VIEWER)
    token = viewer["Authorization"].removeprefix("Bearer ")
    assert watch(loop, app, headers=viewer)[0] == 200
    status, body = watch(loop, app, f"token={token}")
    assert status == 200 and "event: hello" in body
    assert watch(loop, app)[0] == 401
    bad = forged(service)["Authorization"].removeprefix("Bearer ")
    assert watch(loop, app, f"token={bad}")[0] == 401
    assert live.hub.clients == set()  # each client that went away is forgotten
    assert stream.router


def test_a_client_gets_the_transitions_after_the_last_event_it_saw(
    setup: Setup, loop: BlockingPortal
) -> None:
    service, _, client = setup
    drills(client, service, 3)
    app = cast(FastAPI, client.app)
    viewer = session(service, Role.VIEWER)
    status, fresh = watch(loop, app, headers=viewer)
    assert status == 200 and ids(fresh) == []  # a new client: nothing replayed
    assert service.store is not None
    rows = [r for r, _ in loop.call(service.store.after, 0, 100)]
    assert len(rows) == 3
    first = f"a{rows[0]}"
    by_header = watch(loop, app, headers={**viewer, "Last-Event-ID": first})
    assert ids(by_header[1]) == [f"a{r}" for r in rows[1:]]
    by_query = watch(loop, app, f"last_event_id={first}", viewer)
    assert ids(by_query[1]) == [f"a{r}" for r in rows[1:]]
    both = watch(loop, app, "last_event_id=a0", {**viewer, "Last-Event-ID": first})
    assert ids(both[1]) == [f"a{r}" for r in rows[1:]]  # the header wins
    for junk in ("x1", "a", "a-1", "a1 OR 1=1"):
        got = watch(loop, app, headers={**viewer, "Last-Event-ID": junk})
        assert got[0] == 200 and ids(got[1]) == [], junk
        assert '"replayed_after": null' in got[1]
