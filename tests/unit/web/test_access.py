"""`floodwatch.web.access` on its own: the access table's shape (every rule a
known role or public, the token in the URL for the event stream only, every
capability a route of the table) and `capabilities`, which tells each role
exactly what the table lets it call. (That every route of the app has a rule
is `tests/unit/web/test_api.py`'s.)"""

from __future__ import annotations

import pytest

from floodwatch.web.access import ACCESS, CAPABILITIES, OPERATOR, PUBLIC, VIEWER, Rule, capabilities
from floodwatch.web.auth import Role


def test_each_role_may_do_what_its_routes_allow() -> None:
    assert capabilities(Role.VIEWER) == {"ack": False, "silence": False, "drill": False}
    assert capabilities(Role.OPERATOR) == {"ack": True, "silence": True, "drill": True}
    assert capabilities(Role.ADMIN) == {"ack": True, "silence": True, "drill": True}


def test_a_capability_follows_its_route_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's controls come from the table itself: loosen or tighten a
    route and the capability moves with it (the least role itself counts)."""
    ack = CAPABILITIES["ack"]
    monkeypatch.setitem(ACCESS, ack, VIEWER)
    assert capabilities(Role.VIEWER)["ack"] is True
    monkeypatch.setitem(ACCESS, ack, PUBLIC)
    assert capabilities(Role.VIEWER)["ack"] is True
    monkeypatch.setitem(ACCESS, ack, Rule(Role.ADMIN))
    assert capabilities(Role.OPERATOR)["ack"] is False
    assert capabilities(Role.ADMIN)["ack"] is True


def test_every_capability_names_a_route_of_the_table_that_needs_a_login() -> None:
    for name, key in CAPABILITIES.items():
        assert key in ACCESS, name
        assert ACCESS[key].least is not None, name


def test_only_the_event_stream_takes_its_token_in_the_url() -> None:
    in_url = [key for key, rule in ACCESS.items() if rule.token_in_url]
    assert in_url == [("GET", "/api/stream")]
    assert ACCESS[("GET", "/api/stream")].least is Role.VIEWER


def test_writes_need_an_operator_and_only_the_known_writes_are_public() -> None:
    public_writes = {k for k, r in ACCESS.items() if k[0] != "GET" and r.least is None}
    assert public_writes == {("POST", "/api/login"), ("POST", "/api/sms/reply")}
    for key, rule in ACCESS.items():
        if key[0] != "GET" and key not in public_writes:
            assert rule == OPERATOR, key
    assert all(method in {"GET", "POST", "DELETE"} for method, _ in ACCESS)


def test_reading_data_needs_a_login() -> None:
    public = {path for (method, path), rule in ACCESS.items() if rule.least is None}
    assert public == {
        "/healthz", "/readyz", "/", "/static", "/openapi.json", "/api/login", "/api/sms/reply",
    }  # fmt: skip
    assert ACCESS[("GET", "/metrics")] == VIEWER
