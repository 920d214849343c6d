"""`floodwatch demo` with the command center: the demo storm through a real
service (store, alerts, call-and-answer state) in a temporary directory, its
board served on a local port, no broker needed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import uvicorn

from floodwatch.alerts.event import AlertEvent
from floodwatch.config.loader import LoadedConfig
from floodwatch.config.models import HttpSettings, HttpUser
from floodwatch.ingest.source import Incoming
from floodwatch.readings import Reading
from floodwatch.web.auth import hash_password
from floodwatch.web.live import Live, proxy_settings

DEMO_USERS = {"duty": ("operator", "floodwatch"), "guest": ("viewer", "floodwatch")}


def demo_settings(loaded: LoadedConfig, workdir: Path, port: int) -> LoadedConfig:
    users = [
        HttpUser(name=name, role=role, password_hash=hash_password(password))
        for name, (role, password) in DEMO_USERS.items()
    ]
    service = loaded.config.service.model_copy(
        update={
            "store": str(workdir / "floodwatch.db"),
            "dead_letter": loaded.config.service.dead_letter.model_copy(
                update={"file": str(workdir / "dead-letter.jsonl")}
            ),
            "idle_advance_after": None,
            "mqtt": None,
            "kafka": None,
            "http": HttpSettings(host="127.0.0.1", port=port, users=users),
        }
    )
    config = loaded.config.model_copy(update={"service": service})
    return LoadedConfig(
        config,
        loaded.origins,
        loaded.engine_origin,
        loaded.service_origin,
        template_problems=loaded.template_problems,
    )


async def run_demo_board(
    loaded: LoadedConfig,
    sweeps: list[tuple[datetime, list[Reading]]],
    *,
    port: int,
    pause: float,
    stay: bool,
    show: Callable[[AlertEvent], None],
    progress: Callable[[datetime, list[Reading]], None],
) -> list[AlertEvent]:
    """Feed the sweeps (one engine step each, `pause` seconds apart) while the
    board is served; returns the alerts still active at the end."""
    from floodwatch.service.run import Service

    with _workdir() as workdir:
        demo = demo_settings(loaded, workdir, port)
        service = Service(demo, on_alert=show)
        service.open()
        live = Live(service)
        http = demo.config.service.http
        assert http is not None
        config = uvicorn.Config(
            live.app(http), host=http.host, port=http.port, log_level="warning", lifespan="off",
            **proxy_settings(http),
        )  # fmt: skip
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve() if _free(http.port) else _nothing(stay))
        publishing = asyncio.create_task(live.publish_stations())
        try:
            for ts, readings in sweeps:
                payload = json.dumps([r.to_json() for r in readings]).encode()
                service.step([Incoming(payload, "demo", "batch", "mqtt")])
                progress(ts, readings)
                await asyncio.sleep(pause)
            if stay:
                await serving
        finally:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(serving, timeout=5)
            publishing.cancel()
            active = [AlertEvent.from_json(e) for e in service.store.active()]  # type: ignore[union-attr]
            service.close()
        return active


def _free(port: int) -> bool:
    """Whether the board's port can be had (else the demo runs without it)."""
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            print(f"port {port} is taken: no board this time (use --port)")
            return False
    return True


async def _nothing(stay: bool) -> None:
    if stay:
        await asyncio.Event().wait()


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="floodwatch-demo-") as tmp:
        yield Path(tmp)
