"""What notify needs from persistence, as narrow protocols.

notify sits below the store: it never imports `floodwatch.store`; the store
implements these (`floodwatch.store.Store` satisfies every one) and is handed
in by the service. Each protocol is what one part of notify calls:

- `DeliveryLog` — a destination's worker (`deliver.Deliverer`): the due rows
  and their outcomes. Rows of one destination are read by its worker only.
- `SmsLog` — the SMS channel's grouping and rate limit.
- `BroadcastLog` — the village broadcast state and the retained truth.
- `CallLog` — silences, acknowledgements, call-and-answer, reminders.
- `IncidentLog` — the open incidents and their current notices.
- `DispatchStore` — the outbox as dispatch writes it, with the call and
  incident logs; `DeliveryStore` — the outbox as the workers read it.

All are called from the event loop's thread; writes made by `dispatch` land
inside the caller's transaction (`DispatchStore.transaction`).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.records import Call, Delivery, Outgoing, Person, Recipient, Silence
from floodwatch.rules.incidents.tracker import Incident


class DeliveryLog(Protocol):
    def due(self, destination: str, now: float, limit: int = 100) -> list[Delivery]:
        """Pending rows of `destination` due by `now`, soonest first."""
        ...

    def due_in_order(self, destination: str, now: float, limit: int = 100) -> list[Delivery]:
        """Pending rows in the order made, up to the first not due yet."""
        ...

    def next_due(self, destination: str) -> float | None: ...

    def next_in_order(self, destination: str) -> float | None: ...

    def delivered(self, keys: Iterable[str], state: str, error: str | None = None) -> None:
        """Final outcome: 'done' or 'dead' (one attempt counted)."""
        ...

    def retry_at(self, keys: Iterable[str], when: float, error: str) -> None: ...

    def retry_now(self, destination: str, now: float) -> None: ...

    def hold(self, keys: Iterable[str], until: float) -> None:
        """Postpone without counting an attempt."""
        ...


class SmsLog(Protocol):
    def pending_for(self, destination: str, recipient: Recipient | None) -> list[Delivery]: ...

    def in_batch(self, batch: str) -> list[Delivery]: ...

    def set_batch(self, keys: Iterable[str], batch: str) -> None:
        """Fix a grouped message's rows (durably, before it is sent)."""
        ...

    def sent_to(self, destination: str, recipient: Recipient | None, since: float) -> int: ...


class BroadcastLog(Protocol):
    def broadcast_previous(self, village: str, alert: str) -> tuple[str, str] | None: ...

    def broadcast_reference(self, village: str, alert: str) -> tuple[str, str] | None: ...

    def broadcast_sent(
        self,
        village: str,
        alert: str,
        identifier: str,
        sent: str,
        severity: str,
        event: str,
        active: bool,
        reference: tuple[str, str] | None,
    ) -> None: ...

    def broadcast_stale(self, before: float) -> list[str]: ...

    def broadcast_active(self, village: str) -> list[tuple[str, str]]: ...

    def retained_sent(self, topic: str, payload: bytes, expires: float) -> None: ...

    def retained(self) -> dict[str, tuple[bytes, float]]: ...


class CallLog(Protocol):
    def silences(self, now: float | None = None) -> list[Silence]: ...

    def acknowledge(self, alert: str, by: str, via: str, comment: str, now: float) -> None: ...

    def acknowledged(self, alert: str) -> bool: ...

    def record_call(self, alert: str, recipient: Person, tier: int, now: float) -> None: ...

    def open_calls(self, person: str) -> list[str]: ...

    def answer(self, person: str, now: float, alert: str | None = None) -> list[str]: ...

    def calls(self, alert: str) -> list[Call]: ...

    def unanswered(self, alert: str) -> list[Person]: ...

    def start_follow(self, alert: str, severity: str, now: float, next_at: float) -> None: ...

    def set_follow(self, alert: str, step: int, next_at: float | None, state: str) -> None: ...

    def due_follows(self, now: float) -> list[tuple[str, str, int]]: ...

    def close_follow(self, alert: str) -> None: ...

    def reminder(self, alert: str, route: int) -> tuple[int, float] | None: ...

    def set_reminder(self, alert: str, route: int, count: int, at: float) -> None: ...


class IncidentLog(Protocol):
    def open_incidents(self) -> list[Incident]: ...

    def notice(self, incident: str) -> AlertEvent | None: ...

    def covered(self, ident: str) -> list[str]: ...

    def alert_ids(self, incident: str) -> list[str]: ...


class DispatchStore(Protocol):
    @property
    def people(self) -> CallLog: ...

    @property
    def incidents(self) -> IncidentLog: ...

    def transaction(self) -> AbstractContextManager[Any]: ...

    def enqueue(self, deliveries: Iterable[Outgoing], state: str = "pending") -> int:
        """Rows to deliver (inside the caller's transaction); 'silenced': recorded,
        not sent. A key enqueued before is left as it is."""
        ...

    def reached(self, alert: str) -> list[tuple[str, Recipient | None]]: ...

    def held(self, alert: str) -> list[tuple[str, Recipient | None]]: ...

    def active(self) -> list[dict[str, object]]: ...

    def active_one(self, alert: str) -> dict[str, object] | None: ...

    def active_in(self, incident: str) -> list[dict[str, object]]: ...


class DeliveryStore(DeliveryLog, SmsLog, Protocol):
    @property
    def people(self) -> BroadcastLog: ...
