"""The one step that records a batch of alert transitions with their
incidents (the tables: `store/incidents.py`).

`record_step` runs inside the caller's transaction: it feeds the tracker only
transitions not stored before (a replayed inbox or re-read Kafka batch
re-computes transitions that are stored already; applying them again would
re-raise a closed incident), then stores alerts and incident changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from floodwatch.alerts.event import AlertEvent
from floodwatch.config.models import Config
from floodwatch.rules.incidents.text import notice, rule_names
from floodwatch.rules.incidents.tracker import Figures, IncidentChange, IncidentTracker
from floodwatch.store.incidents import IncidentStore


@dataclass
class Recorded:
    alerts: list[AlertEvent] = field(default_factory=list)  # new transitions, with incident
    changes: list[IncidentChange] = field(default_factory=list)
    notices: list[AlertEvent] = field(default_factory=list)  # one per change, same order


def record_step(
    incidents: IncidentStore,
    record: Callable[[list[AlertEvent], float], list[AlertEvent]],
    tracker: IncidentTracker,
    config: Config,
    events: list[AlertEvent],
    at: float,
    figures: list[Figures] | None = None,
) -> Recorded:
    """Group the transitions not stored before into incidents, store both
    (inside the caller's transaction), return what is new. `figures`: the
    engine's of the same step (so the notices tell current figures)."""
    # shards' outputs come one after another: the tracker takes them in event time
    fresh = sorted((e for e in events if not incidents.stored(e)), key=lambda e: e.ts)
    applied = tracker.apply(fresh, figures or [])
    out = Recorded(alerts=record(applied.alerts, at), changes=applied.changes)
    if applied.changes:  # (most steps change nothing: no station table built for them)
        stations = {s.id: s for s in config.stations}
        names = rule_names(config.rules)
        out.notices = [notice(c, stations, names) for c in applied.changes]
        incidents.record(out.changes, out.notices, at)
    return out


def restore(tracker: IncidentTracker, incidents: IncidentStore) -> None:
    """Take the tracker up where the store left off (open incidents, active alerts)."""
    tracker.restore(*incidents.restorable())
