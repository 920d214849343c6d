"""MQTT readings into Kafka, keyed by station: `floodwatch bridge`.

For fleets larger than one process: gateways and gauges keep publishing over
MQTT, one bridge (or several, with an MQTT 5 shared subscription) forwards
each reading into the Kafka topic as a canonical JSON reading keyed by its
station's partition key, and any number of `floodwatch run` instances in one
consumer group share the partitions. `floodwatch run` with both an `mqtt:` and
a `kafka:` section bridges in-process the same way, so every reading reaches
the engine through Kafka.

A message is acknowledged to the MQTT broker only after Kafka has acknowledged
every reading in it (acks=all); a crash in between makes the broker resend it,
and the engine drops the exact duplicate. If Kafka refuses a message after the
producer's own retries, the bridge stops with an error (exit 1) rather than
leave it unacknowledged: restarted, its persistent session gets it again.
Payloads that do not decode go to the dead-letter with their reason, as in the
service.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from aiokafka import AIOKafkaProducer

from floodwatch.config.models import KafkaSettings
from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.ingest.decode import Decoders
from floodwatch.ingest.kafka import client_options
from floodwatch.ingest.source import Incoming
from floodwatch.readings import Reading

log = logging.getLogger(__name__)

_encode = msgspec.json.Encoder()


def encode(reading: Reading) -> bytes:
    """The Kafka message of a bridged reading: canonical JSON, which the service
    decodes back to the very same reading (time to the microsecond)."""
    return _encode.encode(reading.to_json())


class Bridge:
    def __init__(
        self,
        settings: KafkaSettings,
        keys: dict[str, str],
        decoders: Decoders,
        dead_letter: DeadLetter,
        stopping: asyncio.Event,
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.decoders = decoders
        self.dead_letter = dead_letter
        self.stopping = stopping  # set when Kafka refuses a message
        self.failure: Exception | None = None
        self.producer: AIOKafkaProducer | None = None
        self.forwarded = 0
        self.rejected = 0
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.producer = AIOKafkaProducer(acks="all", linger_ms=5, **client_options(self.settings))
        await self.producer.start()

    async def put(self, item: Incoming) -> None:
        """Forward one MQTT message's readings; acknowledge it once Kafka has them.

        Sends are issued in arrival order (Kafka keeps a partition's order); the
        wait for Kafka's acknowledgement runs apart, so the next message is not
        held up by this one's round trip."""
        assert self.producer is not None
        got, bad = self.decoders.decode_incoming(item)
        if bad:
            self.rejected += len(bad)
            self.dead_letter.write(bad)
        sends = []
        for r in got:
            key = self.keys.get(r.station, r.station).encode()
            sends.append(await self.producer.send(self.settings.topic, encode(r), key=key))
        task = asyncio.create_task(self._confirm(item, sends, len(got)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _confirm(self, item: Incoming, sends: list[Any], count: int) -> None:
        try:
            await asyncio.gather(*sends)
        except Exception as exc:
            log.error("kafka did not take a message from %s: %s; stopping", item.topic, exc)
            self.failure = exc
            self.stopping.set()
            return
        self.forwarded += count
        if item.confirm is not None:
            item.confirm()

    async def stop(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None
