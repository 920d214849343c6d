"""`floodwatch.web.routes.silences` under the test client over `create_app` and
a real store: viewers list, operators make and end silences; times must name
their zone; a silence that would match nothing or end before it starts is
refused; free text is stored as typed; unknown ids are 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from fastapi.testclient import TestClient

from floodwatch.service.run import Service
from floodwatch.web.auth import Role
from floodwatch.web.live import Live
from floodwatch.web.routes import silences
from tests.web.conftest import session, who_may

Setup = tuple[Service, Live, TestClient]
INJECTION = "<img src=x onerror=alert(1)>'); DELETE FROM silences; --"


def later(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def test_viewers_list_and_only_operators_make_or_end_silences(setup: Setup) -> None:
    service, _, client = setup
    assert who_may(client, service, "GET", "/api/silences") == {
        "nobody": 401, "forged": 401, "expired": 401,
        "viewer": 200, "operator": 200, "admin": 200}  # fmt: skip
    makers = who_may(client, service, "POST", "/api/silences", {"reason": "x"})
    assert makers == {"nobody": 401, "forged": 401, "expired": 401,
                      "viewer": 403, "operator": 422, "admin": 422}  # fmt: skip
    enders = who_may(client, service, "DELETE", "/api/silences/nope")
    assert enders == {"nobody": 401, "forged": 401, "expired": 401,
                      "viewer": 403, "operator": 404, "admin": 404}  # fmt: skip


def test_a_silence_is_made_listed_and_ended(setup: Setup) -> None:
    service, _, client = setup
    duty = session(service, Role.OPERATOR, name="duty")
    body = {
        "stations": ["maokeng-pond"],
        "towns": ["330182104"],
        "ends": later(2),
        "reason": INJECTION,
    }
    made = client.post("/api/silences", headers=duty, json=body)
    assert made.status_code == 201
    silence = made.json()
    assert silence["author"] == "duty" and silence["reason"] == INJECTION
    assert silence["stations"] == ["maokeng-pond"] and silence["towns"] == ["330182104"]
    assert abs(silence["starts"] - datetime.now(UTC).timestamp()) < 60  # from now
    viewer = session(service, Role.VIEWER)
    assert [s["id"] for s in client.get("/api/silences", headers=viewer).json()] == [silence["id"]]
    ended = client.delete(f"/api/silences/{silence['id']}", headers=duty)
    assert ended.json() == {"ended": silence["id"]}
    assert client.get("/api/silences", headers=viewer).json() == []
    everything = client.get("/api/silences", params={"all": "true"}, headers=viewer).json()
    assert [s["reason"] for s in everything] == [INJECTION]  # kept, ended
    again = client.delete(f"/api/silences/{silence['id']}", headers=duty)
    assert again.status_code == 404
    assert again.json() == {"error": f"no silence {silence['id']!r} in force"}


def test_a_silence_in_the_future_is_not_in_force_yet(setup: Setup) -> None:
    service, _, client = setup
    duty = session(service, Role.OPERATOR)
    body = {"rules": ["pond-level"], "starts": later(1), "ends": later(3), "reason": "检修"}
    made = client.post("/api/silences", headers=duty, json=body)
    assert made.status_code == 201
    assert client.get("/api/silences", headers=duty).json() == []
    assert len(client.get("/api/silences", params={"all": "true"}, headers=duty).json()) == 1


def test_silences_that_cannot_be_are_refused_with_the_reason(setup: Setup) -> None:
    service, _, client = setup
    duty = session(service, Role.OPERATOR)

    def made(**body: object) -> tuple[int, str]:
        got = client.post("/api/silences", headers=duty, json={"reason": "检修", **body})
        return got.status_code, str(got.json().get("error"))

    assert made(ends=later(2)) == (
        400,
        "a silence needs at least one station, rule, village or town",
    )
    assert made(stations=["x"], ends=later(-1)) == (400, "a silence must end after it starts")
    assert made(stations=["x"], starts=later(3), ends=later(2))[0] == 400
    assert made(stations=["x"])[0] == 422  # no end
    assert made(stations=["x"], ends="next week")[0] == 422
    assert made(stations=["x"] * 101, ends=later(2))[0] == 422
    assert made(stations=["x"], ends=later(2), reason="")[0] == 422
    assert made(stations=["x"], ends=later(2), reason="r" * 501)[0] == 422
    assert made(stations=["x"], ends=later(2), author="admin")[0] == 422
    assert made(stations="maokeng-pond", ends=later(2))[0] == 422
    assert made(stations=["s" * 1000] * 70, ends=later(2))[0] == 413  # 70 kB
    assert client.get("/api/silences", params={"all": "true"}, headers=duty).json() == []


def test_a_time_without_a_zone_is_refused_not_read_in_the_servers_zone(setup: Setup) -> None:
    """`2030-01-01T08:00:00` is 08:00 where? The page sends UTC; a script that
    leaves the zone out would get a silence hours off on a server whose clock
    is set to another zone."""
    service, _, client = setup
    duty = session(service, Role.OPERATOR)
    naive = (datetime.now(UTC) + timedelta(hours=2)).replace(tzinfo=None).isoformat()
    for body in ({"ends": naive}, {"starts": naive, "ends": later(3)}):
        got = client.post(
            "/api/silences", headers=duty, json={"stations": ["x"], "reason": "r", **body}
        )
        assert got.status_code == 422 and "timezone" in got.json()["error"], got.text
    china = datetime.now(UTC).astimezone(timezone(timedelta(hours=8))) + timedelta(hours=2)
    made = client.post(
        "/api/silences",
        headers=duty,
        json={"stations": ["x"], "reason": "r", "ends": china.isoformat()},
    )
    assert made.status_code == 201 and made.json()["ends"] == china.timestamp()
    assert silences.NewSilence.model_fields["ends"].is_required()
