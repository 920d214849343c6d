"""The records notify keeps in the store, owned here so the store implements
notify's needs (`ports.py`) and notify never imports the store.

- `Outgoing`: a delivery to enqueue; `Delivery`: an outbox row read back
  for its destination's worker (the idempotency key, how often it was tried,
  why it is sent, the grouped SMS it is part of).
- `Silence`: a maintenance window holding alerts back from people.
- `Call`: a person called about an alert (call-and-answer, 叫应).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import msgspec

from floodwatch.alerts.event import AlertEvent
from floodwatch.config.rosters import Recipient


@dataclass(frozen=True)
class Delivery:
    key: str  # idempotency key: (alert id, recipient, transition, severity, time, destination)
    destination: str
    event: str  # the alert event JSON
    attempts: int
    recipient: str = ""  # JSON of the person (sms)
    note: str = ""  # why it is sent: '' (a transition), reminder, resend, escalation, refresh
    batch: str | None = None  # sms: the grouped message it is part of
    created: float = 0.0

    @cached_property
    def alert(self) -> AlertEvent:
        """The alert event the row carries, decoded from `event` once (the
        channels read this, never the JSON)."""
        return decode_alert(self.event)

    @property
    def person(self) -> Recipient:
        """The person an sms row goes to (its `recipient`)."""
        return Recipient(**msgspec.json.decode(self.recipient))


def decode_alert(body: str | bytes) -> AlertEvent:
    """An alert event from its stored JSON (an outbox row, the broadcast state)."""
    return AlertEvent.from_json(msgspec.json.decode(body))


@dataclass(frozen=True)
class Outgoing:
    """A delivery to enqueue."""

    key: str
    destination: str
    event: AlertEvent
    recipient: str = ""
    note: str = ""
    after: float = 0.0  # seconds to hold it (sms grouping)


@dataclass(frozen=True)
class Silence:
    """Alerts matching every given field are recorded and shown but not sent."""

    id: str
    starts: float
    ends: float
    author: str
    reason: str
    stations: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    villages: list[str] = field(default_factory=list)
    towns: list[str] = field(default_factory=list)

    def covers(self, rule: str, station: str, villages: list[str], town: str | None) -> bool:
        if self.stations and station not in self.stations:
            return False
        if self.rules and rule not in self.rules:
            return False
        if self.villages and not set(villages) & set(self.villages):
            return False
        return not (self.towns and town not in self.towns)

    def active(self, now: float) -> bool:
        return self.starts <= now < self.ends

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "starts": self.starts,
            "ends": self.ends,
            "author": self.author,
            "reason": self.reason,
            "stations": self.stations,
            "rules": self.rules,
            "villages": self.villages,
            "towns": self.towns,
        }


@dataclass(frozen=True)
class Call:
    alert: str
    recipient: Recipient
    tier: int
    called_at: float
    answered_at: float | None
