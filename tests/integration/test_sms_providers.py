"""SMS providers against a real local HTTP server speaking their request
format: Yunpian's v2 single send (form body, JSON `code`), and the generic
provider's JSON and form bodies with a success field."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from floodwatch.notify.outcome import Outcome
from floodwatch.notify.sms import GenericProvider, SmsProvider, YunpianProvider

pytestmark = pytest.mark.integration

ANSWERS = {  # mobile -> (HTTP status, Yunpian JSON answer)
    "13800000001": (200, {"code": 0, "msg": "发送成功", "count": 1, "fee": 0.05, "sid": 1}),
    "13800000002": (200, {"code": 33, "msg": "对同一个手机号码发送短信频率过高"}),
    "13800000003": (400, {"http_status_code": 400, "code": 2, "msg": "请求参数格式错误"}),
    "13800000004": (503, {"code": -50, "msg": "服务暂不可用"}),
}


class Server:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.requests.append((self.path, self.headers["Content-Type"], body))
                if self.path == "/v2/sms/single_send.json":
                    form = urllib.parse.parse_qs(body.decode())
                    status, answer = ANSWERS[form["mobile"][0]]
                else:
                    status, answer = 200, {"result": "OK" if b"13800000001" in body else "NO"}
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.http.shutdown()
    s.http.server_close()


def send(provider: GenericProvider | YunpianProvider, phone: str) -> Outcome:
    async def go() -> Outcome:
        provider.client = httpx.AsyncClient()
        try:
            return await provider.send(phone, "【红色预警】毛坑山塘……收到请回复1234。", "key-1")
        finally:
            await provider.client.aclose()

    return asyncio.run(go())


def test_yunpian_request_format_and_answers(server: Server, tmp_path: Path) -> None:
    (tmp_path / "key").write_text("test-api-key\n")
    settings = SmsProvider(
        type="yunpian",
        url=f"{server.url}/v2/sms/single_send.json",
        api_key_file=str(tmp_path / "key"),
    )
    yunpian = YunpianProvider(settings, httpx.AsyncClient(), 2.0)
    assert send(yunpian, "13800000001") == Outcome(True)
    _, kind, body = server.requests[0]
    assert kind.startswith("application/x-www-form-urlencoded")
    assert urllib.parse.parse_qs(body.decode()) == {
        "apikey": ["test-api-key"],
        "mobile": ["13800000001"],
        "text": ["【红色预警】毛坑山塘……收到请回复1234。"],
        "uid": ["key-1"],
    }
    too_often = send(yunpian, "13800000002")  # too many to this number: later
    assert too_often.retry and too_often.after == 60.0 and "code 33" in too_often.error
    bad = send(yunpian, "13800000003")  # a bad request: refused, not retried
    assert not bad.ok and not bad.retry and "code 2" in bad.error
    down = send(yunpian, "13800000004")  # the service unavailable: retried
    assert down.retry and "HTTP 503" in down.error


def test_generic_provider_json_and_form_with_a_success_field(server: Server) -> None:
    as_json = GenericProvider(
        SmsProvider(url=f"{server.url}/send", success_field="result", success_value="OK"),
        httpx.AsyncClient(),
        2.0,
    )
    assert send(as_json, "13800000001") == Outcome(True)
    _, kind, body = server.requests[-1]
    assert kind.startswith("application/json")
    assert json.loads(body) == {
        "phone": "13800000001",
        "text": "【红色预警】毛坑山塘……收到请回复1234。",
        "id": "key-1",
    }
    refused = send(as_json, "13800000009")
    assert not refused.ok and "gateway answered" in refused.error
    as_form = GenericProvider(
        SmsProvider(
            url=f"{server.url}/form",
            format="form",
            body='{"to": {{ phone|tojson }}, "msg": {{ text|tojson }}}',
            headers={"X-Api-Key": "k"},
        ),
        httpx.AsyncClient(),
        2.0,
    )
    assert send(as_form, "13800000001") == Outcome(True)
    _, kind, body = server.requests[-1]
    assert kind.startswith("application/x-www-form-urlencoded")
    assert urllib.parse.parse_qs(body.decode())["to"] == ["13800000001"]
