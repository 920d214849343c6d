"""The supervised connection contract: every destination that holds a connection.

The village broadcast and the MQTT dead-letter topic hold an MQTT client; the
Kafka alert topic and the Kafka dead-letter topic a producer; InfluxDB an HTTP
client. Each is a `Connection`, and the code that sends through one relies on
this, and only this:

`start()`
    Called once by the owner (`notify.deliver.Deliverer.run`,
    `notify.deadletter.Publisher.run`) before anything is sent. Starts the
    supervising task and returns at once: it never waits for, nor fails on, an
    absent server — the service starts and keeps its outbox while the broker
    is away.
`ready`
    Set while connected. Cleared the moment a loss is seen — by the
    connection itself while idle (`_watch`: the MQTT client's own disconnect
    notice, a Kafka metadata request or an InfluxDB `/ping` every
    `probe_every` seconds), or by `lost(error)`, which a sender calls when a
    send fails — so a dead client is never used for long.
reconnect
    After a loss (or a failed first connect) the client is closed and a fresh
    one opened, waiting `floodwatch.ingest.backoff` delays between attempts (initial,
    2×, 4× … up to the cap; at most 12 attempts a minute with a 5 s cap). Every
    failure is reported to the destination's `Health`, which raises the
    `floodwatch/delivery` operations alert once it has failed for
    `failing_after` (even when nothing is being sent) and resolves it when it
    works again.
`on_connected`
    Callbacks run after every successful (re)connect, in order, before `ready`
    is set: the broadcast makes the broker's retained state the current truth;
    the delivery worker makes its whole backlog due. A callback that raises
    counts as a lost connection. Senders wait for `ready`, so the backlog goes
    out after these callbacks, oldest first (`Store.due_in_order`).
`aclose()`
    Called once by the owner at shutdown, also when `start()` was never
    reached; stops the supervisor and closes the client. Never raises. Sends
    after it fail (they are outbox rows: sent by the next start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from floodwatch.ingest.backoff import Backoff
from floodwatch.notify.health import Health

if TYPE_CHECKING:
    import aiomqtt
    import httpx
    from aiokafka import AIOKafkaProducer

    from floodwatch.config.models import KafkaSettings, MqttSettings

log = logging.getLogger(__name__)

OnConnected = Callable[[], Awaitable[None]]
PROBE_EVERY = 2.0  # seconds between liveness probes of a connection that cannot tell by itself
CLOSE_WITHIN = 5.0  # seconds a closing client may take (a dead server must not hold shutdown)


class Connection(ABC):
    """One destination's connection, kept open by its own supervising task."""

    probe_every = PROBE_EVERY
    close_within = CLOSE_WITHIN

    def __init__(self, name: str, backoff: Backoff, health: Health | None = None) -> None:
        self.name = name
        self.backoff = backoff
        self.health = health
        self.ready = asyncio.Event()
        self.on_connected: list[OnConnected] = []
        self.connections = 0  # successful connects so far
        self._broken = asyncio.Event()
        self._lost_error = ""
        self._task: asyncio.Task[None] | None = None

    # -- what a kind of connection provides --------------------------------------

    @abstractmethod
    async def _open(self) -> None:
        """Connect a fresh client; raise if it cannot."""

    async def _watch(self) -> None:
        """Return (or raise) when the connection is lost; runs while connected.
        By default a `_probe` every `probe_every` seconds."""
        while True:
            await asyncio.sleep(self.probe_every)
            async with asyncio.timeout(self.probe_every):  # no answer in time: lost
                await self._probe()

    async def _probe(self) -> None:
        """One cheap request that raises if the server cannot be reached (for the
        default `_watch`)."""
        raise NotImplementedError(f"{type(self).__name__}: neither _watch nor _probe")

    @abstractmethod
    async def _close(self) -> None:
        """Close the client (after a loss, or at `aclose`)."""

    # -- the contract --------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name=f"connection:{self.name}")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.ready.clear()
        await self._close_quietly()

    def lost(self, error: str) -> None:
        """A send failed in a way that may mean the connection is gone: reconnect
        now rather than at the next probe."""
        if self.ready.is_set():
            self._lost_error = f"send failed: {error}"
            self.ready.clear()
            self._broken.set()

    async def _supervise(self) -> None:
        while True:
            try:
                await self._open()
                self.connections += 1
                self._broken.clear()
                for callback in self.on_connected:
                    await callback()
            except Exception as exc:  # any connect failure: closed, tried again later
                await self._failed(f"cannot connect: {exc}")
                continue
            self.backoff.reset()
            self.ready.set()
            log.info("%s connected", self.name)
            try:
                await _first(self._watch(), self._broken.wait())
                error = self._lost_error or "connection lost"
            except Exception as exc:  # the loss itself
                error = f"connection lost: {exc!r}"
            self.ready.clear()
            await self._failed(error)

    async def _failed(self, error: str) -> None:
        """Reported at once; then the client closed (which may take a while:
        pending sends given up) and the backoff waited."""
        if self.health is not None:
            self.health.failed(error)
        wait = self.backoff.next_delay()
        attempt = self.backoff.attempt
        log.warning("%s: %s; attempt %d, reconnecting in %.1fs", self.name, error, attempt, wait)
        started = asyncio.get_running_loop().time()
        await self._close_quietly()
        await asyncio.sleep(max(0.0, wait - (asyncio.get_running_loop().time() - started)))

    async def _close_quietly(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.close_within):
                await self._close()


async def _first(*waits: Awaitable[Any]) -> None:
    """Wait until the first of `waits` ends (re-raising its error); cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class MqttConnection(Connection):
    """An aiomqtt client (`ingest.mqtt.client_for`). The loss is seen by the client
    itself (its disconnect notice ends the message iterator; keepalive finds a
    silent broker), so no probe is needed."""

    def __init__(
        self,
        name: str,
        settings: MqttSettings,
        client_id: str,
        health: Health | None = None,
    ) -> None:
        s = settings
        backoff = Backoff(s.reconnect_initial.total_seconds(), s.reconnect_max.total_seconds())
        super().__init__(name, backoff, health)
        self.settings = settings
        self.client_id = client_id
        self.client: aiomqtt.Client | None = None

    async def _open(self) -> None:
        from floodwatch.ingest.mqtt import client_for

        client = client_for(self.settings, client_id=self.client_id)
        await client.__aenter__()
        self.client = client

    async def _watch(self) -> None:
        assert self.client is not None
        async for _ in self.client.messages:  # only what `on_connected` left: ignored
            pass

    async def _close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.__aexit__(None, None, None)


class KafkaConnection(Connection):
    """An aiokafka producer; a connection to the bootstrap servers every
    `probe_every` seconds finds a broker that went away while nothing was sent.
    A fresh producer after each loss (an idempotent producer's id means nothing
    to a restarted broker)."""

    def __init__(
        self,
        name: str,
        settings: KafkaSettings,
        backoff: Backoff,
        health: Health | None = None,
        timeout: float = 10.0,
        **options: Any,
    ) -> None:
        super().__init__(name, backoff, health)
        self.settings = settings
        # A message not acknowledged within `timeout` fails and is dropped by the
        # producer itself (aiokafka's request timeout is its batches' lifetime),
        # so the sender may send it again without a stale copy following later;
        # closing waits for that rather than leave a batch behind.
        self.options = {"request_timeout_ms": int(timeout * 1000), **options}
        self.close_within = timeout + CLOSE_WITHIN
        self.producer: AIOKafkaProducer | None = None

    async def _open(self) -> None:
        from aiokafka import AIOKafkaProducer

        from floodwatch.ingest.kafka import client_options

        producer = AIOKafkaProducer(**self.options, **client_options(self.settings))
        self.producer = producer
        await producer.start()

    async def _probe(self) -> None:
        """A TCP connection to a bootstrap server (aiokafka's own requests wait
        on its internal retries; this answers at once)."""
        for server in self.settings.bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                _, writer = await asyncio.open_connection(host, int(port))
            except OSError:
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        raise ConnectionError(f"no Kafka broker reachable at {self.settings.bootstrap}")

    async def _close(self) -> None:
        producer, self.producer = self.producer, None
        if producer is not None:
            await producer.stop()


class InfluxConnection(Connection):
    """An httpx client for an InfluxDB v2 write API; `GET /ping` every
    `probe_every` seconds (an answer other than 2xx counts as lost). A fresh
    client (and its connection pool) after each loss."""

    def __init__(
        self,
        name: str,
        make: Callable[[], httpx.AsyncClient],
        backoff: Backoff,
        health: Health | None = None,
    ) -> None:
        super().__init__(name, backoff, health)
        self.make = make
        self.client: httpx.AsyncClient | None = None

    async def _open(self) -> None:
        self.client = self.make()
        await self._probe()

    async def _probe(self) -> None:
        assert self.client is not None
        response = await self.client.get("/ping")
        response.raise_for_status()

    async def _close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.aclose()
