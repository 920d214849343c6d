"""The command center's HTTP API, in process (FastAPI's TestClient) on a real
service with a store: access rules, auth failures, bad bodies, alerts,
acknowledgement, silences, stations, metrics, the stream's catch-up."""

from __future__ import annotations

import inspect
import json
import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.routing import Mount

from floodwatch.service.run import Service
from floodwatch.web.access import ACCESS
from floodwatch.web.api import all_routes
from floodwatch.web.auth import Role
from floodwatch.web.live import Live
from tests.web.conftest import STORM, feed, token


def test_every_route_has_an_explicit_access_rule(setup: tuple[Service, Live, TestClient]) -> None:
    _, _, client = setup
    found = set()
    for route in all_routes(client.app):  # type: ignore[arg-type]
        if isinstance(getattr(route, "original_route", route), Mount):
            found.add(("GET", route.path))
            continue
        for method in getattr(route, "methods", None) or {"GET"}:
            if method == "HEAD":
                continue
            found.add((method, route.path))
            assert (method, route.path) in ACCESS, f"{method} {route.path} has no access rule"
    assert found == set(ACCESS), f"rules for routes that do not exist: {set(ACCESS) - found}"


def test_every_route_and_dependency_runs_on_the_event_loop(
    setup: tuple[Service, Live, TestClient],
) -> None:
    """A plain `def` route would run in a worker thread and use the store
    (and asyncio objects) from there, inside the engine step's transaction."""
    _, _, client = setup
    checked = 0
    for route in all_routes(client.app):  # type: ignore[arg-type]
        if not isinstance(getattr(route, "original_route", route), APIRoute):
            continue
        calls = [route.dependant.call, *(d.call for d in route.dependant.dependencies)]
        assert len(calls) >= 2, f"{route.path}: the access check is not a dependency"
        for call in calls:
            assert inspect.iscoroutinefunction(call), f"{route.path}: {call} is not async"
        checked += 1
    assert checked >= len(ACCESS) - 6  # all but the page, static, OpenAPI, health


def _concrete(path: str) -> str:
    return (
        path.replace("{alert_id:path}", "x")
        .replace("{silence_id}", "x")
        .replace("{station_id}", "maokeng-pond")
    )


def test_every_protected_route_needs_a_token_and_the_right_role(
    setup: tuple[Service, Live, TestClient],
) -> None:
    _, _, client = setup
    viewer = token(client, "guest")
    for (method, path), rule in ACCESS.items():
        if rule.least is None:
            continue
        url = _concrete(path)
        if path == "/api/stream":
            continue  # an endless stream: checked below without a token only
        answer = client.request(method, url, json={} if method == "POST" else None)
        assert answer.status_code == 401, (method, path, answer.text)
        assert "log in" in answer.json()["error"]
        bad = client.request(method, url, headers={"Authorization": "Bearer forged.token"})
        assert bad.status_code == 401, (method, path)
        if rule.least is Role.OPERATOR:
            denied = client.request(method, url, headers=viewer, json={})
            assert denied.status_code == 403, (method, path, denied.text)
            assert denied.json() == {"error": "needs the operator role"}
    assert client.get("/api/stream").status_code == 401


def test_public_routes_answer_without_a_token(setup: tuple[Service, Live, TestClient]) -> None:
    _, _, client = setup
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"ready": True}
    assert client.get("/openapi.json").json()["info"]["title"] == "floodwatch command center"
    assert "防汛预警指挥台" in client.get("/").text
    assert client.get("/static/app.js").status_code == 200


def test_readyz_names_what_is_not_ready(setup: tuple[Service, Live, TestClient]) -> None:
    service, _, client = setup
    service.readiness.append(("mqtt", lambda: False))
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"ready": False, "problems": ["mqtt not connected"]}


def test_bad_bodies_get_clear_json_errors(setup: tuple[Service, Live, TestClient]) -> None:
    _, _, client = setup
    operator = token(client)
    missing = client.post("/api/login", json={"name": "duty"})
    assert missing.status_code == 422
    assert missing.json() == {"error": "body.password: Field required"}
    extra = client.post("/api/silences", headers=operator, json={"ends": "2h", "why": 1})
    assert extra.status_code == 422 and "body.ends" in extra.json()["error"]
    garbage = client.post(
        "/api/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert garbage.status_code == 422 and "error" in garbage.json()
    huge = client.post("/api/login", content=b"x" * 70_000)
    assert huge.status_code == 413 and "larger than" in huge.json()["error"]
    empty = client.post(
        "/api/silences",
        headers=operator,
        json={"ends": "2030-01-01T00:00:00+08:00", "reason": "测试"},
    )
    assert empty.status_code == 400
    assert "at least one station" in empty.json()["error"]
    assert client.get("/api/alerts/nope", headers=operator).json() == {"error": "no alert 'nope'"}
    assert client.get("/nowhere").json() == {"error": "Not Found"}


def test_logins_are_rate_limited(setup: tuple[Service, Live, TestClient]) -> None:
    _, _, client = setup
    for _ in range(5):
        wrong = client.post("/api/login", json={"name": "duty", "password": "guess"})
        assert wrong.status_code == 401
    blocked = client.post("/api/login", json={"name": "duty", "password": "floodwatch"})
    assert blocked.status_code == 429 and "too many failed logins" in blocked.json()["error"]


def test_alerts_timeline_and_acknowledgement(setup: tuple[Service, Live, TestClient]) -> None:
    service, _, client = setup
    feed(client, service, STORM[: len(STORM) // 2])
    viewer, operator = token(client, "guest"), token(client)
    active = client.get("/api/alerts", params={"active": "true"}, headers=viewer).json()
    assert active, "the storm raised alerts"
    ranks = ["red", "orange", "yellow", "blue", "info"]
    assert [ranks.index(a["severity"]) for a in active] == sorted(
        ranks.index(a["severity"]) for a in active
    )
    red = client.get(
        "/api/alerts", params={"active": "true", "severity": "red"}, headers=viewer
    ).json()
    assert red and all(a["severity"] == "red" for a in red)
    history = client.get(
        "/api/alerts", params={"station": "maokeng-rain", "limit": 3}, headers=viewer
    ).json()
    assert len(history) == 3 and {a["station"] for a in history} == {"maokeng-rain"}
    assert [a["ts"] for a in history] == sorted((a["ts"] for a in history), reverse=True)
    since = history[1]["ts"]
    later = client.get(
        "/api/alerts",
        params={"town": "330182104", "since": since, "severity": ["red", "orange"]},
        headers=viewer,
    ).json()
    assert later and all(a["ts"] >= since and a["severity"] in ("red", "orange") for a in later)
    assert client.get("/api/alerts", params={"town": "999"}, headers=viewer).json() == []
    alert = red[0]["id"]
    done = client.post(f"/api/alerts/{alert}/ack", headers=operator, json={"comment": "已派人"})
    assert done.status_code == 200 and done.json()["by"] == "duty"
    timeline = client.get(f"/api/alerts/{alert}", headers=viewer).json()
    assert timeline["acknowledgements"][0]["comment"] == "已派人"
    assert timeline["transitions"][0]["transition"] == "firing"
    again = client.get("/api/alerts", params={"active": "true"}, headers=viewer).json()
    assert next(a for a in again if a["id"] == alert)["acknowledged"]["by"] == "duty"


def test_silences_from_the_api(setup: tuple[Service, Live, TestClient]) -> None:
    _, _, client = setup
    operator = token(client)
    made = client.post(
        "/api/silences",
        headers=operator,
        json={"stations": ["maokeng-pond"], "ends": "2099-01-01T00:00:00+08:00", "reason": "检修"},
    )
    assert made.status_code == 201 and made.json()["author"] == "duty"
    listed = client.get("/api/silences", headers=operator).json()
    assert [s["id"] for s in listed] == [made.json()["id"]]
    assert client.delete(f"/api/silences/{made.json()['id']}", headers=operator).status_code == 200
    assert client.get("/api/silences", headers=operator).json() == []


def test_stations_with_latest_readings_series_and_thresholds(
    setup: tuple[Service, Live, TestClient],
) -> None:
    service, _, client = setup
    feed(client, service, STORM[: len(STORM) // 2])
    viewer = token(client, "guest")
    stations = {s["id"]: s for s in client.get("/api/stations", headers=viewer).json()}
    assert set(stations) == {"maokeng-pond", "maokeng-culvert", "maokeng-rain", "xiawu-pond"}
    pond = stations["maokeng-pond"]
    assert pond["latest"]["level"]["age_s"] == 0 and pond["type"] == "pond"
    assert pond["level"] in ("blue", "yellow", "orange", "red")
    one = client.get("/api/stations/maokeng-pond", headers=viewer).json()
    assert len(one["series"]["level"]) > 100
    lines = {line["label"]: line for line in one["thresholds"]}
    assert lines["坝顶"]["value"] == 312.0 and lines["溢洪道堰顶"]["value"] == 311.0
    assert lines["汛限水位"]["value"] in (310.4, 310.6, 310.8)  # the season's
    assert lines["山塘水位红色"]["label_en"] == "pond level red"
    assert any(t.get("severity") == "red" for t in one["thresholds"])
    assert client.get("/api/stations/nope", headers=viewer).status_code == 404


def test_metrics_parse_and_move_as_readings_flow(setup: tuple[Service, Live, TestClient]) -> None:
    service, _, client = setup
    viewer = token(client, "guest")

    def scrape() -> dict[str, float]:
        text = client.get("/metrics", headers=viewer).text
        out = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}"] = sample.value
        return out

    before = scrape()
    feed(client, service, STORM[:400])
    after = scrape()
    key = "floodwatch_readings_total{source=mqtt}"
    assert after[key] - before.get(key, 0) == 400
    assert after["floodwatch_messages_received_total{source=mqtt}"] > 0
    assert "floodwatch_engine_lag_seconds{}" in after
    assert after["floodwatch_config_last_reload_successful{}"] == 1
    assert after["floodwatch_config_reload_failures_total{}"] == 0
    assert sum(v for k, v in after.items() if k.startswith("floodwatch_active_alerts")) >= 1


def test_the_stream_catches_a_client_up_from_its_last_event_id(
    setup: tuple[Service, Live, TestClient],
) -> None:
    service, live, client = setup
    feed(client, service, STORM[:600])
    loop = client.portal
    assert service.store is not None and loop is not None
    rows = loop.call(
        lambda: service.store.db.execute(  # type: ignore[union-attr]
            "SELECT rowid FROM transitions ORDER BY rowid"
        ).fetchall()
    )
    assert len(rows) >= 3
    seen = rows[1][0]

    async def first(n: int) -> list[dict[str, object]]:
        out = []
        async for item in live.hub.events(service.store, f"a{seen}"):  # type: ignore[arg-type]
            out.append(item)
            if len(out) == n:
                break
        return out

    got = loop.call(first, len(rows) - 2 + 1)
    assert [g["id"] for g in got[:-1]] == [f"a{r[0]}" for r in rows[2:]]
    assert got[-1]["event"] == "hello"


def test_a_route_without_a_rule_is_refused(
    setup: tuple[Service, Live, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, client = setup
    operator = token(client)
    monkeypatch.delitem(ACCESS, ("GET", "/api/me"))
    answer = client.get("/api/me", headers=operator)
    assert answer.status_code == 403
    assert answer.json() == {"error": "no access rule for GET /api/me"}


def test_a_drill_is_an_exercise_end_to_end(setup: tuple[Service, Live, TestClient]) -> None:
    _, _, client = setup
    operator, viewer = token(client), token(client, "guest")
    body = {"station": "xiawu-pond", "severity": "red"}
    assert client.post("/api/drills", headers=viewer, json=body).status_code == 403
    started = client.post("/api/drills", headers=operator, json=body)
    assert started.status_code == 201
    drill = started.json()
    assert drill["status"] == "exercise" and drill["message_zh"].startswith("【演练】")
    assert client.get("/api/status", headers=viewer).json()["exercise"] is True
    active = client.get("/api/alerts", params={"active": "true"}, headers=viewer).json()
    assert [a["id"] for a in active] == [drill["id"]]
    ended = client.delete(f"/api/drills/{drill['id']}", headers=operator)
    assert ended.status_code == 200 and ended.json()["transition"] == "resolved"
    assert "演练结束" in ended.json()["message_zh"]
    assert not re.search(r"[\u4e00-\u9fff]", ended.json()["message_en"])  # English names only
    assert client.get("/api/status", headers=viewer).json()["exercise"] is False
    assert client.delete(f"/api/drills/{drill['id']}", headers=operator).status_code == 404
    bad = client.post("/api/drills", headers=operator, json={"station": "x", "severity": "pink"})
    assert bad.status_code == 422 and "severity" in bad.json()["error"]


def test_a_client_too_slow_for_the_stream_is_ended_so_it_reconnects(
    setup: tuple[Service, Live, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, live, client = setup
    monkeypatch.setattr("floodwatch.web.stream.QUEUE", 3)

    async def slow_client() -> list[str]:
        stream = live.hub.events(service.store, None)  # type: ignore[arg-type]
        got = [str((await anext(stream))["event"])]  # hello
        for i in range(10):  # published while the client reads nothing
            live.hub.publish({"event": "stations", "data": str(i)})
        async for item in stream:
            got.append(str(item["event"]))
        return got

    assert client.portal is not None
    assert client.portal.call(slow_client) == ["hello"]  # ended: it reconnects and catches up
    assert live.hub.clients == set()


def test_the_charts_survive_a_restart(
    setup: tuple[Service, Live, TestClient], tmp_path: Path
) -> None:
    service, live, client = setup
    feed(client, service, STORM[:300])
    loop = client.portal
    assert service.store is not None and loop is not None
    loop.call(live.recent.flush, service.store)
    before = live.recent.since("maokeng-pond", "level", 0)
    again = loop.call(Live, service)  # what a restarted service builds on the same store
    assert again.recent.since("maokeng-pond", "level", 0) == before
    assert len(before) == sum(r.station == "maokeng-pond" for r in STORM[:300])


def test_incidents_with_their_alerts_live_condition_and_acknowledgement(
    setup: tuple[Service, Live, TestClient],
) -> None:
    service, _, client = setup
    feed(client, service, [r for r in STORM if r.ts <= STORM[0].ts + timedelta(hours=7.5)])  # red
    viewer, operator = token(client, "guest"), token(client)
    [incident] = client.get("/api/incidents", headers=viewer).json()
    assert incident["station"] == "maokeng-pond" and incident["state"] == "active"
    assert incident["severity"] == "red"
    # its active alerts, worst first, the red level held back by the red time to crest
    alerts = incident["alerts"]
    assert {a["station"] for a in alerts} >= {"maokeng-pond", "maokeng-rain"}
    assert all(a["incident"] == incident["id"] for a in alerts)
    assert alerts[0]["severity"] == "red"
    assert any(a["rule"] == "pond-level" and a["inhibited"] for a in alerts)
    assert incident["worst"].startswith("【")  # the notice people got, worst condition first
    assert incident["worst_now"]["rule"] == "pond-overtop"
    now = incident["live"]  # the values now, not those of the moment an alert fired
    assert now["crest"] == 312.0 and now["freeboard"] == round(312.0 - now["level"]["value"], 3)
    assert now["outlet"]["station"] == "maokeng-culvert" and now["outlet"]["flow"] >= 0
    assert now["rain_totals"]["3h"] >= now["rain_totals"]["1h"] > 0
    overtop = now["forecasts"]["pond-overtop"]  # the engine's latest forecast, live
    assert overtop["peak_level"] > 311 and 0 <= now["level"]["at"] - overtop["at"] <= 600_000
    # one acknowledgement: the incident and every alert in it
    done = client.post(
        f"/api/incidents/{incident['id']}/ack", headers=operator, json={"comment": "已派人"}
    ).json()
    assert set(done["acknowledged"]) == {incident["id"], *(a["id"] for a in alerts)}
    detail = client.get(f"/api/incidents/{incident['id']}", headers=viewer).json()
    assert detail["acknowledged"]["by"] == "duty"
    assert [c["details"]["change"] for c in detail["changes"]][:2] == ["raised", "escalated"]
    assert client.get("/api/incidents/nope", headers=viewer).status_code == 404
    assert client.get("/api/incidents", params={"all": "true"}, headers=viewer).json()


def test_the_page_learns_what_the_account_may_do_and_where_stations_stand(
    setup: tuple[Service, Live, TestClient],
) -> None:
    _, _, client = setup
    viewer, operator = token(client, "guest"), token(client)
    assert client.get("/api/me", headers=viewer).json()["may"] == {
        "ack": False, "silence": False, "drill": False}  # fmt: skip
    assert all(client.get("/api/me", headers=operator).json()["may"].values())
    found = client.get("/api/map", headers=viewer).json()
    assert found["tiles"] is None  # closed network: no tile server unless configured
    assert {s["id"] for s in found["stations"]} == {
        "maokeng-pond", "maokeng-culvert", "maokeng-rain", "xiawu-pond"}  # fmt: skip
    assert {layer["name"] for layer in found["layers"]} == {"村界", "溪流", "撤离路线与避灾点"}


def test_two_drills_started_in_the_same_millisecond_are_two_drills(
    setup: tuple[Service, Live, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, client = setup
    operator = token(client)
    frozen = SimpleNamespace(time=lambda: 1_800_000_000.0)  # the drills' clock only
    monkeypatch.setattr("floodwatch.service.operations.time", frozen)
    body = {"station": "xiawu-pond", "severity": "blue"}
    first, second = (client.post("/api/drills", headers=operator, json=body) for _ in range(2))
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    for drill in (first.json(), second.json()):
        assert client.delete(f"/api/drills/{drill['id']}", headers=operator).status_code == 200


def test_incident_changes_go_to_the_stream(setup: tuple[Service, Live, TestClient]) -> None:
    service, live, client = setup
    published: list[dict[str, object]] = []
    live.hub.publish = published.append  # type: ignore[method-assign]
    feed(client, service, [r for r in STORM if r.ts <= STORM[0].ts + timedelta(hours=7.5)])
    incidents = [json.loads(str(p["data"])) for p in published if p["event"] == "incident"]
    assert [i["details"]["change"] for i in incidents][:2] == ["raised", "escalated"]
    assert all(i["id"] == i["incident"] and i["station"] == "maokeng-pond" for i in incidents)


def test_a_filter_that_cannot_match_is_422_with_the_valid_values(
    setup: tuple[Service, Live, TestClient],
) -> None:
    _, _, client = setup
    viewer = token(client, "guest")

    def error(params: dict[str, str]) -> str:
        got = client.get("/api/alerts", params=params, headers=viewer)
        assert got.status_code == 422, (params, got.status_code, got.text)
        return str(got.json()["error"])

    assert "'info', 'blue', 'yellow', 'orange' or 'red'" in error({"severity": "purple"})
    assert "'actual' or 'exercise'" in error({"status": "drill"})
    assert "timezone" in error({"since": "2026-07-07T00:00:00"})
    assert "input should be a valid datetime" in error({"until": "yesterday"}).lower()
    assert "is after until" in error(
        {"since": "2026-07-08T00:00:00Z", "until": "2026-07-07T00:00:00Z"}
    )
    assert error({"severty": "red"}) == (
        "unknown query parameter 'severty'; valid: active, severity, station, town, rule, "
        "status, since, until, limit"
    )
    ok = client.get("/api/alerts", params={"severity": "red", "active": "true"}, headers=viewer)
    assert ok.status_code == 200
