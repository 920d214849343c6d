"""`floodwatch.web.live` on its own, on a real service with a store: `Live`
listens to the service (readings kept for the charts and the stations marked
changed, each stored alert transition to the stream with its row id, each
incident change), `publish_stations` (only the stations that changed, only
while someone listens, the recent readings saved every few ticks), `serve`
(the app on a real port until cancelled, the charts saved on the way out) and
`proxy_settings`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient

from floodwatch.config.models import HttpSettings
from floodwatch.notify.sinks import load_config_dir
from floodwatch.service.run import Service
from floodwatch.web import demo
from floodwatch.web import live as live_module
from floodwatch.web.live import Live, proxy_settings, serve
from tests.integration.services import free_port
from tests.web.conftest import STORM, _hashed, feed, sweeps

Setup = tuple[Service, Live, TestClient]


def listen(live: Live) -> asyncio.Queue[dict[str, Any] | None]:
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    live.hub.clients.add(queue)
    return queue


def drained(queue: asyncio.Queue[dict[str, Any] | None]) -> list[dict[str, Any]]:
    out = []
    while not queue.empty():
        item = queue.get_nowait()
        assert item is not None
        out.append(item)
    return out


def test_readings_are_kept_for_the_charts_and_mark_their_stations(setup: Setup) -> None:
    service, live, client = setup
    feed(client, service, STORM[:8])
    stations = {r.station for r in STORM[:8]}
    assert live.dirty == stations
    for r in STORM[:8]:
        assert live.recent.latest(r.station, r.kind) is not None, r
    assert len(live.recent.unsaved) == 8


def test_alert_transitions_and_incidents_go_to_the_stream_with_their_row_ids(
    setup: Setup,
) -> None:
    service, live, client = setup
    queue = listen(live)
    feed(client, service, STORM)
    events = drained(queue)
    alerts = [e for e in events if e["event"] == "alert"]
    incidents = [e for e in events if e["event"] == "incident"]
    assert alerts and incidents
    assert service.store is not None
    stored = client.portal.call(service.store.after, 0, 10_000)  # type: ignore[union-attr]
    assert [e["id"] for e in alerts] == [f"a{rowid}" for rowid, _ in stored]
    first = json.loads(alerts[0]["data"])
    assert first["transition"] == "firing" and first["station"] in live.dirty
    notice = json.loads(incidents[0]["data"])
    assert notice["rule"] == "incident" and notice["id"] == notice["incident"]
    assert "id" not in incidents[0]  # a client catching up reads /api/incidents


def run_ticks(loop: BlockingPortal, live: Live, seconds: float) -> None:
    async def some_ticks() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(live.publish_stations(), seconds)

    loop.call(some_ticks)


def test_only_the_stations_that_changed_are_published_and_only_to_listeners(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, live, client = setup
    loop = client.portal
    assert loop is not None
    monkeypatch.setattr(live_module, "STATIONS_EVERY", 0.01)
    monkeypatch.setattr(live_module, "SAVE_EVERY", 1000)
    feed(client, service, STORM[:4])
    changed = set(live.dirty)
    run_ticks(loop, live, 0.05)
    assert live.dirty == changed  # nobody listens: kept for later
    queue = listen(live)
    run_ticks(loop, live, 0.05)
    events = drained(queue)
    assert [e["event"] for e in events] == ["stations"]
    rows = json.loads(events[0]["data"])
    assert {row["id"] for row in rows} == changed
    assert live.dirty == set()
    run_ticks(loop, live, 0.05)
    assert drained(queue) == []  # nothing changed since


def test_the_recent_readings_are_saved_every_few_ticks(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, live, client = setup
    loop = client.portal
    assert loop is not None and service.store is not None
    monkeypatch.setattr(live_module, "STATIONS_EVERY", 0.01)
    monkeypatch.setattr(live_module, "SAVE_EVERY", 3)
    feed(client, service, STORM[:40])
    assert loop.call(service.store.recent_readings) == []
    run_ticks(loop, live, 0.2)
    assert len(loop.call(service.store.recent_readings)) == 40
    assert live.recent.unsaved == []
    again = loop.call(Live, service)  # a restarted service's charts
    assert again.recent.series == live.recent.series


def test_serve_answers_on_its_port_until_cancelled_and_saves_the_charts(
    tmp_path: Path, loop: BlockingPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "hash_password", _hashed)
    port = free_port()
    service = Service(demo.demo_settings(load_config_dir("config"), tmp_path, port))
    loop.call(service.open)
    assert service.store is not None
    base = f"http://127.0.0.1:{port}"
    ended = threading.Event()

    async def serving_until_cancelled() -> None:
        try:
            await serve(service)
        finally:
            ended.set()

    serving = loop.start_task_soon(serving_until_cancelled)
    try:
        for _ in range(100):
            try:
                answer = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                loop.call(asyncio.sleep, 0.05)
        assert answer.json() == {"status": "ok"}
        assert answer.headers["x-frame-options"] == "DENY"
        login = httpx.post(f"{base}/api/login", json={"name": "guest", "password": "floodwatch"})
        assert login.status_code == 200
        token = login.json()["token"]
        hello, stream_ended = threading.Event(), threading.Event()

        def watch() -> None:  # an open event stream (the board's)
            url = f"{base}/api/stream?token={token}"
            with contextlib.suppress(httpx.HTTPError), httpx.stream("GET", url) as answer:
                for line in answer.iter_lines():
                    if line.startswith("event: hello"):
                        hello.set()
            stream_ended.set()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        assert hello.wait(10)
        for item in sweeps(STORM[:10]):
            loop.call(service.step, [item])
    finally:
        serving.cancel()
    with pytest.raises(CancelledError):
        serving.result(10)
    assert ended.wait(10)  # the future is cancelled at once; `serve` ends after
    assert stream_ended.wait(5)  # the open stream was ended, not left to run
    assert len(loop.call(service.store.recent_readings)) == 10  # saved on the way out
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)
    loop.call(service.close)


def test_forwarded_addresses_are_believed_only_from_configured_proxies() -> None:
    assert proxy_settings(HttpSettings()) == {"proxy_headers": False}
    assert proxy_settings(HttpSettings(trusted_proxies=["10.0.0.5", "10.1.0.0/16"])) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.5", "10.1.0.0/16"],
    }
