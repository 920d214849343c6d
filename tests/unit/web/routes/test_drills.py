"""`floodwatch.web.routes.drills` under the test client over `create_app` and a
real store: only operators start and end drills; a drill is an exercise alert
until ended; unknown stations, unknown or real (non-drill) alerts and bad
bodies are refused; a drill survives a restart of the service."""

from __future__ import annotations

from pathlib import Path

from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient

from floodwatch.service.run import Service
from floodwatch.web.auth import Role
from floodwatch.web.live import Live
from floodwatch.web.routes import drills
from tests.web.conftest import STORM, client_on, feed, session, who_may

Setup = tuple[Service, Live, TestClient]


def test_only_operators_start_and_end_drills(setup: Setup) -> None:
    service, _, client = setup
    starters = who_may(client, service, "POST", "/api/drills", {"station": "x"})
    assert starters == {"nobody": 401, "forged": 401, "expired": 401,
                        "viewer": 403, "operator": 422, "admin": 422}  # fmt: skip
    enders = who_may(client, service, "DELETE", "/api/drills/nope")
    assert enders == {"nobody": 401, "forged": 401, "expired": 401,
                      "viewer": 403, "operator": 404, "admin": 404}  # fmt: skip


def test_a_drill_is_an_exercise_alert_until_it_is_ended(setup: Setup) -> None:
    service, _, client = setup
    duty = session(service, Role.OPERATOR, name="duty")
    started = client.post(
        "/api/drills", headers=duty, json={"station": "maokeng-pond", "severity": "orange"}
    )
    assert started.status_code == 201
    drill = started.json()
    assert drill["status"] == "exercise" and drill["transition"] == "firing"
    assert drill["severity"] == "orange" and drill["details"] == {"by": "duty"}
    active = client.get("/api/alerts", params={"active": "true"}, headers=duty).json()
    assert [a["id"] for a in active] == [drill["id"]]
    ended = client.delete(f"/api/drills/{drill['id']}", headers=duty)
    assert ended.status_code == 200 and ended.json()["transition"] == "resolved"
    assert ended.json()["previous_severity"] == "orange"
    assert client.get("/api/alerts", params={"active": "true"}, headers=duty).json() == []
    twice = client.delete(f"/api/drills/{drill['id']}", headers=duty)
    assert twice.status_code == 404 and twice.json() == {
        "error": f"no drill {drill['id']!r} running"
    }


def test_bad_drills_are_refused(setup: Setup) -> None:
    service, _, client = setup
    duty = session(service, Role.OPERATOR)
    unknown = client.post(
        "/api/drills", headers=duty, json={"station": "<img src=x>", "severity": "red"}
    )
    assert unknown.status_code == 404 and unknown.json() == {"error": "no station '<img src=x>'"}
    for body in (
        {"station": "xiawu-pond", "severity": "info"},  # a drill warns: blue and up
        {"station": "xiawu-pond"},
        {"station": "", "severity": "red"},
        {"station": "x" * 65, "severity": "red"},
        {"station": "xiawu-pond", "severity": "red", "status": "actual"},
    ):
        got = client.post("/api/drills", headers=duty, json=body)
        assert got.status_code == 422, (body, got.text)
    huge = client.post(
        "/api/drills", headers=duty, json={"station": "x" * 70_000, "severity": "red"}
    )
    assert huge.status_code == 413
    assert client.get("/api/alerts", params={"active": "true"}, headers=duty).json() == []
    assert set(drills.NewDrill.model_fields) == {"station", "severity"}


def test_a_real_alert_cannot_be_ended_as_a_drill(setup: Setup) -> None:
    service, _, client = setup
    feed(client, service, STORM[:600])
    duty = session(service, Role.OPERATOR)
    active = client.get("/api/alerts", params={"active": "true"}, headers=duty).json()
    real = active[0]["id"]
    refused = client.delete(f"/api/drills/{real}", headers=duty)
    assert refused.status_code == 404
    after = client.get("/api/alerts", params={"active": "true"}, headers=duty).json()
    assert real in [a["id"] for a in after]


def test_a_running_drill_survives_a_restart_and_ends_after_it(
    setup: Setup, loop: BlockingPortal, tmp_path: Path
) -> None:
    service, _, client = setup
    duty = session(service, Role.OPERATOR)
    drill = client.post(
        "/api/drills", headers=duty, json={"station": "xiawu-pond", "severity": "blue"}
    ).json()
    loop.call(service.close)
    again = Service(service.loaded)
    loop.call(again.open)
    try:
        live = loop.call(Live, again)
        assert again.settings.http is not None
        after = client_on(loop, loop.call(live.app, again.settings.http))
        ended = after.delete(f"/api/drills/{drill['id']}", headers=duty)  # the key file kept
        assert ended.status_code == 200 and ended.json()["transition"] == "resolved"
    finally:
        loop.call(again.close)
        loop.call(service.open)  # for the fixture's own close
