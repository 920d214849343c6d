"""`floodwatch.web.routes.auth` under the test client over `create_app`: a login
gives a session token that works, a wrong password or unknown name gets the
same answer, bad bodies are refused, a client address that keeps failing is
limited (the account is not locked), and `/api/me` tells each role what the
access table lets it do."""

from __future__ import annotations

from pathlib import Path

from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient

from floodwatch.service.run import Service
from floodwatch.web.auth import Role
from floodwatch.web.live import Live
from floodwatch.web.routes import auth
from tests.web.conftest import client_on, forged, session

Setup = tuple[Service, Live, TestClient]


def test_a_login_gives_a_token_that_says_who_the_caller_is(setup: Setup) -> None:
    _, _, client = setup
    answer = client.post("/api/login", json={"name": "duty", "password": "floodwatch"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["name"] == "duty" and body["role"] == "operator"
    me = client.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json() == {"name": "duty", "role": "operator",
                         "may": {"ack": True, "silence": True, "drill": True}}  # fmt: skip
    guest = client.post("/api/login", json={"name": "guest", "password": "floodwatch"}).json()
    assert guest["role"] == "viewer"


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(setup: Setup) -> None:
    _, _, client = setup
    wrong = client.post("/api/login", json={"name": "duty", "password": "Floodwatch"})
    nobody = client.post("/api/login", json={"name": "' OR 1=1 --", "password": "floodwatch"})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json() == nobody.json() == {"error": "wrong name or password"}


def test_bad_login_bodies_are_422_without_a_password_check(setup: Setup) -> None:
    _, _, client = setup
    for body in (
        {"name": "duty"},
        {"name": "", "password": "x"},
        {"name": "d" * 65, "password": "x"},
        {"name": "duty", "password": "p" * 257},
        {"name": "duty", "password": "floodwatch", "role": "admin"},
        {"name": ["duty"], "password": "floodwatch"},
    ):
        got = client.post("/api/login", json=body)
        assert got.status_code == 422, (body, got.text)
    garbage = client.post(
        "/api/login",
        content=b"name=duty&password=floodwatch",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert garbage.status_code == 422  # a cross-site form cannot log in either
    huge = client.post("/api/login", json={"name": "duty", "password": "p" * 70_000})
    assert huge.status_code == 413 and "larger than" in huge.json()["error"]
    # none of those counted as a failed login: the right password still works at once
    assert client.post("/api/login", json={"name": "duty", "password": "floodwatch"}).is_success


def test_an_address_that_keeps_failing_is_limited_and_a_success_is_not_a_failure(
    setup: Setup, loop: BlockingPortal
) -> None:
    service, _, client = setup
    assert service.settings.http is not None
    limit = service.settings.http.login_limit
    attacker = client_on(loop, client.app, client=("203.0.113.7", 1))  # type: ignore[arg-type]
    codes = [
        attacker.post("/api/login", json={"name": "guest", "password": "no"}).status_code
        for _ in range(limit + 1)
    ]
    assert codes == [401] * limit + [429]
    blocked = attacker.post("/api/login", json={"name": "guest", "password": "floodwatch"})
    assert blocked.status_code == 429 and "try again in" in blocked.json()["error"]
    other = client_on(loop, client.app, client=("10.0.0.9", 1))  # type: ignore[arg-type]
    for _ in range(limit - 1):
        assert other.post("/api/login", json={"name": "duty", "password": "x"}).status_code == 401
    assert other.post("/api/login", json={"name": "duty", "password": "floodwatch"}).is_success
    # the success did not count as a failure: one more failure, then the limit
    again = [
        other.post("/api/login", json={"name": "duty", "password": "x"}).status_code
        for _ in range(2)
    ]
    assert again == [401, 429]


def test_me_tells_each_role_what_it_may_do_and_refuses_a_bad_session(setup: Setup) -> None:
    service, _, client = setup
    may = {
        role: client.get("/api/me", headers=session(service, role, name="x")).json()
        for role in Role
    }
    nothing = {"ack": False, "silence": False, "drill": False}
    assert may[Role.VIEWER] == {"name": "x", "role": "viewer", "may": nothing}
    assert all(may[Role.OPERATOR]["may"].values()) and all(may[Role.ADMIN]["may"].values())
    assert may[Role.ADMIN]["role"] == "admin"
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/me", headers=forged(service)).status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Basic ZHV0eQ=="}).status_code == 401
    assert (
        client.get("/api/me", headers={"Authorization": "Bearer " + "a" * 5000}).status_code == 401
    )


def test_a_machine_token_from_the_token_file_is_a_principal(
    setup: Setup, loop: BlockingPortal, tmp_path: Path
) -> None:
    service, live, _ = setup
    tokens = tmp_path / "api-tokens"
    tokens.write_text("s3cret-token-0123456789 viewer scraper\n", encoding="utf-8")
    assert service.settings.http is not None
    settings = service.settings.http.model_copy(update={"token_file": str(tokens)})
    client = client_on(loop, loop.call(live.app, settings))
    me = client.get("/api/me", headers={"Authorization": "Bearer s3cret-token-0123456789"})
    assert me.json()["name"] == "scraper" and me.json()["role"] == "viewer"
    assert client.get("/api/me", headers={"Authorization": "Bearer s3cret"}).status_code == 401


def test_the_password_hashes_run_a_few_at_a_time() -> None:
    assert 1 <= auth.HASHES_AT_ONCE <= 8  # scrypt takes 16 MiB and a core each
    assert auth.Login(name="duty", password="x").name == "duty"
