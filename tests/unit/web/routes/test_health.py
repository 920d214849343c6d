"""`floodwatch.web.routes.health` under the test client over `create_app`: the
probes are public and say what is not ready (a source down, a store that
cannot be written); `/api/status` and `/metrics` need a session and tell the
event clock, a drill running, the rule names and destination types."""

from __future__ import annotations

from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient

from floodwatch.readings import format_ts
from floodwatch.service.run import Service
from floodwatch.web.auth import Role
from floodwatch.web.live import Live
from floodwatch.web.routes import health
from tests.web.conftest import STORM, feed, session, who_may

Setup = tuple[Service, Live, TestClient]
EVERYONE = {"nobody": 200, "forged": 200, "expired": 200,
            "viewer": 200, "operator": 200, "admin": 200}  # fmt: skip
SIGNED_IN = {"nobody": 401, "forged": 401, "expired": 401,
             "viewer": 200, "operator": 200, "admin": 200}  # fmt: skip


def test_the_probes_are_public_and_the_rest_needs_a_session(setup: Setup) -> None:
    service, _, client = setup
    assert who_may(client, service, "GET", "/healthz") == EVERYONE
    assert who_may(client, service, "GET", "/readyz") == EVERYONE
    assert who_may(client, service, "GET", "/api/status") == SIGNED_IN
    assert who_may(client, service, "GET", "/metrics") == SIGNED_IN
    assert health.router  # one router: the four routes


def test_readyz_names_each_thing_not_ready_and_recovers(setup: Setup, loop: BlockingPortal) -> None:
    service, _, client = setup
    up = {"mqtt": False, "kafka": True}
    service.readiness += [(name, lambda name=name: up[name]) for name in up]  # type: ignore[misc]
    assert service.store is not None
    loop.call(service.store.db.execute, "PRAGMA query_only = ON")  # a disk gone read-only
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.json() == {"ready": False, "problems": ["mqtt not connected", "store not writable"]}
    assert client.get("/healthz").json() == {"status": "ok"}  # the process still answers
    viewer = session(service, Role.VIEWER)
    assert client.get("/api/status", headers=viewer).json()["ready"] is False
    loop.call(service.store.db.execute, "PRAGMA query_only = OFF")
    up["mqtt"] = True
    assert client.get("/readyz").json() == {"ready": True}
    assert client.get("/api/status", headers=viewer).json()["ready"] is True


def test_status_tells_the_event_clock_a_drill_and_the_names_for_ids(setup: Setup) -> None:
    service, _, client = setup
    duty = session(service, Role.OPERATOR)
    before = client.get("/api/status", headers=duty).json()
    assert before["event_clock"] is None and before["exercise"] is False
    assert before["timezone"] == "Asia/Shanghai"
    assert before["rules"]["pond-level"] == {"name": "山塘水位", "name_en": "pond level"}
    assert before["destinations"] == {"sms": "sms", "village": "broadcast", "log": "console"}
    feed(client, service, STORM[:12])
    clock = client.get("/api/status", headers=duty).json()["event_clock"]
    assert clock == format_ts(max(r.ts for r in STORM[:12]))  # the newest reading's time
    drill = client.post(
        "/api/drills", headers=duty, json={"station": "xiawu-pond", "severity": "blue"}
    ).json()
    assert client.get("/api/status", headers=duty).json()["exercise"] is True
    client.delete(f"/api/drills/{drill['id']}", headers=duty)
    assert client.get("/api/status", headers=duty).json()["exercise"] is False


def test_metrics_are_prometheus_text(setup: Setup) -> None:
    service, _, client = setup
    feed(client, service, STORM[:12])
    got = client.get("/metrics", headers=session(service, Role.VIEWER))
    assert got.headers["content-type"].startswith("text/plain; version=")
    assert 'floodwatch_readings_total{source="mqtt"} 12.0' in got.text
