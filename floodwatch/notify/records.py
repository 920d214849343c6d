"""The records notify keeps in the store, owned here so the store implements
notify's needs (`ports.py`) and notify never imports the store.

- `Outgoing`: a delivery to enqueue; `Delivery`: an outbox row read back
  for its destination's worker (the idempotency key, how often it was tried,
  why it is sent, the grouped SMS it is part of).
- `Silence`: a maintenance window holding alerts back from people.
- `Call`: a person called about an alert (call-and-answer, 叫应).
- `Recipient`: who a delivery goes to — a `Person` (sms) or a `Village`
  (broadcast); `None` for a machine destination. Typed here; the store alone
  turns it into its column text and back (`floodwatch/store/recipients.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import msgspec

from floodwatch.alerts.event import AlertEvent
from floodwatch.config import rosters

Person = rosters.Recipient
"""A person reached by a role (`station.patrol`…) or by name: id, name, phone, role."""


@dataclass(frozen=True)
class Village:
    """A village a broadcast goes to, by its administrative code (its name is
    the configuration's, looked up by the broadcast channel)."""

    code: str


Recipient = Person | Village
"""Who a delivery goes to: a person (sms, reached by a role) or a village (broadcast)."""


def recipient_id(recipient: Recipient | None) -> str:
    """The person id or village code ('' for none): what the idempotency key names."""
    if isinstance(recipient, Person):
        return recipient.person
    if isinstance(recipient, Village):
        return recipient.code
    return ""


@dataclass(frozen=True)
class Delivery:
    key: str  # idempotency key: (alert id, recipient, transition, severity, time, destination)
    destination: str
    event: str  # the alert event JSON
    attempts: int
    recipient: Recipient | None = None  # a person (sms), a village (broadcast)
    note: str = ""  # why it is sent: '' (a transition), reminder, resend, escalation, refresh
    batch: str | None = None  # sms: the grouped message it is part of
    created: float = 0.0

    @cached_property
    def alert(self) -> AlertEvent:
        """The alert event the row carries, decoded from `event` once (the
        channels read this, never the JSON)."""
        return decode_alert(self.event)

    @property
    def person(self) -> Person:
        """The person an sms row goes to (its `recipient`)."""
        if not isinstance(self.recipient, Person):
            raise ValueError(f"outbox row {self.key}: not to a person ({self.recipient!r})")
        return self.recipient

    @property
    def village(self) -> Village:
        """The village a broadcast row goes to (its `recipient`)."""
        if not isinstance(self.recipient, Village):
            raise ValueError(f"outbox row {self.key}: not to a village ({self.recipient!r})")
        return self.recipient


def decode_alert(body: str | bytes) -> AlertEvent:
    """An alert event from its stored JSON (an outbox row, the broadcast state)."""
    return AlertEvent.from_json(msgspec.json.decode(body))


@dataclass(frozen=True)
class Outgoing:
    """A delivery to enqueue."""

    key: str
    destination: str
    event: AlertEvent
    recipient: Recipient | None = None
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
    recipient: Person
    tier: int
    called_at: float
    answered_at: float | None
