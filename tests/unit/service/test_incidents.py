"""Recording a step's transitions with their incidents (service/incidents.py) in
a real store: new transitions grouped into incidents, stored with them and a
notice per change; transitions stored before (a replayed inbox, a re-read
Kafka batch) not fed to the tracker again, so a closed incident is not
raised again; a step's transitions taken in event time; a restarted tracker
taking up where the store left off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.rules.incidents.tracker import Change, IncidentTracker
from floodwatch.service.incidents import Recorded, record_step, restore
from floodwatch.store import Store
from tests.unit.notify.stages.example import CONFIG, CREST, LEVEL, RAIN, alert

CLEAR = alert("pond-level", "level", Severity.RED, transition=Transition.RESOLVED, minute=30)


def tracker() -> IncidentTracker:
    return IncidentTracker(CONFIG.config.stations, CONFIG.config.engine.incidents)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "fw.db")
    yield s
    s.close()


def step(store: Store, incidents: IncidentTracker, *events: AlertEvent) -> Recorded:
    with store.transaction():
        return record_step(
            store.incidents, store.record, incidents, CONFIG.config, list(events), 1000.0
        )


def test_new_transitions_are_stored_with_their_incident_and_a_notice_per_change(
    store: Store,
) -> None:
    out = step(store, tracker(), LEVEL, CREST)
    assert [c.change for c in out.changes] == [Change.RAISED]  # both red at once: one change
    assert len(out.notices) == len(out.changes) >= 1
    incident = out.changes[0].incident
    assert [(a.rule, a.incident) for a in out.alerts] == [
        ("pond-level", incident),
        ("pond-overtop", incident),
    ]
    assert all(n.id == incident for n in out.notices)  # a notice is about the incident
    assert all(n.message_zh for n in out.notices)
    [stored] = store.incidents.list(active=True)
    assert stored["id"] == incident
    assert {e["id"] for e in store.active()} == {LEVEL.id, CREST.id}


def test_a_step_without_changes_tells_nothing_new(store: Store) -> None:
    incidents = tracker()
    step(store, incidents, LEVEL)
    out = step(store, incidents)
    assert out == Recorded()


def test_transitions_stored_before_are_not_fed_again_and_do_not_reopen_a_closed_incident(
    store: Store,
) -> None:
    incidents = tracker()
    raised = step(store, incidents, LEVEL)
    closed = step(store, incidents, CLEAR)
    assert [c.change for c in closed.changes] == [Change.ALL_CLEAR]
    again = step(store, incidents, LEVEL, CLEAR)  # a replay of both steps
    assert again == Recorded()
    assert incidents.open == {}
    assert store.incidents.list(active=True) == []
    assert [i["id"] for i in store.incidents.list(active=False)] == [raised.changes[0].incident]


def test_a_steps_transitions_are_taken_in_event_time(store: Store) -> None:
    later_rain = alert("rain-accumulation", "rainfall", Severity.ORANGE, "maokeng-rain", minute=5)
    out = step(store, tracker(), later_rain, LEVEL)  # shards' outputs one after another
    assert out.changes[0].change is Change.RAISED
    assert out.changes[0].cause.id == LEVEL.id  # the earlier transition opened the incident
    assert [c.ts for c in out.changes] == sorted(c.ts for c in out.changes)


def test_a_restarted_tracker_takes_up_the_open_incident(tmp_path: Path) -> None:
    path = tmp_path / "fw.db"
    first = Store(path)
    raised = step(first, tracker(), LEVEL, RAIN)
    first.close()
    again, restarted = Store(path), tracker()
    restore(restarted, again.incidents)
    assert [key[0] for key in restarted.open] == [raised.changes[0].station]
    out = step(again, restarted, LEVEL)  # the crashed step's transition, replayed
    assert out == Recorded()
    lowered = step(again, restarted, CLEAR)
    assert lowered.changes and lowered.changes[0].incident == raised.changes[0].incident
    assert lowered.changes[0].change is not Change.RAISED  # the same incident goes on
    again.close()
