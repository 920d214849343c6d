"""Alert events for backtest tests: an episode as its transitions, at offsets
from `T0`."""

from __future__ import annotations

from datetime import timedelta

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.testing import T0


def episode(
    station: str,
    rule: str,
    steps: list[tuple[timedelta, Severity | None]],
) -> list[AlertEvent]:
    """The transitions of one episode: (offset, severity) each, None to resolve."""
    start = steps[0][0]
    out: list[AlertEvent] = []
    before: Severity | None = None
    for at, step in steps:
        severity = step
        if severity is None:
            transition, severity = Transition.RESOLVED, before
        elif before is None:
            transition = Transition.FIRING
        else:
            transition = (
                Transition.ESCALATED if severity.rank > before.rank else Transition.DOWNGRADED
            )
        assert severity is not None
        out.append(
            AlertEvent(
                id=f"{station}:{rule}:{start}",
                rule=rule,
                kind="level",
                station=station,
                station_name=station,
                severity=severity,
                previous_severity=before if transition is not Transition.FIRING else None,
                transition=transition,
                ts=T0 + at,
                episode_start=T0 + start,
                value=None,
                threshold=None,
                unit="m",
                message_zh="",
                message_en="",
            )
        )
        before = severity
    return out
