"""One alert event for tests that need only a few of its fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec.structs import replace

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition


def alert_event(
    rule: str, kind: str, severity: Severity, station: str, ts: datetime, **fields: Any
) -> AlertEvent:
    """A firing of `rule` at `station` (id `station:rule`, its episode from
    `ts`), with no value, threshold, unit or texts; `fields` set any other
    field of the event."""
    event = AlertEvent(
        id=f"{station}:{rule}",
        rule=rule,
        kind=kind,
        station=station,
        station_name=station,
        severity=severity,
        previous_severity=None,
        transition=Transition.FIRING,
        ts=ts,
        episode_start=ts,
        value=None,
        threshold=None,
        unit="",
        message_zh="",
        message_en="",
    )
    return replace(event, **fields) if fields else event
