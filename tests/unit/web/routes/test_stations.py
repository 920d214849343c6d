"""`floodwatch.web.routes.stations` under the test client over `create_app`: the
station list and one station's charts, before any reading (a fresh start)
and after some; unknown ids are 404 naming them."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from floodwatch.service.run import Service
from floodwatch.web.auth import Role
from floodwatch.web.live import Live
from floodwatch.web.routes import stations
from tests.web.conftest import STORM, feed, session, who_may

Setup = tuple[Service, Live, TestClient]
SIGNED_IN = {"nobody": 401, "forged": 401, "expired": 401,
             "viewer": 200, "operator": 200, "admin": 200}  # fmt: skip
IDS = {"maokeng-pond", "maokeng-culvert", "maokeng-rain", "xiawu-pond"}


def test_viewers_read_stations(setup: Setup) -> None:
    service, _, client = setup
    assert who_may(client, service, "GET", "/api/stations") == SIGNED_IN
    assert who_may(client, service, "GET", "/api/stations/xiawu-pond") == SIGNED_IN
    assert stations.router


def test_before_any_reading_every_station_is_there_with_nothing_to_show(setup: Setup) -> None:
    service, _, client = setup
    viewer = session(service, Role.VIEWER)
    rows = {s["id"]: s for s in client.get("/api/stations", headers=viewer).json()}
    assert set(rows) == IDS
    assert all(r["latest"] == {} and r["level"] is None for r in rows.values())
    one = client.get("/api/stations/maokeng-pond", headers=viewer).json()
    assert one["series"] == {"level": []} and one["alerts"] == [] and one["forecasts"] == {}
    assert abs(one["to"] / 1000 - time.time()) < 60  # no event clock yet: the wall clock
    assert one["to"] - one["from"] == 24 * 3600 * 1000
    assert any(line["label"] == "坝顶" for line in one["thresholds"])


def test_a_station_shows_its_last_day_and_its_alerts(setup: Setup) -> None:
    service, _, client = setup
    part = STORM[:600]
    feed(client, service, part)
    viewer = session(service, Role.VIEWER)
    one = client.get("/api/stations/maokeng-pond", headers=viewer).json()
    mine = [r for r in part if r.station == "maokeng-pond"]
    assert len(one["series"]["level"]) == len(mine)
    assert one["series"]["level"][-1][1] == mine[-1].value
    assert one["to"] == max(int(r.ts.timestamp() * 1000) for r in part)  # the event clock
    assert one["latest"]["level"]["age_s"] == 0
    assert one["alerts"] and all(a["station"] == "maokeng-pond" for a in one["alerts"])
    assert [a["ts"] for a in one["alerts"]] == sorted(a["ts"] for a in one["alerts"])
    rows = client.get("/api/stations", headers=viewer).json()
    assert {r["id"] for r in rows if r["latest"]} == IDS


def test_an_unknown_station_is_404_naming_it(setup: Setup) -> None:
    service, _, client = setup
    viewer = session(service, Role.VIEWER)
    for ident in ("nope", "<script>alert(1)<script>", "x' OR '1'='1", "MAOKENG-POND"):
        got = client.get(f"/api/stations/{ident}", headers=viewer)
        assert got.status_code == 404 and got.json() == {"error": f"no station {ident!r}"}
    assert client.get("/api/stations/a/b", headers=viewer).status_code == 404
