"""`floodwatch.web.routes.sms_reply` (`POST /api/sms/reply`) over `create_app`
on a real service whose storm has called people (the demo's call-and-answer):
the gateway's token (missing, wrong, forged, an empty token file), the
bodies gateways send (JSON, a form, Yunpian's push) and bad ones, a reply
from an unknown number, and the same reply twice."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient

from floodwatch.notify.sms import reply_code
from floodwatch.service.run import Service
from floodwatch.web.auth import Role
from floodwatch.web.live import Live
from floodwatch.web.routes import sms_reply
from tests.web.conftest import STORM, client_on, feed, session, who_may

Setup = tuple[Service, Live, TestClient]
TOKEN = "gw-0f3a9c2e7d41"
WANG = "13800000003"  # 王强, the pond's patrol: called first
SWEEPS = sorted({r.ts for r in STORM})
UNTIL_CALLED = [r for r in STORM if r.ts <= SWEEPS[70]]  # the first call (orange)


def with_token(setup: Setup, loop: BlockingPortal, path: Path, text: str) -> TestClient:
    service, live, _ = setup
    path.write_text(text, encoding="utf-8")
    assert service.settings.http is not None
    settings = service.settings.http.model_copy(update={"sms_reply_token_file": str(path)})
    return client_on(loop, loop.call(live.app, settings), raise_server_exceptions=False)


@pytest.fixture
def gateway(setup: Setup, loop: BlockingPortal, tmp_path: Path) -> Iterator[TestClient]:
    """A client of the app with the reply webhook on (the token file ends in a newline)."""
    yield with_token(setup, loop, tmp_path / "sms-reply-token", TOKEN + "\n")


def called(setup: Setup, client: TestClient) -> str:
    """The storm until the first call; the incident people were called about."""
    service, _, _ = setup
    feed(client, service, UNTIL_CALLED)
    assert service.store is not None
    [alert] = client.portal.call(service.store.people.called)  # type: ignore[union-attr]
    return str(alert)


def test_without_a_token_file_the_webhook_is_off(setup: Setup) -> None:
    service, _, client = setup
    off = who_may(client, service, "POST", f"/api/sms/reply?token={TOKEN}", {})
    assert set(off.values()) == {404}  # public in the access table, and off
    got = client.post("/api/sms/reply", json={"mobile": WANG, "text": "收到"})
    assert got.json() == {"error": "the SMS reply webhook is not configured"}


def test_an_empty_token_file_leaves_the_webhook_off_not_open(
    setup: Setup, loop: BlockingPortal, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger=sms_reply.log.name):
        client = with_token(setup, loop, tmp_path / "token", " \n")
    assert "is empty: the SMS reply webhook is off" in caplog.text
    for params in ({}, {"token": ""}):
        got = client.post("/api/sms/reply", params=params, json={"mobile": WANG, "text": "x"})
        assert got.status_code == 404, params


def test_only_the_gateways_token_is_accepted(setup: Setup, gateway: TestClient) -> None:
    service, _, _ = setup
    body = {"mobile": WANG, "text": "收到"}
    assert gateway.post("/api/sms/reply", json=body).status_code == 401
    for wrong in ("", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), f"{TOKEN}\n"):
        got = gateway.post("/api/sms/reply", params={"token": wrong}, json=body)
        assert got.status_code == 401 and got.json() == {"error": "wrong or missing token"}
    admin = session(service, Role.ADMIN)  # a session is not the gateway's token
    assert gateway.post("/api/sms/reply", headers=admin, json=body).status_code == 401
    assert gateway.post("/api/sms/reply", params={"token": TOKEN}, json=body).status_code == 200
    by_header = gateway.post("/api/sms/reply", headers={"X-Token": TOKEN}, json=body)
    assert by_header.json() == {"acknowledged": []}  # nobody was called yet


def test_a_reply_with_the_code_acknowledges_and_the_same_reply_again_nothing(
    setup: Setup, gateway: TestClient
) -> None:
    incident = called(setup, gateway)
    url = f"/api/sms/reply?token={TOKEN}"
    text = f"{reply_code(incident)}收到，马上到现场"
    first = gateway.post(url, json={"mobile": f"+86 {WANG}", "text": text})
    assert first.status_code == 200
    acknowledged = first.json()["acknowledged"]
    assert acknowledged[0] == incident and len(acknowledged) > 1  # and its alerts
    again = gateway.post(url, json={"mobile": WANG, "text": text})  # the gateway retries
    assert again.json() == {"acknowledged": []}
    service, _, _ = setup
    assert service.store is not None
    acks = gateway.portal.call(service.store.people.acks, incident)  # type: ignore[union-attr]
    assert [(a["by"], a["via"], a["comment"]) for a in acks] == [("王强", "sms", text)]


def test_a_reply_from_an_unknown_number_acknowledges_nothing(
    setup: Setup, gateway: TestClient
) -> None:
    incident = called(setup, gateway)
    url = f"/api/sms/reply?token={TOKEN}"
    for phone in ("13900000000", "' OR 1=1 --", "138000000031"):
        got = gateway.post(url, json={"mobile": phone, "text": reply_code(incident)})
        assert got.json() == {"acknowledged": []}, phone
    service, _, _ = setup
    assert service.store is not None
    assert gateway.portal.call(service.store.people.acks, incident) == []  # type: ignore[union-attr]


def test_the_bodies_gateways_send(setup: Setup, gateway: TestClient) -> None:
    called(setup, gateway)
    url = f"/api/sms/reply?token={TOKEN}"
    form = gateway.post(url, data={"phone": WANG, "text": "好的"})
    assert form.status_code == 200 and form.json()["acknowledged"]  # no code: every open call
    push = json.dumps({"mobile": WANG, "text": "好"})
    yunpian = gateway.post(url, data={"sms_reply": push})
    assert yunpian.status_code == 200 and yunpian.json() == {"acknowledged": []}  # answered


def test_bad_bodies_are_400_with_a_json_message(gateway: TestClient) -> None:
    url = f"/api/sms/reply?token={TOKEN}"
    json_type = {"Content-Type": "application/json"}

    def error(**request: object) -> tuple[int, str]:
        got = gateway.post(url, **request)  # type: ignore[arg-type]
        return got.status_code, str(got.json()["error"])

    assert error(content=b"{", headers=json_type)[1].startswith("body is not JSON")
    assert error(json=[WANG, "收到"]) == (400, "body must be a JSON object")
    assert error(data={"sms_reply": "{"})[1].startswith("sms_reply is not JSON")
    need = (400, "need the sender's number (mobile, phone or from) and text")
    assert error(json={"mobile": WANG}) == need
    assert error(json={"mobile": "", "text": "收到"}) == need
    assert error(json={"mobile": 13800000003, "text": "收到"}) == need
    assert error(json={"from": WANG, "text": None}) == need
    assert error(data={"sms_reply": "[1]"}) == need  # not an object: the form's own fields
    too_big = error(json={"mobile": WANG, "text": "x" * sms_reply.MAX_BODY})
    assert too_big == (413, f"body larger than {sms_reply.MAX_BODY} bytes")


def test_a_reply_after_a_restart_still_answers_the_call(
    setup: Setup, gateway: TestClient, loop: BlockingPortal, tmp_path: Path
) -> None:
    """The gateway retries a push that found floodwatch restarting: the
    calls are in the store, so the reply answers them after the restart."""
    incident = called(setup, gateway)
    service, _, _ = setup
    loop.call(service.close)
    again = Service(service.loaded)
    loop.call(again.open)
    try:
        live = loop.call(Live, again)
        restarted = with_token((again, live, gateway), loop, tmp_path / "token-2", TOKEN)
        got = restarted.post(f"/api/sms/reply?token={TOKEN}", json={"mobile": WANG, "text": "收到"})
        assert got.status_code == 200 and got.json()["acknowledged"][0] == incident
    finally:
        loop.call(again.close)
        loop.call(service.open)  # for the fixture's own close
