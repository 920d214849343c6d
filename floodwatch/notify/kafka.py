"""Kafka alert topic: the alert JSON, keyed by station, with the idempotency
key as a header (a consumer deduplicates what a crash made us send again).

The producer is a supervised `KafkaConnection` (acks=all, idempotent unless
the destination says not); rows go out in the order they were made."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field

from floodwatch.config.base import Problems
from floodwatch.config.destinations import DestinationBase
from floodwatch.notify.channel import Channel, OneByOne, Sink, Wiring
from floodwatch.notify.connection import KafkaConnection
from floodwatch.notify.outcome import Outcome
from floodwatch.notify.records import Delivery


class KafkaDestination(DestinationBase):
    type: Literal["kafka"]
    topic: str | None = Field(None, description="the alert topic (service.kafka's cluster)")
    idempotent: bool = Field(True, description="idempotent producer (the broker must support it)")

    def problems(self) -> Problems:
        yield from super().problems()
        if not self.topic:
            yield ("topic",), "a kafka destination needs a topic"


def channel(wiring: Wiring[KafkaDestination]) -> Channel:
    dest = wiring.dest
    assert wiring.kafka is not None  # the config requires service.kafka for it
    assert dest.topic is not None
    topic = dest.topic
    timeout = dest.timeout.total_seconds()
    connection = KafkaConnection(
        f"kafka {wiring.name}",
        wiring.kafka,
        wiring.backoff(),
        wiring.health,
        timeout=timeout,
        acks="all",
        enable_idempotence=dest.idempotent,
    )

    async def send(delivery: Delivery) -> Outcome:
        station = delivery.alert.station
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

    return OneByOne(send, ordered=True, connection=connection)


SINK = Sink(KafkaDestination, channel)
