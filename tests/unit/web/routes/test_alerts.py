"""`floodwatch.web.routes.alerts` under the test client over `create_app` and a
real store: who may list, read and acknowledge alerts; the filters of the
active list (and a filter that cannot match); acknowledgements stored as
typed and told to the live pages; bad bodies and unknown ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from floodwatch.service.run import Service
from floodwatch.web.auth import Role
from floodwatch.web.live import Live
from floodwatch.web.routes import alerts
from tests.web.conftest import session, who_may

Setup = tuple[Service, Live, TestClient]
INJECTION = "<script>alert(1)</script>'); DROP TABLE acks; --"


def drill(client: TestClient, service: Service, station: str, severity: str) -> dict[str, Any]:
    """A drill: an active alert of the real store, without a storm."""
    made = client.post(
        "/api/drills",
        headers=session(service, Role.OPERATOR),
        json={"station": station, "severity": severity},
    )
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


def test_viewers_read_alerts_and_only_operators_acknowledge(setup: Setup) -> None:
    service, _, client = setup
    readers = who_may(client, service, "GET", "/api/alerts")
    assert readers == {"nobody": 401, "forged": 401, "expired": 401,
                       "viewer": 200, "operator": 200, "admin": 200}  # fmt: skip
    one = drill(client, service, "xiawu-pond", "blue")["id"]
    assert who_may(client, service, "GET", f"/api/alerts/{one}")["viewer"] == 200
    ackers = who_may(client, service, "POST", f"/api/alerts/{one}/ack", {"comment": "x"})
    assert ackers == {"nobody": 401, "forged": 401, "expired": 401,
                      "viewer": 403, "operator": 200, "admin": 200}  # fmt: skip


def test_an_acknowledgement_is_stored_as_typed_and_told_to_the_live_pages(setup: Setup) -> None:
    service, live, client = setup
    published: list[dict[str, object]] = []
    live.hub.publish = published.append  # type: ignore[method-assign]
    one = drill(client, service, "xiawu-pond", "orange")["id"]
    duty = session(service, Role.OPERATOR, name="duty")
    done = client.post(f"/api/alerts/{one}/ack", headers=duty, json={"comment": INJECTION})
    assert done.status_code == 200
    assert done.json()["acknowledged"] == one and done.json()["by"] == "duty"
    covers = done.json()["covers"]  # the alert and its incident
    [incident] = [c for c in covers if c != one]
    assert one in covers and incident.startswith("xiawu-pond:incident:")
    acks = [json.loads(str(p["data"])) for p in published if p["event"] == "ack"]
    assert acks == [{"id": c, "by": "duty"} for c in covers]
    viewer = session(service, Role.VIEWER)
    timeline = client.get(f"/api/alerts/{one}", headers=viewer)
    assert timeline.headers["content-type"] == "application/json"
    [ack] = timeline.json()["acknowledgements"]
    assert ack["comment"] == INJECTION and ack["by"] == "duty" and ack["via"] == "web"
    again = client.post(f"/api/alerts/{one}/ack", headers=duty, json={})  # the table is there
    assert again.status_code == 200
    assert len(client.get(f"/api/alerts/{one}", headers=viewer).json()["acknowledgements"]) == 2
    active = client.get("/api/alerts", params={"active": "true"}, headers=viewer).json()
    assert active[0]["acknowledged"]["by"] == "duty"


def test_unknown_alerts_are_404_naming_the_id(setup: Setup) -> None:
    service, _, client = setup
    duty = session(service, Role.OPERATOR)
    for ident in ("nope", "pond-level/maokeng-pond/1", "x' OR '1'='1"):
        got = client.get(f"/api/alerts/{ident}", headers=duty)
        assert got.status_code == 404 and got.json() == {"error": f"no alert {ident!r}"}
        acked = client.post(f"/api/alerts/{ident}/ack", headers=duty, json={"comment": "?"})
        assert acked.status_code == 404 and acked.json() == {"error": f"no alert {ident!r}"}


def test_a_bad_acknowledgement_body_is_refused_before_anything_is_stored(setup: Setup) -> None:
    service, _, client = setup
    one = drill(client, service, "xiawu-pond", "red")["id"]
    duty = session(service, Role.OPERATOR)
    url = f"/api/alerts/{one}/ack"
    too_long = client.post(url, headers=duty, json={"comment": "水" * 501})
    assert too_long.status_code == 422 and "body.comment" in too_long.json()["error"]
    unknown = client.post(url, headers=duty, json={"comment": "", "by": "admin"})
    assert unknown.status_code == 422 and "body.by" in unknown.json()["error"]
    wrong_type = client.post(url, headers=duty, json={"comment": ["a"]})
    assert wrong_type.status_code == 422
    garbage = client.post(
        url, headers={**duty, "Content-Type": "application/json"}, content=b'{"comment": '
    )
    assert garbage.status_code == 422 and "error" in garbage.json()
    huge = client.post(url, headers=duty, content=b"{" + b" " * 70_000 + b"}")
    assert huge.status_code == 413
    # a page elsewhere cannot post for the officer: no cookie, and no token in the URL
    token = duty["Authorization"].removeprefix("Bearer ")
    forged_form = client.post(url, params={"token": token}, data={"comment": "x"})
    assert forged_form.status_code == 401
    viewer = session(service, Role.VIEWER)
    assert client.get(f"/api/alerts/{one}", headers=viewer).json()["acknowledgements"] == []
    assert alerts.Ack(comment="水" * 500).comment == "水" * 500  # the limit itself is allowed


def test_the_active_list_is_most_severe_first_and_filtered(setup: Setup) -> None:
    service, _, client = setup
    blue = drill(client, service, "xiawu-pond", "blue")
    red = drill(client, service, "maokeng-pond", "red")
    orange = drill(client, service, "maokeng-pond", "orange")
    viewer = session(service, Role.VIEWER)

    def ids(**params: Any) -> list[str]:
        got = client.get("/api/alerts", params={"active": "true", **params}, headers=viewer)
        assert got.status_code == 200, got.text
        return [a["id"] for a in got.json()]

    assert ids() == [red["id"], orange["id"], blue["id"]]
    assert ids(limit=1) == [red["id"]]
    assert ids(severity=["blue", "orange"]) == [orange["id"], blue["id"]]
    assert ids(station="xiawu-pond") == [blue["id"]]
    assert ids(town="330182104") == [red["id"], orange["id"], blue["id"]]
    assert ids(town="330182104", station="nowhere") == []
    assert ids(town="999") == []
    assert ids(rule="pond-level") == []
    assert ids(status="actual") == [] and len(ids(status="exercise")) == 3
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert ids(since=future) == [] and len(ids(until=future)) == 3
    assert ids(station="' OR 1=1 --") == []  # a parameter, not SQL
    assert set(alerts.ALERT_FILTERS) >= {"active", "severity", "station", "limit"}


def test_the_history_is_newest_first_and_holds_every_transition(setup: Setup) -> None:
    service, _, client = setup
    one = drill(client, service, "xiawu-pond", "yellow")["id"]
    duty = session(service, Role.OPERATOR)
    assert client.delete(f"/api/drills/{one}", headers=duty).status_code == 200
    history = client.get("/api/alerts", params={"station": "' OR 1=1 --"}, headers=duty).json()
    assert history == []
    found = client.get("/api/alerts", params={"station": "xiawu-pond"}, headers=duty).json()
    assert [a["transition"] for a in found] == ["resolved", "firing"]
    assert client.get("/api/alerts", params={"active": "true"}, headers=duty).json() == []


def test_a_filter_that_cannot_match_is_422_not_an_empty_list(setup: Setup) -> None:
    service, _, client = setup
    viewer = session(service, Role.VIEWER)
    for params in (
        {"limit": "0"},
        {"limit": "5001"},
        {"severity": "pink"},
        {"active": "perhaps"},
        {"since": "2026-07-07T00:00:00"},  # no zone
        {"since": "2026-07-08T00:00:00Z", "until": "2026-07-07T00:00:00Z"},
        {"station": "x", "stations": "y"},
    ):
        got = client.get("/api/alerts", params={"active": "true", **params}, headers=viewer)
        assert got.status_code == 422, (params, got.text)
        assert got.json()["error"]
