"""`type: kafka` — the alert topic on service.kafka's cluster (channel: notify/kafka.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from floodwatch.config.base import Problems
from floodwatch.config.destinations.base import DestinationBase


class KafkaDestination(DestinationBase):
    type: Literal["kafka"]
    topic: str | None = Field(None, description="the alert topic (service.kafka's cluster)")
    idempotent: bool = Field(True, description="idempotent producer (the broker must support it)")

    def problems(self) -> Problems:
        yield from super().problems()
        if not self.topic:
            yield ("topic",), "a kafka destination needs a topic"
