"""How an attempt's answer is classified (notify/outcome.py): 2xx delivered,
5xx and 429 worth a retry after the Retry-After the server gave (seconds or
an HTTP date), any other status refused; no answer always worth a retry.
The answers come from a real HTTP server on localhost."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from floodwatch.notify.outcome import Outcome, classify_http, http_failure, retry_after
from tests.integration.services import free_port


class _Answer(http.server.BaseHTTPRequestHandler):
    """GET /<status>?retry=<Retry-After>&body=<text>: that answer; /hang: none."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/hang":
            time.sleep(1.0)
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = query.get("body", "x").encode()
        self.send_response(int(url.path[1:]))
        if "retry" in query:
            self.send_header("Retry-After", query["retry"])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def answer(base: str, status: int, **query: str) -> httpx.Response:
    return httpx.get(f"{base}/{status}", params=query)


def test_2xx_is_delivered(server: str) -> None:
    for status in (200, 201, 204):
        assert classify_http(answer(server, status)) == Outcome(True)


def test_5xx_and_429_are_retried_after_what_the_server_asked(server: str) -> None:
    busy = classify_http(answer(server, 503, retry="30", body="busy"))
    assert busy == Outcome(False, retry=True, after=30.0, error="HTTP 503: busy")
    limited = classify_http(answer(server, 429))
    assert limited.retry and limited.after is None and limited.error == "HTTP 429: x"


def test_other_statuses_are_refused_with_the_start_of_the_answer(server: str) -> None:
    refused = classify_http(answer(server, 400, body="号码错误" + "y" * 500, retry="9"))
    assert not refused.ok and not refused.retry and refused.after is None
    assert refused.error == "HTTP 400: 号码错误" + "y" * 196  # the first 200 characters
    assert classify_http(answer(server, 301)).retry is False


def test_retry_after_as_an_http_date_and_what_makes_no_sense(server: str) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    after = retry_after(answer(server, 503, retry=later))
    assert after is not None and 110 < after <= 120
    past = format_datetime(datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
    assert retry_after(answer(server, 503, retry=past)) == 0.0  # no waiting backwards
    assert retry_after(answer(server, 503, retry="-5")) == 0.0
    assert retry_after(answer(server, 503, retry="1.5")) == 1.5
    assert retry_after(answer(server, 503, retry="soon")) is None
    assert retry_after(answer(server, 503)) is None


def test_no_answer_is_always_worth_another_try(server: str) -> None:
    with httpx.Client(timeout=0.2) as client:
        with pytest.raises(httpx.TimeoutException) as timeout:
            client.get(f"{server}/hang")
        with pytest.raises(httpx.ConnectError) as refused:
            client.get(f"http://127.0.0.1:{free_port()}/")
    assert http_failure(timeout.value, 0.2) == Outcome(
        False, retry=True, error="no answer within 0.2s"
    )
    failed = http_failure(refused.value, 0.2)
    assert failed.retry and failed.error.startswith("connection: ConnectError(")
