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
"""

from __future__ import annotations

import asyncio
import contextlib
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
from floodwatch.notify.outcome import Outcome, Sent, classify_http, http_failure
from floodwatch.readings import Reading, Rejected, RejectReason
from floodwatch.rules.compile import CompiledConfig
from floodwatch.service.deadletter import DeadLetter
from floodwatch.store import Delivery, Store

# Called with (destination, failing since, error) when a destination has been
# failing for longer than its `failing_after`, or refused a delivery; and with
# (destination, None, "") when it works again.
Trouble = Callable[[str, float | None, str], None]

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
    """A channel that sends each row on its own."""

    def __init__(self, send: Send) -> None:
        self.send = send

    async def deliver(self, due: list[Delivery]) -> list[Sent]:
        return [Sent([row], await self.send(row)) for row in due]


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


def kafka_topic(dest: Destination, producer: Any) -> Send:
    """The alert JSON to a Kafka topic, keyed by station, with the idempotency key
    as a header (a consumer deduplicates what a crash made us send again)."""
    assert dest.topic is not None
    topic = dest.topic
    timeout = dest.timeout.total_seconds()

    async def send(delivery: Delivery) -> Outcome:
        station = json.loads(delivery.event)["station"]
        try:
            async with asyncio.timeout(timeout):
                await producer.send_and_wait(
                    topic,
                    delivery.event.encode(),
                    key=str(station).encode(),
                    headers=[("idempotency-key", delivery.key.encode())],
                )
        except TimeoutError:
            return Outcome(False, retry=True, error=f"no acknowledgement within {timeout:g}s")
        except Exception as exc:  # any broker error: tried again
            return Outcome(False, retry=True, error=f"kafka: {exc!r}")
        return Outcome(True)

    return send


def influx_alerts(influx: Any) -> Send:
    async def send(delivery: Delivery) -> Outcome:
        try:
            await influx.write_alert(delivery.event)
        except Exception as exc:  # server or connection: tried again
            status = getattr(exc, "status", None)
            if isinstance(status, int) and 400 <= status < 500 and status != 429:
                return Outcome(False, retry=False, error=f"influx HTTP {status}: {exc}")
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
        store: Store,
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
        self.producers: dict[str, Any] = {}
        self.influx: dict[str, Any] = {}
        self.channels: dict[str, Channel] = {}
        self.background: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {}
        self.on_trouble = on_trouble
        # Called with (destination, seconds from stored to confirmed) of each delivery.
        self.on_delivered: Callable[[str, float], None] | None = None
        for name, dest in settings.destinations.items():
            self.channels[name] = self._channel(name, dest, compiled, mqtt, config_dir)
        self.wakeups = {name: asyncio.Event() for name in self.channels}
        self.delivered = dict.fromkeys(self.channels, 0)
        self.failed = dict.fromkeys(self.channels, 0)
        self.failing_since: dict[str, float] = {}
        self.reported: set[str] = set()  # destinations with an open operations alert

    def _channel(
        self,
        name: str,
        dest: Destination,
        compiled: CompiledConfig | None,
        mqtt: MqttSettings | None,
        config_dir: Path | None,
    ) -> Channel:
        if dest.type == "webhook":
            return OneByOne(webhook(dest, self.client))
        if dest.type == "influx":
            from floodwatch.notify.influx import Influx

            assert compiled is not None
            self.influx[name] = Influx(dest, compiled)
            self.background[f"readings:{name}"] = self.influx[name].run_readings
            return OneByOne(influx_alerts(self.influx[name]))
        if dest.type == "kafka":
            return OneByOne(self._kafka(name, dest))
        if dest.type == "sms":
            from floodwatch.notify.sms import SmsChannel

            via = self.settings.answer.via if self.settings.answer else []
            return SmsChannel(name, dest, self.store, self.client, config_dir, via)
        if dest.type == "broadcast":
            from floodwatch.notify.broadcast import BroadcastChannel

            assert mqtt is not None and compiled is not None
            channel = BroadcastChannel(name, dest, mqtt, self.store.people, compiled)
            self.background[f"broadcast:{name}"] = channel.run
            return channel
        return OneByOne(console(name))

    def _kafka(self, name: str, dest: Destination) -> Send:
        from aiokafka import AIOKafkaProducer

        from floodwatch.ingest.kafka import client_options

        assert self.kafka is not None
        producer = AIOKafkaProducer(
            acks="all", enable_idempotence=dest.idempotent, **client_options(self.kafka)
        )
        self.producers[name] = producer
        return kafka_topic(dest, producer)

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
            for producer in self.producers.values():
                await producer.start()
            async with asyncio.TaskGroup() as group:
                for name in self.channels:
                    group.create_task(self._worker(name), name=f"deliver:{name}")
                for name, run in self.background.items():
                    group.create_task(run(), name=name)
        finally:
            await self.client.aclose()
            for influx in self.influx.values():
                await influx.close()
            for producer in self.producers.values():
                await producer.stop()

    def delay(self, attempts: int, asked: float | None) -> float:
        """Seconds before the next try: Retry-After if given, else 1, 2, 4 … s
        with full jitter in the upper half, capped at `retry_max`."""
        cap = self.settings.retry_max.total_seconds()
        if asked is not None:
            return min(asked, cap)
        ceiling = min(cap, 2.0 ** min(attempts, 16))
        return ceiling * self.rng.uniform(0.5, 1.0)

    async def _worker(self, name: str) -> None:
        channel, wakeup = self.channels[name], self.wakeups[name]
        while True:
            wakeup.clear()
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
            if self.failing_since.pop(name, None) is not None:
                # it works again: what waits for a retry goes now, not at its turn
                self.store.retry_now(name, time.time())
            if name in self.reported:
                self.reported.discard(name)
                log.info("destination %s works again", name)
                if self.on_trouble is not None:
                    self.on_trouble(name, None, "")
            return
        self.failed[name] += len(keys)
        self.failing_since.setdefault(name, time.time())
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
            self._check_failing(name, outcome.error)
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
        self._report(name, f"refused: {outcome.error}")

    def _check_failing(self, name: str, error: str) -> None:
        """Checked after each failed attempt (at most `retry_max` apart)."""
        since = self.failing_since.get(name)
        failing_after = self.settings.destinations[name].failing_after.total_seconds()
        if since is not None and time.time() - since >= failing_after:
            self._report(name, error)

    def _report(self, name: str, error: str) -> None:
        if name in self.reported:
            return
        self.reported.add(name)
        since = self.failing_since.get(name, time.time())
        log.error("destination %s failing since %s: %s", name, time.ctime(since), error)
        if self.on_trouble is not None:
            self.on_trouble(name, since, error)
