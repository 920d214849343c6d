"""Wires the command center to a running service: the app, the stream hub fed
by the service's listeners, and the readings it keeps for charts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from floodwatch.alerts.event import AlertEvent
from floodwatch.config.models import HttpSettings
from floodwatch.readings import Reading
from floodwatch.web import board
from floodwatch.web.api import create_app
from floodwatch.web.stream import Hub

if TYPE_CHECKING:
    from floodwatch.service.run import Service

log = logging.getLogger("floodwatch.web")

STATIONS_EVERY = 1.0  # seconds between `stations` events (only those that changed)
SAVE_EVERY = 5  # … and every this many of them, the recent readings go to the store


class Live:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.hub = Hub()
        self.recent = board.Recent()
        if service.store is not None:
            self.recent.load(service.store)
        self.dirty: set[str] = set()
        service.alert_listeners.append(self._alert)
        service.incident_listeners.append(self._incident)
        service.reading_listeners.append(self._readings)

    def app(self, settings: HttpSettings) -> FastAPI:
        return create_app(settings, self.service, self.hub, self.recent)

    def _readings(self, readings: list[Reading]) -> None:
        self.recent.add(readings)
        self.dirty.update(r.station for r in readings)

    def _alert(self, event: AlertEvent) -> None:
        store = self.service.store
        assert store is not None
        rowid = store.rowid(event)
        if rowid is not None:
            self.hub.alert(rowid, event.to_json())
        self.dirty.add(event.station)

    def _incident(self, notice: AlertEvent) -> None:
        """An incident changed: its notice (id = the incident's) as an `incident`
        event; a client catching up reads `/api/incidents`."""
        self.hub.publish(
            {"event": "incident", "data": json.dumps(notice.to_json(), ensure_ascii=False)}
        )

    async def publish_stations(self) -> None:
        """Every second: the stations that changed, to the stream; every few
        seconds the recent readings to the store."""
        ticks = 0
        while True:
            await asyncio.sleep(STATIONS_EVERY)
            ticks += 1
            if ticks % SAVE_EVERY == 0 and self.service.store is not None:
                self.recent.flush(self.service.store)
            if not self.dirty or not self.hub.clients or self.service.store is None:
                continue
            changed, self.dirty = self.dirty, set()
            rows = board.station_rows(
                self.service.compiled,
                self.recent,
                self.service.store.active(),
                self.service.clock_ms(),
                only=changed,
            )
            self.hub.stations(rows)


async def serve(service: Service) -> None:
    """The command center of a running service (`service.http`): API, page,
    stream, metrics, on uvicorn until cancelled; then it stops listening and
    ends the open connections (event streams too) at once, and saves the
    recent readings. `floodwatch run` hands this to `run_service`, which runs
    it as one of its tasks (the service does not import the web layer) and
    cancels it first when it stops, before the engine's last batch and the
    store's closing."""
    import uvicorn

    settings = service.settings.http
    assert settings is not None
    live = Live(service)
    config = uvicorn.Config(
        live.app(settings), host=settings.host, port=settings.port, log_level="warning",
        lifespan="off", **proxy_settings(settings),
    )  # fmt: skip

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # the service handles signals
            yield

    server = Server(config)
    log.info("command center on http://%s:%d/", settings.host, settings.port)
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(live.publish_stations())
            group.create_task(server.serve())
    finally:
        _close(server)
        if service.store is not None:
            live.recent.flush(service.store)  # the charts' last seconds too


def _close(server: Any) -> None:
    """A cancelled `Server.serve` never reaches uvicorn's own shutdown (which
    would also wait for every open event stream to end): stop listening, end
    the connections and the requests in progress now, so nothing is answered
    from a service that is closing its store."""
    for listener in getattr(server, "servers", []):
        listener.close()
    for connection in list(server.server_state.connections):
        connection.shutdown()
    for task in list(server.server_state.tasks):
        task.cancel()


def proxy_settings(settings: HttpSettings) -> dict[str, Any]:
    """uvicorn's proxy options: X-Forwarded-For / -Proto are believed only from
    the configured `trusted_proxies` (uvicorn alone trusts them from
    127.0.0.1, so anyone on the machine could choose the client address that
    login limits and logs see)."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}
