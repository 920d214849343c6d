"""`notify.webhook`: the destination model (`type: webhook`) and its channel,
against a real local HTTP server that records each request (headers and body)
and answers as it is told."""

from __future__ import annotations

import asyncio
import http.server
import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from floodwatch.ingest.backoff import Backoff
from floodwatch.notify.channel import Wiring
from floodwatch.notify.health import Health
from floodwatch.notify.outcome import Sent
from floodwatch.notify.records import Delivery
from floodwatch.notify.sinks import notify_settings
from floodwatch.notify.webhook import SINK, WebhookDestination, channel
from floodwatch.store import Store
from floodwatch.testing import compile_yaml, run, series
from tests.conftest import POND
from tests.integration.services import free_port

RULE = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    levels: {yellow: {enter: design_flood}}
"""
EVENT = run(
    compile_yaml(stations=POND, rules=RULE), series("p1", "level", [311.0, 311.2, 311.5, 311.5])
)[0]


class Receiver:
    """A local HTTP server: every POST recorded (path, headers, body); the
    answer is `status` (with `retry_after` if set), after `delay` seconds."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200
        self.retry_after: str | None = None
        self.delay = 0.0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                time.sleep(receiver.delay)
                try:
                    self.send_response(receiver.status)
                    if receiver.retry_after is not None:
                        self.send_header("Retry-After", receiver.retry_after)
                    self.send_header("Content-Length", "9")
                    self.end_headers()
                    self.wfile.write(b'{"x": 1}\n')
                except OSError:
                    pass  # the client gave up

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.delay = 0.0
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def deliver(tmp_path: Path, dest: dict[str, Any], *keys: str) -> list[Sent]:
    """`keys` as outbox rows of one round through the channel of `dest`."""
    settings = notify_settings({"destinations": {"hook": {"type": "webhook", **dest}}})
    store = Store(tmp_path / "fw.db")

    async def go() -> list[Sent]:
        async with httpx.AsyncClient() as client:
            wiring = Wiring(
                "hook",
                settings.destinations["hook"],
                settings,
                store,
                client,
                Health("hook", 300.0),
                lambda: Backoff(1.0, 30.0, random.Random(1)),
            )
            ch = channel(wiring)
            await ch.start()
            try:
                rows = [Delivery(k, "hook", json.dumps(EVENT.to_json()), 0) for k in keys]
                return await ch.deliver(rows)
            finally:
                await ch.aclose()

    try:
        return asyncio.run(go())
    finally:
        store.close()


def test_the_model_takes_a_url_and_headers_and_needs_the_url() -> None:
    dest = WebhookDestination.model_validate(
        {"type": "webhook", "url": "http://h/", "headers": {"X-A": "1"}, "timeout": "2s"}
    )
    assert (dest.url, dest.headers, dest.timeout) == ("http://h/", {"X-A": "1"}, timedelta(0, 2))
    assert list(WebhookDestination.model_validate({"type": "webhook"}).problems()) == [
        (("url",), "a webhook destination needs a url")
    ]
    with pytest.raises(ValidationError, match="template"):
        WebhookDestination.model_validate({"type": "webhook", "url": "x", "template": "t.j2"})
    assert not WebhookDestination.people and SINK.type == "webhook"
    assert SINK.model is WebhookDestination and SINK.channel is channel


def test_each_row_is_posted_as_the_alert_json_with_its_key(
    tmp_path: Path, receiver: Receiver
) -> None:
    sent = deliver(tmp_path, {"url": receiver.url + "/in", "headers": {"X-Token": "t"}}, "a", "b")
    assert [(s.outcome.ok, [r.key for r in s.rows]) for s in sent] == [
        (True, ["a"]),
        (True, ["b"]),
    ]
    assert [(p, h["Idempotency-Key"]) for p, h, _ in receiver.requests] == [
        ("/in", "a"),
        ("/in", "b"),
    ]
    _, headers, body = receiver.requests[0]
    assert headers["X-Token"] == "t" and headers["Content-Type"] == "application/json"
    assert json.loads(body) == EVENT.to_json()


def test_a_server_error_is_retried_after_its_retry_after_and_ends_the_round(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.status, receiver.retry_after = 503, "7"
    sent = deliver(tmp_path, {"url": receiver.url}, "a", "b")
    assert [(s.rows[0].key, s.outcome.ok, s.outcome.retry, s.outcome.after) for s in sent] == [
        ("a", False, True, 7.0),
        ("b", False, True, 7.0),  # not tried: it waits for the retry with the same error
    ]
    assert all(s.outcome.error.startswith("HTTP 503") for s in sent)
    assert len(receiver.requests) == 1


def test_a_refusal_is_not_retried_and_the_round_goes_on(tmp_path: Path, receiver: Receiver) -> None:
    receiver.status = 400
    sent = deliver(tmp_path, {"url": receiver.url}, "a", "b")
    assert [(s.outcome.ok, s.outcome.retry) for s in sent] == [(False, False), (False, False)]
    assert len(receiver.requests) == 2


def test_no_answer_within_the_timeout_is_retried(tmp_path: Path, receiver: Receiver) -> None:
    receiver.delay = 3.0
    started = time.monotonic()
    [sent] = deliver(tmp_path, {"url": receiver.url, "timeout": "1s"}, "a")
    assert time.monotonic() - started < 2.5
    assert (sent.outcome.ok, sent.outcome.retry) == (False, True)
    assert sent.outcome.error == "no answer within 1s"


def test_nobody_listening_is_retried(tmp_path: Path) -> None:
    [sent] = deliver(tmp_path, {"url": f"http://127.0.0.1:{free_port()}/"}, "a")
    assert (sent.outcome.ok, sent.outcome.retry) == (False, True)
    assert sent.outcome.error.startswith("connection: ")
