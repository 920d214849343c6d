"""`floodwatch.web.routes.notifications` (`GET /api/notifications`) over
`create_app` on a real service: viewers read what people were told; `hours`
bounds the SMS shown and is refused outside (0, 400 days]."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from floodwatch.service.run import Service
from floodwatch.web.auth import Role
from floodwatch.web.live import Live
from floodwatch.web.routes import notifications
from tests.web.conftest import STORM, feed, session, who_may

Setup = tuple[Service, Live, TestClient]
SWEEPS = sorted({r.ts for r in STORM})


def test_viewers_read_what_people_were_told(setup: Setup) -> None:
    service, _, client = setup
    assert who_may(client, service, "GET", "/api/notifications") == {
        "nobody": 401, "forged": 401, "expired": 401,
        "viewer": 200, "operator": 200, "admin": 200}  # fmt: skip
    quiet = client.get("/api/notifications", headers=session(service, Role.VIEWER)).json()
    assert quiet["sms"] == [] and quiet["calls"] == []
    assert [b["village"] for b in quiet["broadcasts"]] == ["330182104201", "330182104202"]
    assert notifications.router


def test_the_sms_shown_are_those_of_the_last_hours(setup: Setup) -> None:
    service, _, client = setup
    feed(client, service, [r for r in STORM if r.ts <= SWEEPS[70]])  # the first call
    viewer = session(service, Role.VIEWER)
    told = client.get("/api/notifications", headers=viewer).json()
    assert {p["name"] for p in told["sms"]} >= {"王强"}
    assert told["calls"][0]["called"][0]["name"] == "王强"
    assert all(m["text"] is None for p in told["sms"] for m in p["messages"])  # no recorder
    time.sleep(0.05)
    recent = client.get("/api/notifications", params={"hours": 0.01 / 3600}, headers=viewer)
    assert recent.json()["sms"] == [] and recent.json()["calls"] == told["calls"]


def test_hours_outside_the_range_are_422(setup: Setup) -> None:
    service, _, client = setup
    viewer = session(service, Role.VIEWER)
    for hours in ("0", "-1", "9601", "nan", "forever"):
        got = client.get("/api/notifications", params={"hours": hours}, headers=viewer)
        assert got.status_code == 422, (hours, got.text)
    assert client.get("/api/notifications", params={"hours": "9600"}, headers=viewer).is_success
