"""`floodwatch.web.routes.incidents` under the test client over `create_app` and
a real store (a drill makes an incident without a storm): who may list, read
and acknowledge; one acknowledgement covers the incident and its alerts and
is told to the live pages; unknown ids, bad bodies and limits."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from floodwatch.service.run import Service
from floodwatch.web.auth import Role
from floodwatch.web.live import Live
from floodwatch.web.routes import incidents
from tests.web.conftest import session, who_may

Setup = tuple[Service, Live, TestClient]


def drill(client: TestClient, service: Service, station: str, severity: str) -> dict[str, Any]:
    body = {"station": station, "severity": severity}
    made = client.post("/api/drills", headers=session(service, Role.OPERATOR), json=body)
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


def test_viewers_read_incidents_and_only_operators_acknowledge(setup: Setup) -> None:
    service, _, client = setup
    assert who_may(client, service, "GET", "/api/incidents") == {
        "nobody": 401, "forged": 401, "expired": 401,
        "viewer": 200, "operator": 200, "admin": 200}  # fmt: skip
    assert who_may(client, service, "POST", "/api/incidents/nope/ack", {}) == {
        "nobody": 401, "forged": 401, "expired": 401,
        "viewer": 403, "operator": 404, "admin": 404}  # fmt: skip
    assert incidents.router


def test_an_incident_is_listed_most_urgent_first_and_read_by_id(setup: Setup) -> None:
    service, _, client = setup
    viewer = session(service, Role.VIEWER)
    assert client.get("/api/incidents", headers=viewer).json() == []
    blue = drill(client, service, "xiawu-pond", "blue")
    red = drill(client, service, "maokeng-pond", "red")
    found = client.get("/api/incidents", headers=viewer).json()
    assert [i["station"] for i in found] == ["maokeng-pond", "xiawu-pond"]
    assert [i["severity"] for i in found] == ["red", "blue"]
    assert found[0]["alerts"][0]["id"] == red["id"]
    one = client.get(f"/api/incidents/{found[1]['id']}", headers=viewer).json()
    assert one["id"] == found[1]["id"] and one["alerts"][0]["id"] == blue["id"]
    limited = client.get("/api/incidents", params={"limit": 1}, headers=viewer).json()
    assert len(limited) == 1
    assert len(client.get("/api/incidents", params={"all": "true"}, headers=viewer).json()) == 2


def test_one_acknowledgement_covers_the_incident_and_its_alerts(setup: Setup) -> None:
    service, live, client = setup
    published: list[dict[str, object]] = []
    live.hub.publish = published.append  # type: ignore[method-assign]
    alert = drill(client, service, "maokeng-pond", "orange")["id"]
    viewer, duty = session(service, Role.VIEWER), session(service, Role.OPERATOR, name="duty")
    [incident] = client.get("/api/incidents", headers=viewer).json()
    comment = "<b>已派人</b>'; DROP TABLE incidents; --"
    done = client.post(
        f"/api/incidents/{incident['id']}/ack", headers=duty, json={"comment": comment}
    )
    assert done.status_code == 200
    assert set(done.json()["acknowledged"]) == {incident["id"], alert}
    acks = [json.loads(str(p["data"])) for p in published if p["event"] == "ack"]
    assert {a["id"] for a in acks} == {incident["id"], alert}
    assert {a["by"] for a in acks} == {"duty"}
    detail = client.get(f"/api/incidents/{incident['id']}", headers=viewer).json()
    assert detail["acknowledged"]["by"] == "duty"
    assert detail["acknowledged"]["comment"] == comment
    timeline = client.get(f"/api/alerts/{alert}", headers=viewer).json()
    assert timeline["acknowledgements"][0]["comment"] == comment


def test_unknown_incidents_bad_bodies_and_limits_are_refused(setup: Setup) -> None:
    service, _, client = setup
    duty = session(service, Role.OPERATOR)
    for ident in ("nope", "maokeng-pond:incident:0", "<x>"):
        got = client.get(f"/api/incidents/{ident}", headers=duty)
        assert got.status_code == 404 and got.json() == {"error": f"no incident {ident!r}"}
        acked = client.post(f"/api/incidents/{ident}/ack", headers=duty, json={})
        assert acked.status_code == 404
    drill(client, service, "xiawu-pond", "yellow")
    [incident] = client.get("/api/incidents", headers=duty).json()
    url = f"/api/incidents/{incident['id']}/ack"
    assert client.post(url, headers=duty, json={"comment": "c" * 501}).status_code == 422
    assert client.post(url, headers=duty, json={"comment": "c" * 70_000}).status_code == 413
    assert client.post(url, headers=duty, json={"who": "admin"}).status_code == 422
    assert (
        client.post(
            url, headers={**duty, "Content-Type": "application/json"}, content=b"[1,"
        ).status_code
        == 422
    )
    assert (
        client.get(f"/api/incidents/{incident['id']}", headers=duty).json()["acknowledged"] is None
    )
    for limit in ("0", "5001", "many"):
        got = client.get("/api/incidents", params={"limit": limit}, headers=duty)
        assert got.status_code == 422
