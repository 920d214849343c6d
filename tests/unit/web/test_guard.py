"""`floodwatch.web.guard` on its own, as ASGI middleware around a small app that
reads its body: the body limit (declared length, a streamed body refused as
it passes the limit, a client that goes away, the app getting the body it
would have read and then the server's own messages) and the security headers
(added to every answer, an app's own header kept, the tile server's origin)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from floodwatch.web.guard import CSP, HEADERS, BodyLimit, SecurityHeaders, headers


class Echo:
    """An app that reads its whole body and answers with its length, then
    reads one more message (what the server says next)."""

    def __init__(self, extra: list[tuple[bytes, bytes]] | None = None) -> None:
        self.calls = 0
        self.after: Message | None = None
        self.extra = extra or []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        if scope["type"] != "http":
            self.after = await receive()
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.after = await receive()
        await send({"type": "http.response.start", "status": 200, "headers": self.extra})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


async def call(
    app: Any, messages: list[Message], headers: list[tuple[bytes, bytes]] | None = None,
    kind: str = "http",
) -> tuple[list[Message], int]:  # fmt: skip
    """Run `app` on a request of `messages`; what it sent and how many
    messages it took from the server."""
    taken = 0
    queue = [*messages, {"type": "http.disconnect"}]

    async def receive() -> Message:
        nonlocal taken
        taken += 1
        return queue.pop(0)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": kind, "method": "POST", "path": "/", "headers": headers or []}
    await app(scope, receive, send)
    return sent, taken


def chunks(*sizes: int) -> list[Message]:
    return [
        {"type": "http.request", "body": b"x" * n, "more_body": i < len(sizes) - 1}
        for i, n in enumerate(sizes)
    ]


def status(sent: list[Message]) -> int:
    return int(sent[0]["status"])


@pytest.mark.asyncio
async def test_a_body_within_the_limit_reaches_the_app_whole_then_the_servers_messages() -> None:
    inner = Echo()
    sent, _ = await call(BodyLimit(inner, limit=10), chunks(4, 6))
    assert status(sent) == 200 and sent[1]["body"] == b"10"
    assert inner.after == {"type": "http.disconnect"}  # after the body: the server's own


@pytest.mark.asyncio
async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    inner = Echo()
    sent, taken = await call(BodyLimit(inner, 10), chunks(11), [(b"content-length", b"11")])
    assert status(sent) == 413 and taken == 0 and inner.calls == 0
    assert json.loads(sent[1]["body"]) == {"error": "body larger than 10 bytes"}
    assert (b"connection", b"close") in sent[0]["headers"]
    assert set(HEADERS) <= set(sent[0]["headers"])


@pytest.mark.asyncio
async def test_a_declared_length_that_is_not_a_number_is_refused() -> None:
    for bad in (b"-1", b"1e9", b"ten", b""):
        sent, _ = await call(BodyLimit(Echo(), 10), chunks(1), [(b"content-length", bad)])
        assert status(sent) == 413, bad


@pytest.mark.asyncio
async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    inner = Echo()
    sent, taken = await call(BodyLimit(inner, 10), chunks(5, 5, 1, 1000, 1000))
    assert status(sent) == 413 and inner.calls == 0
    assert taken == 3  # the chunk that passed the limit, not one more


@pytest.mark.asyncio
async def test_exactly_the_limit_passes() -> None:
    sent, _ = await call(BodyLimit(Echo(), 10), chunks(5, 5), [(b"content-length", b"10")])
    assert status(sent) == 200 and sent[1]["body"] == b"10"


@pytest.mark.asyncio
async def test_a_client_gone_before_its_body_ends_gets_nothing_and_the_app_never_runs() -> None:
    inner = Echo()
    sent, _ = await call(BodyLimit(inner, 10), [chunks(3, 3)[0]])  # then a disconnect
    assert sent == [] and inner.calls == 0


@pytest.mark.asyncio
async def test_other_connections_pass_through_untouched() -> None:
    inner = Echo()
    sent, taken = await call(BodyLimit(SecurityHeaders(inner), 1), chunks(100), kind="websocket")
    assert sent == [] and inner.calls == 1 and taken == 1
    assert inner.after is not None and inner.after["body"] == b"x" * 100


@pytest.mark.asyncio
async def test_every_answer_gets_the_security_headers_and_the_apps_own_are_kept() -> None:
    sent, _ = await call(SecurityHeaders(Echo()), chunks(0))
    got = dict(sent[0]["headers"])
    assert got[b"content-security-policy"] == CSP.encode()
    assert got[b"x-frame-options"] == b"DENY"
    assert got[b"x-content-type-options"] == b"nosniff"
    assert got[b"referrer-policy"] == b"no-referrer"
    own = Echo(extra=[(b"X-Frame-Options", b"SAMEORIGIN")])
    sent, _ = await call(SecurityHeaders(own), chunks(0))
    frames = [v for k, v in sent[0]["headers"] if k.lower() == b"x-frame-options"]
    assert frames == [b"SAMEORIGIN"]  # not doubled
    assert sent[1] == {"type": "http.response.body", "body": b"0"}


def test_a_tile_server_is_the_one_more_origin_images_may_come_from() -> None:
    plain = dict(headers())[b"content-security-policy"].decode()
    tiles = dict(headers("https://tiles.example:8443"))[b"content-security-policy"].decode()
    assert plain == CSP
    assert "img-src 'self' data: https://tiles.example:8443;" in tiles
    assert tiles.replace(" https://tiles.example:8443", "") == CSP
    assert "tiles" not in tiles.replace("img-src 'self' data: https://tiles.example:8443", "")
