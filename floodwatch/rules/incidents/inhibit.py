"""Inhibition (Alertmanager-style), within one incident. Pure.

While an alert matching a rule's `source` is active in an incident, the
alerts of the same incident matching its `target` are left out of the
incident's notifications: a red time-to-crest already says the dam is about
to overtop, so the red level line adds a card and no news. Inhibited alerts
are still recorded, shown to engineers and sent to machine destinations.

A sensor notice (`info`: stale, stuck …) never inhibits, and no alert
inhibits itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.config.incidents import AlertMatcher, InhibitRule


def matches(matcher: AlertMatcher, alert: AlertEvent) -> bool:
    if alert.severity.rank < matcher.min_severity.rank:
        return False
    if matcher.rules is not None and alert.rule not in matcher.rules:
        return False
    return matcher.kinds is None or alert.kind in matcher.kinds


def inhibited(alerts: Iterable[AlertEvent], rules: Iterable[InhibitRule]) -> set[str]:
    """The ids of the alerts (all of one incident, active) that `rules` inhibit."""
    active = list(alerts)
    out: set[str] = set()
    for rule in rules:
        sources = [a for a in active if a.severity is not Severity.INFO and matches(rule.source, a)]
        if not sources:
            continue
        for alert in active:
            if matches(rule.target, alert) and any(s.id != alert.id for s in sources):
                out.add(alert.id)
    return out
