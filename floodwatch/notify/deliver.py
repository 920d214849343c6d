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
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from floodwatch.config.models import KafkaSettings, MqttSettings
from floodwatch.config.notify import NotifySettings
from floodwatch.ingest import backoff
from floodwatch.ingest.backoff import Backoff
from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.notify import record
from floodwatch.notify.channel import Channel, Wiring
from floodwatch.notify.health import Health, Trouble
from floodwatch.notify.outcome import Outcome, Sent
from floodwatch.notify.ports import DeliveryStore
from floodwatch.notify.record import Recorder
from floodwatch.notify.sinks import SINKS
from floodwatch.readings import Reading, Rejected, RejectReason
from floodwatch.rules.compile import CompiledConfig

log = logging.getLogger(__name__)


class Deliverer:
    """The workers of every configured destination."""

    def __init__(  # noqa: PLR0913 — the wiring: what some sink types need is optional
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
        self.on_trouble = on_trouble
        self.recorder = Recorder()  # what the recorded destinations (`record: true`) got
        self.health = {
            name: Health(name, dest.failing_after.total_seconds(), on_trouble)
            for name, dest in settings.destinations.items()
        }
        # Called with (destination, seconds from stored to confirmed) of each delivery.
        self.on_delivered: Callable[[str, float], None] | None = None
        self.channels: dict[str, Channel] = {
            name: self._channel(
                Wiring(
                    name,
                    dest,
                    settings,
                    store,
                    self.client,
                    self.health[name],
                    self._backoff,
                    kafka=kafka,
                    mqtt=mqtt,
                    compiled=compiled,
                    config_dir=config_dir,
                )
            )
            for name, dest in settings.destinations.items()
        }
        self.wakeups = {name: asyncio.Event() for name in self.channels}
        self.delivered = dict.fromkeys(self.channels, 0)
        self.failed = dict.fromkeys(self.channels, 0)
        for name, channel in self.channels.items():
            if channel.connection is not None:
                channel.connection.on_connected.append(functools.partial(self._connected, name))

    def _channel(self, wiring: Wiring[Any]) -> Channel:
        """The destination's channel from the registry; a recorded one
        (`record: true`) keeps what it would send (`notify/record.py`)."""
        if wiring.dest.record:
            return record.channel(wiring, self.recorder)
        return SINKS[wiring.dest.type].channel(wiring)

    def _backoff(self) -> Backoff:
        """Reconnects of a connection: 1 s, 2 s … `retry_max`."""
        return Backoff(1.0, self.settings.retry_max.total_seconds(), self.rng)

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
        for channel in self.channels.values():
            channel.reconfigure(compiled)

    def readings(self, readings: list[Reading]) -> None:
        """A stored step's readings, for the destinations that keep readings."""
        for channel in self.channels.values():
            channel.readings(readings)

    def wake(self) -> None:
        """New rows may be due (called after each stored step)."""
        for event in self.wakeups.values():
            event.set()

    async def run(self) -> None:
        """Start every channel, then run each destination's worker and each
        channel's own background work until cancelled; close them all."""
        try:
            for channel in self.channels.values():
                await channel.start()
            async with asyncio.TaskGroup() as group:
                for name, channel in self.channels.items():
                    group.create_task(self._worker(name), name=f"deliver:{name}")
                    group.create_task(channel.run(), name=f"channel:{name}")
        finally:
            await self.client.aclose()
            for channel in self.channels.values():
                await channel.aclose()

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
        connection = channel.connection
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
