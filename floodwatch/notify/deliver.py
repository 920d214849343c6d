"""Delivery workers: one per destination, draining the durable outbox.

Each destination has its own task, so a gateway that hangs or fails delays only
its own deliveries. A worker takes the due rows of its destination from the
outbox, sends each with a per-attempt timeout and its idempotency key, and
records the outcome:

- success (2xx) → `done`;
- a timeout, a connection error, a 5xx or a 429 → tried again after an
  exponential, jittered wait (1 s, 2 s, 4 s … capped at `retry_max`, 30 s by
  default), or after the destination's `Retry-After` when it gives one;
- any other 4xx → `dead` at once (sending it again would fail the same way),
  with a record in the dead-letter.

The outbox rows are written with the alert transition, in one transaction, so
a crash loses no delivery; a restart sends again only what was not confirmed,
under the same key (`Idempotency-Key` header), so a gateway that honours it
never delivers twice.

Destinations that hold a connection (village broadcast, Kafka, InfluxDB) run
under the supervised connection contract (`notify/connection.py`): their
worker waits while the connection is down (no attempt is spent on a dead
client), and sends its rows strictly in the order they were made
(`Store.due_in_order`): a row waiting for its retry holds back every later
one, and after a reconnect the whole backlog is due at once, oldest first —
none skipped, none sent twice, and an all-clear never overtaken by the warning
it clears.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

import httpx

from floodwatch.config.models import KafkaSettings, MqttSettings
from floodwatch.config.notify import Destination, NotifySettings
from floodwatch.ingest import backoff
from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.notify import record
from floodwatch.notify.connection import Connection, KafkaConnection
from floodwatch.notify.health import Health, Trouble
from floodwatch.notify.outcome import Outcome, Sent, classify_http, http_failure
from floodwatch.notify.ports import DeliveryStore
from floodwatch.notify.record import Recorder
from floodwatch.notify.records import Delivery
from floodwatch.readings import Reading, Rejected, RejectReason
from floodwatch.rules.compile import CompiledConfig

log = logging.getLogger(__name__)


Send = Callable[[Delivery], Awaitable[Outcome]]


class Channel(Protocol):
    """A destination's way of sending. `deliver` is called by the destination's
    worker with the rows that are due (oldest first), never concurrently with
    itself; it returns what happened to every row it was given (a row may go
    out together with others, e.g. an SMS grouping). It never raises for a
    failed delivery: failures are Outcomes, and the worker retries."""

    async def deliver(self, due: list[Delivery]) -> list[Sent]: ...


class OneByOne:
    """A channel that sends each row on its own. `ordered`: stop at the first
    failure (the rows after it wait their turn). Unordered, a failure worth
    retrying (5xx, no answer) also ends the round: the rest wait for the retry
    with the same error, so a hanging destination costs one timeout before its
    failure is known, not one per waiting row. A refusal (4xx) is about its
    row only: the round goes on."""

    def __init__(self, send: Send, ordered: bool = False) -> None:
        self.send = send
        self.ordered = ordered

    async def deliver(self, due: list[Delivery]) -> list[Sent]:
        out = []
        for n, row in enumerate(due):
            outcome = await self.send(row)
            out.append(Sent([row], outcome))
            if self.ordered and not outcome.ok:
                break
            if outcome.retry:
                later = Outcome(False, retry=True, after=outcome.after, error=outcome.error)
                out.extend(Sent([r], later) for r in due[n + 1 :])
                break
        return out


def webhook(dest: Destination, client: httpx.AsyncClient) -> Send:
    assert dest.url is not None
    url = dest.url
    timeout = dest.timeout.total_seconds()

    async def send(delivery: Delivery) -> Outcome:
        headers = {
            **dest.headers,
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.key,
        }
        try:
            response = await client.post(
                url, content=delivery.event.encode(), headers=headers, timeout=timeout
            )
        except httpx.HTTPError as exc:
            return http_failure(exc, timeout)
        return classify_http(response)

    return send


def kafka_topic(dest: Destination, connection: KafkaConnection) -> Send:
    """The alert JSON to a Kafka topic, keyed by station, with the idempotency key
    as a header (a consumer deduplicates what a crash made us send again)."""
    assert dest.topic is not None
    topic = dest.topic
    timeout = dest.timeout.total_seconds()

    async def send(delivery: Delivery) -> Outcome:
        station = json.loads(delivery.event)["station"]
        producer = connection.producer
        if producer is None or not connection.ready.is_set():
            return Outcome(False, retry=True, error="kafka: not connected")
        try:  # the producer gives up after `timeout` (KafkaConnection); this is a guard
            async with asyncio.timeout(timeout + 2):
                await producer.send_and_wait(
                    topic,
                    delivery.event.encode(),
                    key=str(station).encode(),
                    headers=[("idempotency-key", delivery.key.encode())],
                )
        except TimeoutError:
            error = f"no acknowledgement within {timeout:g}s"
        except Exception as exc:  # any broker error: tried again
            error = f"kafka: {exc!r}"
        else:
            return Outcome(True)
        connection.lost(error)
        return Outcome(False, retry=True, error=error)

    return send


def influx_alerts(influx: Any) -> Send:
    async def send(delivery: Delivery) -> Outcome:
        try:
            await influx.write_alert(delivery.event)
        except Exception as exc:  # server or connection: tried again
            status = getattr(exc, "status", None)
            if isinstance(status, int) and 400 <= status < 500 and status != 429:
                return Outcome(False, retry=False, error=f"influx HTTP {status}: {exc}")
            if not isinstance(status, int):  # no answer at all: the connection
                influx.connection.lost(f"{exc!r}")
            return Outcome(False, retry=True, error=f"influx: {exc!r}")
        return Outcome(True)

    return send


def console(name: str) -> Send:
    async def send(delivery: Delivery) -> Outcome:
        log.info("notify %s: %s", name, delivery.event)
        return Outcome(True)

    return send


class Deliverer:
    """The workers of every configured destination."""

    def __init__(
        self,
        settings: NotifySettings,
        store: DeliveryStore,
        dead_letter: DeadLetter,
        kafka: KafkaSettings | None = None,
        rng: random.Random | None = None,
        compiled: CompiledConfig | None = None,
        mqtt: MqttSettings | None = None,
        config_dir: Path | None = None,
        on_trouble: Trouble | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.dead_letter = dead_letter
        self.kafka = kafka
        self.rng = rng or random.Random()
        self.client = httpx.AsyncClient()
        self.influx: dict[str, Any] = {}
        self.channels: dict[str, Channel] = {}
        self.connections: dict[str, Connection] = {}  # of the destinations holding one
        self.background: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {}
        self.on_trouble = on_trouble
        self.recorder = Recorder()  # what the recorded destinations (`record: true`) got
        self.health = {
            name: Health(name, dest.failing_after.total_seconds(), on_trouble)
            for name, dest in settings.destinations.items()
        }
        # Called with (destination, seconds from stored to confirmed) of each delivery.
        self.on_delivered: Callable[[str, float], None] | None = None
        for name, dest in settings.destinations.items():
            self.channels[name] = self._channel(name, dest, compiled, mqtt, config_dir)
        self.wakeups = {name: asyncio.Event() for name in self.channels}
        self.delivered = dict.fromkeys(self.channels, 0)
        self.failed = dict.fromkeys(self.channels, 0)
        for name, connection in self.connections.items():
            connection.on_connected.append(functools.partial(self._connected, name))

    def _channel(
        self,
        name: str,
        dest: Destination,
        compiled: CompiledConfig | None,
        mqtt: MqttSettings | None,
        config_dir: Path | None,
    ) -> Channel:
        if dest.record:
            via = self.settings.answer.via if self.settings.answer else []
            ch = record.channel(
                name, dest, self.store, self.recorder, compiled, config_dir, self.client, via
            )
            if isinstance(ch, record.RecordingBroadcast):
                self.background[f"broadcast:{name}"] = ch.run
            return ch
        if dest.type == "webhook":
            return OneByOne(webhook(dest, self.client))
        if dest.type == "influx":
            from floodwatch.notify.influx import Influx

            assert compiled is not None
            influx = Influx(name, dest, compiled, self._backoff(), self.health[name])
            self.influx[name] = influx
            self.connections[name] = influx.connection
            self.background[f"readings:{name}"] = influx.run_readings
            return OneByOne(influx_alerts(influx), ordered=True)
        if dest.type == "kafka":
            return OneByOne(self._kafka(name, dest), ordered=True)
        if dest.type == "sms":
            from floodwatch.notify.sms import SmsChannel

            via = self.settings.answer.via if self.settings.answer else []
            return SmsChannel(name, dest, self.store, self.client, config_dir, via)
        if dest.type == "broadcast":
            from floodwatch.notify.broadcast import BroadcastChannel

            assert mqtt is not None and compiled is not None
            channel = BroadcastChannel(
                name, dest, mqtt, self.store.people, compiled, self.health[name]
            )
            self.connections[name] = channel.connection
            self.background[f"broadcast:{name}"] = channel.run
            return channel
        return OneByOne(console(name))

    def _kafka(self, name: str, dest: Destination) -> Send:
        assert self.kafka is not None
        connection = KafkaConnection(
            f"kafka {name}",
            self.kafka,
            self._backoff(),
            self.health[name],
            timeout=dest.timeout.total_seconds(),
            acks="all",
            enable_idempotence=dest.idempotent,
        )
        self.connections[name] = connection
        return kafka_topic(dest, connection)

    def _backoff(self) -> backoff.Backoff:
        """Reconnects of a Kafka or InfluxDB connection: 1 s, 2 s … `retry_max`."""
        return backoff.Backoff(1.0, self.settings.retry_max.total_seconds(), self.rng)

    async def _connected(self, name: str) -> None:
        """A destination's connection is (back) up: its whole backlog is due now,
        oldest first; with nothing waiting it works again."""
        now = time.time()
        self.store.retry_now(name, now)
        if self.store.next_due(name) is None:
            self.health[name].works()
        self.wakeups[name].set()

    def reconfigure(self, compiled: CompiledConfig) -> None:
        """A reloaded config: stations (and their place tags) may have changed."""
        for influx in self.influx.values():
            influx.compiled = compiled
            influx._tags.clear()
        from floodwatch.notify.broadcast import BroadcastChannel

        for channel in self.channels.values():
            if isinstance(channel, BroadcastChannel):
                channel.compiled = compiled

    def readings(self, readings: list[Reading]) -> None:
        """A stored step's readings, for the destinations that keep readings."""
        for influx in self.influx.values():
            influx.add_readings(readings)

    def wake(self) -> None:
        """New rows may be due (called after each stored step)."""
        for event in self.wakeups.values():
            event.set()

    async def run(self) -> None:
        try:
            for connection in self.connections.values():
                await connection.start()
            async with asyncio.TaskGroup() as group:
                for name in self.channels:
                    group.create_task(self._worker(name), name=f"deliver:{name}")
                for name, run in self.background.items():
                    group.create_task(run(), name=name)
        finally:
            await self.client.aclose()
            for connection in self.connections.values():
                await connection.aclose()

    def delay(self, attempts: int, asked: float | None) -> float:
        """Seconds before the next try: Retry-After if given, else the one
        backoff (`floodwatch.ingest.backoff`: 1, 2, 4 … s, jittered, capped at
        `retry_max`) driven by the row's durable attempt count."""
        cap = self.settings.retry_max.total_seconds()
        if asked is not None:
            return min(asked, cap)
        return backoff.delay(attempts, 1.0, cap, self.rng)

    async def _worker(self, name: str) -> None:
        channel, wakeup = self.channels[name], self.wakeups[name]
        connection = self.connections.get(name)
        while True:
            if connection is not None:
                await connection.ready.wait()  # its supervisor reconnects; rows wait
            wakeup.clear()
            if connection is not None:
                due = self.store.due_in_order(name, time.time())
            else:
                due = self.store.due(name, time.time())
            if due:
                try:
                    results = await channel.deliver(due)
                except Exception as exc:  # a bug must not stop this destination for good
                    log.exception("delivery to %s: unexpected failure; tried again later", name)
                    error = f"unexpected: {exc!r}"
                    results = [Sent([row], Outcome(False, retry=True, error=error)) for row in due]
                for sent in results:
                    self._record(name, sent)
            if connection is not None:
                upcoming = self.store.next_in_order(name)
            else:
                upcoming = self.store.next_due(name)
            wait = None if upcoming is None else max(0.0, upcoming - time.time())
            if wait == 0.0:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), timeout=wait)

    def _record(self, name: str, sent: Sent) -> None:
        outcome, keys = sent.outcome, [row.key for row in sent.rows]
        if outcome.held is not None:
            self.store.hold(keys, outcome.held)
            return
        if outcome.ok:
            self.store.delivered(keys, "done")
            self.delivered[name] += len(keys)
            if self.on_delivered is not None:
                now = time.time()
                for row in sent.rows:
                    self.on_delivered(name, now - row.created)
            if self.health[name].works():
                # it works again: what waits for a retry goes now, not at its turn
                self.store.retry_now(name, time.time())
            return
        self.failed[name] += len(keys)
        if outcome.retry:
            attempts = max(row.attempts for row in sent.rows)
            wait = self.delay(attempts, outcome.after)
            self.store.retry_at(keys, time.time() + wait, outcome.error)
            log.warning(
                "delivery to %s failed (%s); attempt %d, next in %.1fs",
                name,
                outcome.error,
                attempts + 1,
                wait,
            )
            self.health[name].failed(outcome.error)
            return
        self.store.delivered(keys, "dead", outcome.error)
        log.error("delivery to %s refused for good: %s (dead-lettered)", name, outcome.error)
        self.dead_letter.write(
            [
                Rejected(
                    RejectReason.DELIVERY,
                    f"{name} refused delivery {row.key}: {outcome.error}",
                    raw=row.event[:200],
                    source=f"notify:{name}",
                )
                for row in sent.rows
            ]
        )
        self.health[name].report(f"refused: {outcome.error}")
