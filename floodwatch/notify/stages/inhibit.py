"""Inhibit stage: the alerts an incident's notification is about. Pure.

The inhibition rules themselves are applied by the incident tracker
(`floodwatch/rules/incidents/inhibit.py`), which lists the inhibited alerts on each
change; here they are left out. Sensor notices and lost-observation warnings
are not routed as flood conditions either (the lost gauge has its own route).
"""

from __future__ import annotations

from floodwatch.alerts.event import AlertEvent
from floodwatch.rules.incidents.tracker import IncidentChange, is_flood


def shown(change: IncidentChange) -> list[AlertEvent]:
    """The flood alerts of `change` that are not inhibited, worst first (the
    transition that caused it when none is left: an all-clear)."""
    out = [a for a in change.alerts if is_flood(a) and a.id not in change.inhibited]
    return out or [change.cause]
