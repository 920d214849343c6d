"""`floodwatch demo` with the command center: the demo storm through a real
service (store, alerts, incidents, the outbox and its delivery workers,
call-and-answer) in a temporary directory, its board served on a local port,
no broker needed.

The warning chain is the demo's own (`config/demo/notify.yaml`, or
`demo/notify.yaml` in the config directory given): SMS and village broadcast
go to recording destinations (`notify/record.py`), never to a real gateway or
broker, whatever the config directory's own `service:` says. One person
answers the first call by SMS, through the same function the SMS gateway's
reply push (`POST /api/sms/reply`) calls."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import uvicorn

from floodwatch.alerts.event import AlertEvent
from floodwatch.config.loader import LoadedConfig
from floodwatch.config.models import HttpSettings, HttpUser
from floodwatch.config.notify import NotifySettings
from floodwatch.ingest.source import Incoming
from floodwatch.notify.record import PART_NUMBER, BoxMessage, SmsPart, whole_text
from floodwatch.notify.sinks import load_config_files
from floodwatch.readings import Reading
from floodwatch.store import Store
from floodwatch.web.auth import hash_password
from floodwatch.web.live import Live, proxy_settings
from floodwatch.web.notifications import notifications

if TYPE_CHECKING:
    from floodwatch.notify.dispatch import Dispatcher
    from floodwatch.service.run import Service

DEMO_USERS = {"duty": ("operator", "floodwatch"), "guest": ("viewer", "floodwatch")}
EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent.parent / "config"
DEMO_NOTIFY = Path("demo") / "notify.yaml"
REPLY_TEXT = "{code}收到，马上到现场"  # what the person who answers sends
REPLY_AFTER = 2  # sweeps (of 5 minutes) between the first call and its answer
DRAIN_MAX = 10.0  # seconds the demo waits at the end for deliveries still due


def demo_notify(config_dir: Path | None = None) -> NotifySettings:
    """The demo's `service.notify`: `demo/notify.yaml` of the config directory
    if it has one, else the example's."""
    path = (config_dir or EXAMPLE_CONFIG) / DEMO_NOTIFY
    if not path.is_file():
        path = EXAMPLE_CONFIG / DEMO_NOTIFY
    notify = load_config_files([path]).config.service.notify
    if notify is None:
        raise ValueError(f"{path}: no service.notify")
    for name, dest in notify.destinations.items():
        if dest.type in ("sms", "broadcast") and not dest.record:
            raise ValueError(f"{path}: destination {name!r} must be recorded (record: true)")
    return notify


def demo_settings(
    loaded: LoadedConfig, workdir: Path, port: int, notify: NotifySettings | None = None
) -> LoadedConfig:
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
            "sl651": None,
            "http": HttpSettings(host="127.0.0.1", port=port, users=users),
            "notify": notify if notify is not None else demo_notify(),
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


@dataclass(frozen=True)
class DemoResult:
    active: list[AlertEvent]  # still active at the end
    told: dict[str, Any]  # what people were told (`GET /api/notifications`)


@dataclass(frozen=True)
class Sms:
    """One whole SMS message (its parts joined) and everyone who got it."""

    names: list[str]
    text: str


class Narrator(Protocol):
    """What the demo tells as the storm goes (the terminal)."""

    def alert(self, event: AlertEvent) -> None: ...
    def sweep(self, ts: datetime, readings: list[Reading]) -> None: ...
    def sms(self, message: Sms) -> None: ...
    def box(self, message: BoxMessage) -> None: ...
    def reply(self, at: datetime, name: str, text: str, acknowledged: list[str]) -> None: ...
    def port_taken(self, port: int) -> None: ...
    def storm_over(self, url: str | None) -> None: ...


class Messages:
    """Recorded SMS parts joined into whole messages; messages with the same
    text sent at once listed once with every recipient."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names  # phone -> name
        self.waiting: list[tuple[str, str]] = []  # (phone, whole text)
        self.partial: dict[str, list[str]] = {}  # phone -> parts so far

    def add(self, part: SmsPart) -> None:
        match = PART_NUMBER.match(part.text)
        parts = self.partial.setdefault(part.phone, [])
        parts.append(part.text)
        if match is None or match.group(2) == match.group(3):
            self.waiting.append((part.phone, whole_text(self.partial.pop(part.phone))))

    def take(self) -> list[Sms]:
        by_text: dict[str, list[str]] = {}
        for phone, text in self.waiting:
            by_text.setdefault(text, []).append(self.names.get(phone, phone))
        self.waiting = []
        return [Sms(names, text) for text, names in by_text.items()]


class _Reply:
    """The simulated call-and-answer: the first person called answers
    REPLY_AFTER sweeps after the call, through the reply webhook's own function."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        live: Live,
        phones: dict[str, str],
        messages: Messages,
        narrator: Narrator,
    ) -> None:
        self.dispatcher = dispatcher
        self.live = live
        self.phones = phones  # phone -> name
        self.messages = messages
        self.narrator = narrator
        self.calls: list[tuple[str, str]] = []  # (phone, code) of the first call
        self.replied = False
        self.since_call = 0  # sweeps since the first call

    def recorded(self, item: SmsPart | BoxMessage) -> None:
        """A recorded delivery: a box told, an SMS part joined, the first call noted."""
        if isinstance(item, BoxMessage):
            self.narrator.box(item)
            return
        self.messages.add(item)
        code = re.search(r"收到请回复(\d{4})", item.text)
        if code is not None and not self.calls:  # the first person called answers
            self.calls.append((item.phone, code.group(1)))

    def swept(self, at: datetime) -> None:
        """After each sweep; the answer goes out once, REPLY_AFTER sweeps after the call."""
        if self.calls and not self.replied:
            self.since_call += 1
            if self.since_call > REPLY_AFTER:
                self._answer(at, *self.calls[0])
                self.replied = True

    def _answer(self, at: datetime, phone: str, code: str) -> None:
        text = REPLY_TEXT.format(code=code)
        acknowledged = self.dispatcher.reply(phone, text, time.time())
        for one in acknowledged:
            self.live.hub.publish(
                {"event": "ack", "data": json.dumps({"id": one, "by": self.phones.get(phone)})}
            )
        self.narrator.reply(at, self.phones.get(phone, phone), text, acknowledged)


async def run_demo_board(
    loaded: LoadedConfig,
    sweeps: list[tuple[datetime, list[Reading]]],
    *,
    port: int,
    pause: float,
    stay: bool,
    narrator: Narrator,
    config_dir: Path | None = None,
) -> DemoResult:
    """Feed the sweeps (one engine step each, `pause` seconds apart) while the
    board is served and the warning chain delivers; returns the alerts still
    active at the end and what people were told (`web.notifications`)."""
    from floodwatch.notify.deliver import Deliverer
    from floodwatch.service import operations
    from floodwatch.service.run import Service

    with _workdir() as workdir:
        notify = demo_notify(config_dir)
        demo = demo_settings(loaded, workdir, port, notify)
        service = Service(demo, on_alert=narrator.alert)
        service.open()
        assert service.store is not None and service.dispatcher is not None
        store, dispatcher = service.store, service.dispatcher
        deliverer = Deliverer(
            notify,
            store,
            service.dead_letter,
            compiled=service.compiled,
            config_dir=config_dir or EXAMPLE_CONFIG,
            on_trouble=functools.partial(operations.destination_trouble, service),
        )
        service.deliverer = deliverer
        live = Live(service)
        phones = {p.phone: p.name for p in demo.config.people}
        messages = Messages(phones)
        reply = _Reply(dispatcher, live, phones, messages, narrator)
        deliverer.recorder.listeners.append(reply.recorded)
        http = demo.config.service.http
        assert http is not None
        config = uvicorn.Config(
            live.app(http), host=http.host, port=http.port, log_level="warning", lifespan="off",
            **proxy_settings(http),
        )  # fmt: skip
        server = _Server(config)
        board = _free(http.port)
        if not board:
            narrator.port_taken(http.port)
        serving = asyncio.create_task(server.serve() if board else _nothing())
        stop = asyncio.Event()  # Ctrl+C (or SIGTERM) after the storm: the summary, then out
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        background = [
            asyncio.create_task(live.publish_stations()),
            asyncio.create_task(deliverer.run()),
            asyncio.create_task(_follow_up(service, messages, narrator)),
        ]
        names = list(notify.destinations)
        try:
            for ts, readings in sweeps:
                if stop.is_set():  # Ctrl+C during the storm
                    break
                payload = json.dumps([r.to_json() for r in readings]).encode()
                service.step([Incoming(payload, "demo", "batch", "mqtt")])
                await _delivered(store, names)
                for message in messages.take():
                    narrator.sms(message)
                reply.swept(ts)
                narrator.sweep(ts, readings)
                await asyncio.sleep(pause)
            await _drain(service, max(0.5, 4 * pause))
            for message in messages.take():
                narrator.sms(message)
            if stay and not stop.is_set():
                narrator.storm_over(f"http://{http.host}:{http.port}/" if board else None)
                await stop.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(serving, timeout=5)
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            active = [AlertEvent.from_json(e) for e in store.active()]
            told = notifications(store, notify, service.compiled, deliverer.recorder)
            service.close()
        return DemoResult(active, told)


async def _follow_up(service: Service, messages: Messages, narrator: Narrator) -> None:
    """Every 0.2 s: call-and-answer resends and escalations, reminders (as the
    service does every second; the storm runs faster than real time), and
    messages sent since, told."""
    assert service.dispatcher is not None and service.deliverer is not None
    while True:
        await asyncio.sleep(0.2)
        if service.dispatcher.follow_up(time.time()):
            service.deliverer.wake()
        for message in messages.take():
            narrator.sms(message)


async def _delivered(store: Store, names: list[str]) -> None:
    """Until what is due now has been delivered (up to 2 s): the terminal tells
    each step's messages after the step, whatever the pace."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        now = time.time()
        if all(d is None or d > now for d in (store.next_due(n) for n in names)):
            return
        await asyncio.sleep(0.005)


async def _drain(service: Service, settle: float) -> None:
    """Wait (up to DRAIN_MAX) until the destinations have nothing pending that
    is due within `settle` seconds, then `settle` more."""
    assert service.store is not None
    store = service.store
    names = list(service.settings.notify.destinations) if service.settings.notify else []
    deadline = time.monotonic() + DRAIN_MAX
    while time.monotonic() < deadline:
        due = [store.next_due(name) for name in names]
        if all(d is None or d > time.time() + settle for d in due):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(settle)


def _free(port: int) -> bool:
    """Whether the board's port can be had (else the demo runs without it)."""
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def _nothing() -> None:
    """In place of the board when its port is taken: done at once (the end of
    the demo waits for the board to stop, up to 5 s)."""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the demo handles Ctrl+C itself
        yield


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="floodwatch-demo-") as tmp:
        yield Path(tmp)
