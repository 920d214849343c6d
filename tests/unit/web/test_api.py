"""`floodwatch.web.api.create_app` on its own, on a real service with a store
(the `setup` of tests/web): the one access check (a rule's least role; a token
from the `Authorization` header only, or the URL for the event stream; machine
tokens from their file; a route with no rule refused), errors always JSON (a
crashing route is a logged 500, a 404, 422 with at most ten problems, a
body too large), the security headers on every answer (the tile server's
origin), the session key moved out of the store, and `all_routes`.

The end-to-end API (every route with every role, alerts, silences, the
stream…) is tests/web/test_api.py; each router has its own test under
tests/unit/web/routes."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from floodwatch.service.run import Service
from floodwatch.web.access import ACCESS, PUBLIC, Rule
from floodwatch.web.api import MAX_BODY, _origin, all_routes, create_app
from floodwatch.web.auth import Role
from floodwatch.web.keys import key_file, read_keys
from floodwatch.web.live import Live
from tests.web.conftest import client_on, session

Setup = tuple[Service, Live, TestClient]


def app_with(setup: Setup, tmp_path: Path, **update: object) -> TestClient:
    """A second app of the same service, its HTTP settings changed."""
    service, live, client = setup
    http = service.settings.http
    assert http is not None
    settings = http.model_copy(update=update)
    portal = client.portal
    assert portal is not None
    app = portal.call(create_app, settings, service, live.hub, live.recent)
    return client_on(portal, app, raise_server_exceptions=False)  # type: ignore[arg-type]


def test_a_route_with_no_rule_is_refused_whoever_calls(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, _, client = setup
    monkeypatch.delitem(ACCESS, ("GET", "/api/status"))
    for headers in ({}, session(service, Role.ADMIN)):
        answer = client.get("/api/status", headers=headers)
        assert answer.status_code == 403
        assert answer.json() == {"error": "no access rule for GET /api/status"}


def test_the_least_role_of_the_rule_is_what_counts(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, _, client = setup
    monkeypatch.setitem(ACCESS, ("GET", "/api/status"), Rule(Role.ADMIN))
    operator = client.get("/api/status", headers=session(service, Role.OPERATOR))
    assert operator.status_code == 403 and operator.json() == {"error": "needs the admin role"}
    assert client.get("/api/status", headers=session(service, Role.ADMIN)).status_code == 200
    monkeypatch.setitem(ACCESS, ("GET", "/api/status"), PUBLIC)
    assert client.get("/api/status").status_code == 200


def test_the_token_comes_from_a_bearer_header_only(setup: Setup) -> None:
    service, _, client = setup
    good = session(service, Role.VIEWER)["Authorization"]
    token = good.removeprefix("Bearer ")
    assert client.get("/api/me", headers={"Authorization": good}).status_code == 200
    assert (
        client.get("/api/me", headers={"Authorization": f"Bearer   {token}  "}).status_code == 200
    )
    for header in (token, f"bearer {token}", f"Basic {token}", "Bearer ", "Bearer"):
        answer = client.get("/api/me", headers={"Authorization": header})
        assert answer.status_code == 401, header
        assert answer.json() == {"error": "log in first (Authorization: Bearer <token>)"}
    assert client.get("/api/me", params={"token": token}).status_code == 401  # not in the URL


def test_machine_tokens_from_the_token_file_pass_with_their_role(
    setup: Setup, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("scrape-me viewer grafana\nack-me operator pager\n")
    client = app_with(setup, tmp_path, token_file=str(tokens))
    viewer = {"Authorization": "Bearer scrape-me"}
    assert client.get("/api/me", headers=viewer).json()["name"] == "grafana"
    assert client.get("/metrics", headers=viewer).status_code == 200
    drill = {"station": "xiawu-pond", "severity": "red"}
    assert client.post("/api/drills", headers=viewer, json=drill).status_code == 403
    pager = client.get("/api/me", headers={"Authorization": "Bearer ack-me"}).json()
    assert pager == {"name": "pager", "role": "operator",
                     "may": {"ack": True, "silence": True, "drill": True}}  # fmt: skip
    assert client.get("/api/me", headers={"Authorization": "Bearer guess"}).status_code == 401


def test_a_route_that_crashes_is_a_logged_json_500(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _, _, client = setup

    async def boom() -> None:
        raise RuntimeError("secret detail")

    client.app.add_api_route("/boom", boom)  # type: ignore[attr-defined]
    monkeypatch.setitem(ACCESS, ("GET", "/boom"), PUBLIC)
    with caplog.at_level(logging.ERROR, logger="floodwatch.web.api"):
        answer = client.get("/boom")
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error (logged)"}
    assert "secret detail" not in answer.text
    assert "GET /boom failed" in caplog.text and "secret detail" in caplog.text


class Many(BaseModel):
    a0: int
    a1: int
    a2: int
    a3: int
    a4: int
    a5: int
    a6: int
    a7: int
    a8: int
    a9: int
    a10: int
    a11: int


def test_invalid_requests_name_at_most_ten_problems(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, client = setup

    async def take(body: Many) -> dict[str, int]:
        return {}

    client.app.add_api_route("/many", take, methods=["POST"])  # type: ignore[attr-defined]
    monkeypatch.setitem(ACCESS, ("POST", "/many"), PUBLIC)
    answer = client.post("/many", json={"a0": "x"})
    assert answer.status_code == 422
    problems = answer.json()["error"].split("; ")
    assert len(problems) == 10
    assert (
        problems[0]
        == "body.a0: Input should be a valid integer, unable to parse string as an integer"
    )
    assert problems[1] == "body.a1: Field required"


def test_every_answer_is_json_with_the_security_headers(setup: Setup) -> None:
    _, _, client = setup
    answers = {
        "ok": client.get("/healthz"),
        "401": client.get("/api/me"),
        "404": client.get("/nowhere"),
        "405": client.put("/healthz"),
        "413": client.post("/api/login", content=b"x" * (MAX_BODY + 1)),
    }
    assert {k: a.status_code for k, a in answers.items()} == {
        "ok": 200, "401": 401, "404": 404, "405": 405, "413": 413,
    }  # fmt: skip
    for name, answer in answers.items():
        assert answer.headers["x-frame-options"] == "DENY", name
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], name
        assert answer.headers["content-type"].startswith("application/json"), name
    assert answers["404"].json() == {"error": "Not Found"}
    assert answers["405"].json() == {"error": "Method Not Allowed"}


def test_images_may_come_from_the_configured_tile_server(setup: Setup, tmp_path: Path) -> None:
    tiles = "https://tiles.example:8443/osm/{z}/{x}/{y}.png"
    client = app_with(setup, tmp_path, map_tiles=tiles)
    policy = client.get("/healthz").headers["content-security-policy"]
    assert "img-src 'self' data: https://tiles.example:8443;" in policy
    assert _origin(tiles) == "https://tiles.example:8443"
    assert _origin("http://tiles.local/{z}/{x}/{y}.png") == "http://tiles.local"
    assert _origin(None) is None


def test_a_session_key_kept_in_the_store_moves_to_the_key_file(
    setup: Setup, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service, _, client = setup
    assert service.store is not None
    portal = client.portal
    assert portal is not None
    portal.call(service.store.set_meta, "http_secret", "ab" * 32)
    with caplog.at_level(logging.WARNING, logger="floodwatch.web.api"):
        app_with(setup, tmp_path)
    assert portal.call(service.store.meta, "http_secret") is None
    http = service.settings.http
    assert http is not None
    path = key_file(service.store_path, http.session_keys)
    assert bytes.fromhex("ab" * 32) in [k.secret for k in read_keys(path)]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"session-signing key moved from the store to {path}" in caplog.text


def test_all_routes_lists_each_route_once_with_the_access_check(setup: Setup) -> None:
    _, _, client = setup
    routes = all_routes(client.app)  # type: ignore[arg-type]
    paths = [(r.path, tuple(sorted(getattr(r, "methods", None) or ()))) for r in routes]
    assert len(paths) == len(set(paths))
    api = [r for r in routes if isinstance(getattr(r, "original_route", r), APIRoute)]
    assert {r.path for r in api} >= {"/api/me", "/api/stream", "/metrics", "/healthz"}
    for route in api:
        names = [d.call.__name__ for d in route.dependant.dependencies]  # type: ignore[union-attr]
        assert "authorize" in names, route.path
