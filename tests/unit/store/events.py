"""Alert events and stores for the store's repository tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Status, Transition

T0 = datetime(2026, 7, 7, 6, 0, tzinfo=UTC)


def event(  # noqa: PLR0913 — keyword-only fields of the AlertEvent it builds
    alert: str = "maokeng-pond:pond-level:abc",
    *,
    transition: Transition = Transition.FIRING,
    severity: Severity = Severity.ORANGE,
    minute: int = 0,
    start: int = 0,
    station: str = "maokeng-pond",
    rule: str = "pond-level",
    status: Status = Status.ACTUAL,
    incident: str | None = None,
    details: dict[str, object] | None = None,
) -> AlertEvent:
    """A transition of `alert` at T0 + `minute`, its episode started at T0 + `start`."""
    return AlertEvent(
        id=alert,
        rule=rule,
        kind="level",
        station=station,
        station_name="毛坑山塘",
        severity=severity,
        previous_severity=None,
        transition=transition,
        ts=T0 + timedelta(minutes=minute),
        episode_start=T0 + timedelta(minutes=start),
        value=311.6,
        threshold=311.5,
        unit="m",
        status=status,
        message_zh=f"{alert} {transition} {severity}",
        message_en="",
        details=details or {},
        incident=incident,
    )
