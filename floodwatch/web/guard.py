"""ASGI middleware around the whole command-center app: the body limit and
the browser security headers.

`BodyLimit` reads a request's body itself, chunk by chunk as the server
receives it, before the app (routing, authentication, the password hash)
sees anything: a declared `Content-Length` over the limit is refused at
once, and a streamed (chunked) body is refused as soon as what arrived passes
the limit. The server never holds more than the limit plus one chunk of a
request, whatever the client sends. The app then gets the body it would have
read, followed by the server's own messages (a disconnect, for the stream).

`SecurityHeaders` adds to every response: a Content-Security-Policy that
allows only the page's own files (no inline script or style, no framing, no
plugins), `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff` and
`Referrer-Policy: no-referrer` (a URL never leaves with the page's address).
The one exception: images from the map's tile server, when one is configured.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def headers(images: str | None = None) -> list[tuple[bytes, bytes]]:
    """The security headers; `images`: one more origin images may come from."""
    csp = (
        CSP
        if images is None
        else CSP.replace("img-src 'self' data:", f"img-src 'self' data: {images}")
    )
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    ]


HEADERS = headers()


class BodyLimit:
    """Refuse (413, JSON error) any request body over `limit` bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        body: list[Message] = []
        size = 0
        while True:  # read it all now (at most `limit` bytes), before the app runs
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(send)
                return
            body.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return body.pop(0) if body else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        payload = json.dumps({"error": f"body larger than {self.limit} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                    *HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class SecurityHeaders:
    """Add the browser security headers to every HTTP response."""

    def __init__(self, app: ASGIApp, images: str | None = None) -> None:
        self.app = app
        self.headers = headers(images)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
