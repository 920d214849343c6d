"""Wording stage: what each person or village reads of an incident change. Pure.

"升级为橙色预警" and "预警降为黄色" are news only to those who heard the
incident before (any earlier notice of it, not silenced). Anyone else — first
told at this change (e.g. a route whose `min_severity` is above the incident's
first colour), by an escalation tier, a reminder, or once a silence is over —
reads the incident as it stands: "【橙色预警】…" (`as_first_contact`, texts made
with the notice in `rules/incidents/text.py`). A follow-up (resend, escalation,
reminder, after a silence) always tells the incident as it stands. A village
box gets the same wording; its CAP `msgType` (Alert, or Update referencing its
previous message) follows the box's own history (`notify/broadcast.py`).
"""

from __future__ import annotations

from collections.abc import Iterable

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.records import Recipient
from floodwatch.notify.routing import Target
from floodwatch.rules.incidents.text import as_first_contact


def heard_of(rows: Iterable[tuple[str, Recipient | None]]) -> set[tuple[str, str]]:
    """(destination, person or village) of earlier (destination, recipient) rows."""
    return {(t.destination, t.recipient_id) for t in (Target(d, r) for d, r in rows)}


def worded(notice: AlertEvent, target: Target, heard: set[tuple[str, str]]) -> AlertEvent:
    """The notice `target` gets: the change itself if it heard the incident
    before (`heard`, from `heard_of`), else the incident as it stands."""
    if (target.destination, target.recipient_id) in heard:
        return notice
    return as_first_contact(notice)


def follow_up(event: AlertEvent) -> AlertEvent:
    """What a follow-up (resend, escalation, reminder, after a silence) tells:
    an incident as it stands, whatever its last change was."""
    return as_first_contact(event)
