"""The dead-letter: every message or reading set aside, with its reason.

Always a JSON Lines file, appended and fsynced before the messages that carried
them are acknowledged: `{"at", "reason", "detail", "source", "raw" | "reading"}`
— the durable record. When configured, each record is also published to an
MQTT topic (QoS 1) and/or produced to a Kafka topic, for a live view of bad
input elsewhere. Publishing runs apart from the engine: a slow or absent
broker never holds up readings; records it could not take stay in the file
and are counted (`published`, `unpublished`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import msgspec

from floodwatch.config.models import DeadLetterSettings, KafkaSettings, MqttSettings
from floodwatch.readings import Rejected

log = logging.getLogger(__name__)

_encode = msgspec.json.Encoder()
_Send = Callable[[bytes], Awaitable[None]]
BACKLOG = 10_000  # records waiting for the topics; beyond, the oldest are only in the file


class DeadLetter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self.count = 0
        self.outbox: deque[bytes] | None = None  # set when topics are configured
        self.waiting = asyncio.Event()
        self.unpublished = 0

    def write(self, rejected: Iterable[Rejected]) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 - kept open, closed in close()
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines = []
        for r in rejected:
            lines.append(_encode.encode({"at": at, **r.to_json()}))
            self.count += 1
        self._file.write(b"\n".join(lines) + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        if self.outbox is not None:
            overflow = len(self.outbox) + len(lines) - BACKLOG
            if overflow > 0:
                self.unpublished += overflow
            self.outbox.extend(lines)
            self.waiting.set()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Publisher:
    """Publishes the dead-letter's records to the configured topics."""

    def __init__(
        self,
        dead_letter: DeadLetter,
        settings: DeadLetterSettings,
        mqtt: MqttSettings | None,
        kafka: KafkaSettings | None,
    ) -> None:
        self.dead_letter = dead_letter
        self.settings = settings
        self.mqtt = mqtt if settings.mqtt_topic else None
        self.kafka = kafka if settings.kafka_topic else None
        self.published = 0
        if self.enabled:
            dead_letter.outbox = deque(maxlen=BACKLOG)

    @property
    def enabled(self) -> bool:
        return self.mqtt is not None or self.kafka is not None

    async def run(self) -> None:
        """Until cancelled; reconnects (every 5 s) when a broker goes away."""
        while True:
            try:
                async with contextlib.AsyncExitStack() as stack:
                    send = await self._connect(stack)
                    while True:
                        await self.dead_letter.waiting.wait()
                        self.dead_letter.waiting.clear()
                        outbox = self.dead_letter.outbox
                        assert outbox is not None
                        while outbox:
                            record = outbox[0]
                            await send(record)
                            outbox.popleft()
                            self.published += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any broker failure: retry later
                log.warning("dead-letter topics unavailable (%s); retrying in 5 s", exc)
                await asyncio.sleep(5)

    async def _connect(self, stack: contextlib.AsyncExitStack) -> _Send:
        senders: list[_Send] = []
        if self.mqtt is not None:
            from floodwatch.ingest.mqtt import client_for

            client = client_for(self.mqtt, client_id=f"{self.mqtt.client_id}-dead-letter")
            await stack.enter_async_context(client)
            topic = self.settings.mqtt_topic
            assert topic is not None

            async def to_mqtt(record: bytes) -> None:
                await client.publish(topic, record, qos=1)

            senders.append(to_mqtt)
        if self.kafka is not None:
            from aiokafka import AIOKafkaProducer

            from floodwatch.ingest.kafka import client_options

            producer = AIOKafkaProducer(acks="all", **client_options(self.kafka))
            await producer.start()
            stack.push_async_callback(producer.stop)
            kafka_topic = self.settings.kafka_topic
            assert kafka_topic is not None

            async def to_kafka(record: bytes) -> None:
                await producer.send_and_wait(kafka_topic, record)

            senders.append(to_kafka)

        async def send(record: bytes) -> None:
            for sender in senders:
                await sender(record)

        return send
