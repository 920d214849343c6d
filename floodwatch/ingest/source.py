"""What every source hands the service: raw messages, each with how to confirm it."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(eq=False)
class Incoming:
    """One message as received. The service decodes it, processes it, stores what
    it caused, and only then calls `confirm` (MQTT acknowledgement)."""

    payload: bytes
    topic: str  # MQTT topic, or Kafka "topic/partition"
    fmt: str  # decoder format name
    source: str  # "mqtt" or "kafka"
    fields: dict[str, str] = field(default_factory=dict)  # read from the topic
    confirm: Callable[[], None] | None = None
    partition: int = -1  # Kafka only
    offset: int = -1
    latest: int = -(2**62)  # latest event time among its readings (set when decoded)

    @property
    def origin(self) -> str:
        if self.source == "kafka":
            return f"kafka:{self.topic}/{self.partition}@{self.offset}"
        return f"{self.source}:{self.topic}"


class Backoff:
    """Exponential backoff with full jitter, capped."""

    def __init__(self, initial: float, cap: float, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.cap = cap
        self.attempt = 0
        self.rng = rng or random.Random()

    def reset(self) -> None:
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.initial * 2**self.attempt)
        self.attempt += 1
        return float(ceiling / 2 + self.rng.uniform(0, ceiling / 2))
