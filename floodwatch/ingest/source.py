"""What every source hands the service: raw messages, each with how to confirm it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from floodwatch.config.topics import UNMATCHED
from floodwatch.ingest.backoff import Backoff
from floodwatch.readings import Rejected, RejectReason

__all__ = ["Backoff", "Incoming"]


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
    offset: int = -1  # Kafka: of the message, or of the batch's first message
    batch: list[tuple[int, bytes]] | None = None  # Kafka: (offset, payload) fetched together
    decoder: str = ""  # replayed from the inbox: the id of the decoder it was first decoded with
    decoded: tuple[int, int] | None = None  # set by the service: (readings, rejected) decoded
    # Called inside the transaction that stores the message's readings, before
    # its commit (not on an inbox replay): the source records its own state
    # with them (SL 651: reports stored, rain counters).
    stored: Callable[[], None] | None = None

    @property
    def origin(self) -> str:
        if self.source == "kafka":
            return f"kafka:{self.topic}/{self.partition}@{self.offset}"
        return f"{self.source}:{self.topic}"

    @property
    def last_offset(self) -> int:
        """Kafka: the offset of the message, or of the batch's last one."""
        return self.batch[-1][0] if self.batch else self.offset

    def unmatched(self) -> Rejected | None:
        """Why the message cannot be decoded at all (its topic matched no pattern)."""
        if UNMATCHED not in self.fields:
            return None
        return Rejected(
            RejectReason.BAD_TOPIC,
            f"topic {self.topic!r} matches no configured pattern",
            raw=self.payload[:200].decode("utf-8", "replace"),
            source=self.origin,
        )
