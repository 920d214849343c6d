"""Enqueue stage: one outbox row per (event, target, note). Pure."""

from __future__ import annotations

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.records import Outgoing
from floodwatch.notify.routing import Target, delivery_key


def outgoing(event: AlertEvent, target: Target, note: str = "", after: float = 0.0) -> Outgoing:
    """The row delivering `event` to `target`; `after` seconds held (SMS grouping)."""
    return Outgoing(
        delivery_key(event, target.destination, target.recipient_id, note),
        target.destination,
        event,
        recipient=target.recipient,
        note=note,
        after=after,
    )
