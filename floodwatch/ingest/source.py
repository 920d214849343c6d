"""What every source hands the service: raw messages, each with how to confirm it."""

from __future__ import annotations

import random
import time
from collections import deque
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
    """Exponential backoff with jitter, capped, and at most `per_minute` attempts in
    any minute (so a broker that is down for long is not hammered, while one that
    returns is found again within `cap` seconds)."""

    def __init__(
        self,
        initial: float,
        cap: float,
        per_minute: int = 12,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial = initial
        self.cap = cap
        self.per_minute = per_minute
        self.attempt = 0
        self.rng = rng or random.Random()
        self.clock = clock
        self.history: deque[float] = deque(maxlen=per_minute)

    def reset(self) -> None:
        self.attempt = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt (one attempt just failed)."""
        now = self.clock()
        self.history.append(now)
        ceiling = min(self.cap, self.initial * 2**self.attempt)
        self.attempt += 1
        delay = ceiling * self.rng.uniform(0.75, 1.0)
        if len(self.history) == self.per_minute:
            delay = max(delay, self.history[0] + 60.0 - now)
        return float(delay)
