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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from floodwatch.config.models import Destination, KafkaSettings, NotifySettings
from floodwatch.readings import Reading, Rejected, RejectReason
from floodwatch.rules.compile import CompiledConfig
from floodwatch.service.deadletter import DeadLetter
from floodwatch.service.store import Delivery, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retry: bool = False
    after: float | None = None  # seconds the destination asked us to wait
    error: str = ""


Send = Callable[[Delivery], Awaitable[Outcome]]


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
        except httpx.TimeoutException:
            return Outcome(False, retry=True, error=f"no answer within {timeout:g}s")
        except httpx.TransportError as exc:
            return Outcome(False, retry=True, error=f"connection: {exc!r}")
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(True)
        error = f"HTTP {status}: {response.text[:200]}"
        if status >= 500 or status == 429:
            return Outcome(False, retry=True, after=_retry_after(response), error=error)
        return Outcome(False, retry=False, error=error)

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


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


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
    ) -> None:
        self.settings = settings
        self.store = store
        self.dead_letter = dead_letter
        self.kafka = kafka
        self.rng = rng or random.Random()
        self.client = httpx.AsyncClient()
        self.producers: dict[str, Any] = {}
        self.influx: dict[str, Any] = {}
        self.sends: dict[str, Send] = {}
        for name, dest in settings.destinations.items():
            if dest.type == "webhook":
                self.sends[name] = webhook(dest, self.client)
            elif dest.type == "influx":
                from floodwatch.notify.influx import Influx

                assert compiled is not None
                self.influx[name] = Influx(dest, compiled)
                self.sends[name] = influx_alerts(self.influx[name])
            elif dest.type == "kafka":
                self.sends[name] = self._kafka(name, dest)
            else:
                self.sends[name] = console(name)
        self.wakeups = {name: asyncio.Event() for name in self.sends}
        self.delivered = dict.fromkeys(self.sends, 0)
        self.failed = dict.fromkeys(self.sends, 0)

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
                for name in self.sends:
                    group.create_task(self._worker(name), name=f"deliver:{name}")
                for name, influx in self.influx.items():
                    group.create_task(influx.run_readings(), name=f"readings:{name}")
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
        send, wakeup = self.sends[name], self.wakeups[name]
        while True:
            wakeup.clear()
            for delivery in self.store.due(name, time.time()):
                outcome = await send(delivery)
                self._record(name, delivery, outcome)
            upcoming = self.store.next_due(name)
            wait = None if upcoming is None else max(0.0, upcoming - time.time())
            if wait == 0.0:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), timeout=wait)

    def _record(self, name: str, delivery: Delivery, outcome: Outcome) -> None:
        if outcome.ok:
            self.store.delivered(delivery.key, "done")
            self.delivered[name] += 1
            return
        self.failed[name] += 1
        if outcome.retry:
            wait = self.delay(delivery.attempts, outcome.after)
            self.store.retry_at(delivery.key, time.time() + wait, outcome.error)
            log.warning(
                "delivery to %s failed (%s); attempt %d, next in %.1fs",
                name,
                outcome.error,
                delivery.attempts + 1,
                wait,
            )
            return
        self.store.delivered(delivery.key, "dead", outcome.error)
        log.error("delivery to %s refused for good: %s (dead-lettered)", name, outcome.error)
        self.dead_letter.write(
            [
                Rejected(
                    RejectReason.DELIVERY,
                    f"{name} refused delivery {delivery.key}: {outcome.error}",
                    raw=delivery.event[:200],
                    source=f"notify:{name}",
                )
            ]
        )
