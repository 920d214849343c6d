"""The dead-letter's records published to topics (`Publisher`).

The durable record is the JSON Lines file (`floodwatch.ingest.deadletter`,
fsynced before the messages that carried them are acknowledged). When
configured, each record is also published to an
MQTT topic (QoS 1) and/or produced to a Kafka topic (keyed by the record's
`source`, so the records of one source stay in order), for a live view of bad
input elsewhere. Publishing runs apart from the engine: a slow or absent
broker never holds up readings.

Each topic has its own supervised connection (`notify/connection.py`: loss
found while idle, reconnect with the one backoff, "failing since" raised as
the `floodwatch/delivery` operations alert for `dead-letter:mqtt` or
`dead-letter:kafka` after `failing_after`) and its own backlog in memory: a
record leaves it only once that topic's broker confirmed it, so after a
reconnect the backlog goes out in order, none skipped and none published
twice to the topic that already had it. Beyond `BACKLOG` records waiting, the
oldest are only in the file (counted in `DeadLetter.unpublished`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import msgspec

from floodwatch.config.models import DeadLetterSettings, KafkaSettings, MqttSettings
from floodwatch.ingest.backoff import Backoff
from floodwatch.ingest.deadletter import Backlog, DeadLetter
from floodwatch.notify.connection import Connection, KafkaConnection, MqttConnection
from floodwatch.notify.health import Health, Trouble

log = logging.getLogger(__name__)


class _Source(msgspec.Struct):
    source: str = ""


_source = msgspec.json.Decoder(_Source)
_Send = Callable[[bytes], Awaitable[None]]


def _works_when_idle(connection: Connection, backlog: Backlog) -> Callable[[], Awaitable[None]]:
    async def connected() -> None:
        if not backlog.records and connection.health is not None:
            connection.health.works()  # back, with nothing waiting

    return connected


class Publisher:
    """Publishes the dead-letter's records to the configured topics."""

    def __init__(
        self,
        dead_letter: DeadLetter,
        settings: DeadLetterSettings,
        mqtt: MqttSettings | None,
        kafka: KafkaSettings | None,
        on_trouble: Trouble | None = None,
    ) -> None:
        self.dead_letter = dead_letter
        self.settings = settings
        self.mqtt = mqtt if settings.mqtt_topic else None
        self.kafka = kafka if settings.kafka_topic else None
        self.on_trouble = on_trouble
        self.published = 0
        self.topics: list[tuple[Connection, _Send, Backlog]] = []
        failing_after = settings.failing_after.total_seconds()
        if self.mqtt is not None and settings.mqtt_topic is not None:
            self.topics.append(self._mqtt(self.mqtt, settings.mqtt_topic, failing_after))
        if self.kafka is not None and settings.kafka_topic is not None:
            self.topics.append(self._kafka(self.kafka, settings.kafka_topic, failing_after))
        dead_letter.backlogs = [backlog for _, _, backlog in self.topics]
        for connection, _, backlog in self.topics:
            connection.on_connected.append(_works_when_idle(connection, backlog))

    @property
    def enabled(self) -> bool:
        return bool(self.topics)

    def healths(self) -> dict[str, Health]:
        """Each topic's health, by name (`dead-letter:mqtt`, `dead-letter:kafka`)."""
        return {c.name: c.health for c, _, _ in self.topics if c.health is not None}

    def _health(self, name: str, failing_after: float) -> Health:
        def report(subject: str, since: float | None, error: str) -> None:
            if self.on_trouble is not None:  # set by the service after construction
                self.on_trouble(subject, since, error)

        return Health(name, failing_after, report)

    def _mqtt(
        self, mqtt: MqttSettings, topic: str, failing_after: float
    ) -> tuple[Connection, _Send, Backlog]:
        name = "dead-letter:mqtt"
        connection = MqttConnection(
            name, mqtt, f"{mqtt.client_id}-dead-letter", self._health(name, failing_after)
        )

        async def send(record: bytes) -> None:
            if connection.client is None:
                raise ConnectionError("not connected")
            await connection.client.publish(topic, record, qos=1, timeout=10)

        return connection, send, Backlog()

    def _kafka(
        self, kafka: KafkaSettings, topic: str, failing_after: float
    ) -> tuple[Connection, _Send, Backlog]:
        name = "dead-letter:kafka"
        backoff = Backoff(1.0, 5.0)
        health = self._health(name, failing_after)
        connection = KafkaConnection(name, kafka, backoff, health, timeout=10.0, acks="all")

        async def send(record: bytes) -> None:
            if connection.producer is None:
                raise ConnectionError("not connected")
            key = _source.decode(record).source.encode()  # one partition per source: in order
            async with asyncio.timeout(12):  # a guard: the producer gives up after 10 s
                await connection.producer.send_and_wait(topic, record, key=key)

        return connection, send, Backlog()

    async def run(self) -> None:
        """Until cancelled: each topic's backlog published in order."""
        try:
            async with asyncio.TaskGroup() as group:
                for connection, send, backlog in self.topics:
                    await connection.start()
                    group.create_task(self._drain(connection, send, backlog), name=connection.name)
        finally:
            for connection, _, _ in self.topics:
                await connection.aclose()

    async def _drain(self, connection: Connection, send: _Send, backlog: Backlog) -> None:
        assert connection.health is not None
        while True:
            await backlog.waiting.wait()
            await connection.ready.wait()
            backlog.waiting.clear()
            while backlog.records and connection.ready.is_set():
                record = backlog.records[0]
                try:
                    await send(record)
                except Exception as exc:  # any broker failure: reconnect, then again
                    error = f"{exc!r}"
                    connection.health.failed(error)
                    connection.lost(error)
                    backlog.waiting.set()
                    break
                if backlog.records and backlog.records[0] is record:  # not pushed out meanwhile
                    backlog.records.popleft()
                self.published += 1
                connection.health.works()
            if backlog.records:  # the loss seen between two sends: the rest after reconnect
                backlog.waiting.set()
