"""`store/incidents.py`: incidents and their changes (each change once),
the current notice of an open incident, which incident an alert is in, what
acknowledging one covers, and the views the command centre lists."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Status, Transition
from floodwatch.rules.incidents.tracker import Change, Incident, IncidentChange
from floodwatch.store import Store
from floodwatch.store.incidents import IncidentStore
from tests.unit.store.events import T0, event

INC = "maokeng-pond:incident:1"
POND = event("pond:level:a", incident=INC)
CULVERT = event(
    "culvert:level:b",
    station="maokeng-culvert",
    rule="culvert-level",
    severity=Severity.RED,
    minute=5,
    start=5,
    incident=INC,
)
RAIN = event("rain:rain:c", station="maokeng-rain", rule="rain", minute=6, incident=INC)


def change(
    what: Change, severity: Severity, minute: int, incident: str = INC, cause: AlertEvent = POND
) -> IncidentChange:
    return IncidentChange(
        incident=incident,
        station="maokeng-pond",
        change=what,
        severity=severity,
        previous_severity=None,
        ts=T0 + timedelta(minutes=minute),
        started=T0,
        status=Status.ACTUAL,
        alerts=[cause],
        inhibited=[],
        cause=cause,
    )


def notice(c: IncidentChange, inhibited: list[str] | None = None) -> AlertEvent:
    return event(
        c.incident,
        rule="incident",
        severity=c.severity,
        minute=int((c.ts - T0).total_seconds() // 60),
        incident=c.incident,
        details={
            "change": c.change.value,
            "inhibited": inhibited or [],
            "lead": f"lead {c.change.value}",
        },
    )


def record(incidents: IncidentStore, *changes: IncidentChange, at: float = 1.0) -> None:
    incidents.record(changes, [notice(c) for c in changes], at)


def test_an_incident_is_open_until_its_all_clear(store: Store) -> None:
    incidents = IncidentStore(store.db)
    raised = change(Change.RAISED, Severity.ORANGE, 0)
    record(incidents, raised)
    assert incidents.open_incidents() == [
        Incident(INC, "maokeng-pond", Status.ACTUAL, 1783404000000, Severity.ORANGE)
    ]
    assert incidents.notice(INC) == notice(raised)
    escalated = change(Change.ESCALATED, Severity.RED, 5)
    record(incidents, escalated)
    assert [i.severity for i in incidents.open_incidents()] == [Severity.RED]
    assert incidents.notice(INC) == notice(escalated)  # the notice of its last change
    record(incidents, change(Change.ALL_CLEAR, Severity.RED, 40))
    assert incidents.open_incidents() == [] and incidents.notice(INC) is None
    assert incidents.exists(INC)  # kept, cleared


def test_a_change_recorded_again_is_stored_once(store: Store) -> None:
    incidents = IncidentStore(store.db)
    raised = change(Change.RAISED, Severity.ORANGE, 0)
    record(incidents, raised, at=1.0)
    record(incidents, raised, at=2.0)  # a restart's replay
    stored = store.db.execute("SELECT count(*), max(stored_at) FROM incident_changes")
    assert stored.fetchone() == (1, 1000)  # the first time it was stored
    view = incidents.get(INC)
    assert view is not None and len(view["changes"]) == 1  # type: ignore[arg-type]


def test_changes_and_notices_must_pair_up_and_a_crash_stores_neither(store: Store) -> None:
    incidents = IncidentStore(store.db)
    raised = change(Change.RAISED, Severity.ORANGE, 0)
    escalated = change(Change.ESCALATED, Severity.RED, 5)
    with pytest.raises(ValueError), store.transaction():
        incidents.record([raised, escalated], [notice(raised)], 1.0)
    assert incidents.list(active=False) == [] and not incidents.exists(INC)


def test_an_incident_recorded_by_one_store_is_open_for_another(tmp_path: Path) -> None:
    one, two = Store(tmp_path / "fw.db"), Store(tmp_path / "fw.db")
    record(IncidentStore(one.db), change(Change.RAISED, Severity.ORANGE, 0))
    assert [i.id for i in IncidentStore(two.db).open_incidents()] == [INC]
    one.close()
    two.close()


def test_which_incident_an_alert_is_in_and_what_an_ack_covers(store: Store) -> None:
    incidents = IncidentStore(store.db)
    outside = event("lone:level:z", station="lone", minute=1)
    store.record([POND, CULVERT, outside])
    record(incidents, change(Change.RAISED, Severity.RED, 0))
    assert incidents.incident_of(POND.id) == INC
    assert incidents.incident_of(outside.id) is None and incidents.incident_of("nope") is None
    assert sorted(incidents.alert_ids(INC)) == [CULVERT.id, POND.id]
    assert sorted(incidents.covered(INC)) == sorted([INC, POND.id, CULVERT.id])
    assert incidents.covered(POND.id) == [POND.id, INC]
    assert incidents.covered(outside.id) == [outside.id]
    assert incidents.exists(POND.id) and incidents.exists(INC) and not incidents.exists("nope")
    assert incidents.stored(POND) and not incidents.stored(RAIN)
    store.record([event("pond:level:a", transition=Transition.RESOLVED, minute=30, incident=INC)])
    assert incidents.alert_ids(INC) == [CULVERT.id]  # active now
    assert incidents.incident_of(POND.id) == INC  # and belonged to


def test_an_alert_takes_the_incident_of_its_latest_transition(store: Store) -> None:
    incidents = IncidentStore(store.db)
    store.record([POND])
    store.record(
        [
            event(
                "pond:level:a",
                transition=Transition.ESCALATED,
                severity=Severity.RED,
                minute=50,
                incident="later-incident",
            )
        ]
    )
    assert incidents.incident_of(POND.id) == "later-incident"


def test_restorable_gives_the_open_incidents_and_the_active_alerts(store: Store) -> None:
    incidents = IncidentStore(store.db)
    assert incidents.restorable() == ([], [])
    store.record([CULVERT, POND])
    record(incidents, change(Change.RAISED, Severity.RED, 0))
    record(incidents, change(Change.ALL_CLEAR, Severity.ORANGE, 9, incident="old"))
    opened, active = incidents.restorable()
    assert [i.id for i in opened] == [INC]
    assert active == [POND, CULVERT]  # by episode start, as the tracker took them


def test_the_list_is_newest_first_and_all_of_them_on_request(store: Store) -> None:
    incidents = IncidentStore(store.db)
    record(incidents, change(Change.RAISED, Severity.ORANGE, 0, incident="a"))
    record(incidents, change(Change.RAISED, Severity.YELLOW, 10, incident="b"))
    record(incidents, change(Change.ALL_CLEAR, Severity.YELLOW, 20, incident="b"))
    record(incidents, change(Change.RAISED, Severity.BLUE, 15, incident="c"))
    assert [v["id"] for v in incidents.list()] == ["c", "a"]
    assert [v["id"] for v in incidents.list(active=False)] == ["b", "c", "a"]
    assert [v["id"] for v in incidents.list(active=False, limit=1)] == ["b"]
    assert incidents.get("nope") is None


def test_the_view_lists_active_alerts_worst_first_and_marks_the_inhibited(store: Store) -> None:
    incidents = IncidentStore(store.db)
    store.record([POND, CULVERT, RAIN])
    raised = change(Change.RAISED, Severity.RED, 0)
    escalated = change(Change.ESCALATED, Severity.RED, 7)
    incidents.record([raised, escalated], [notice(raised), notice(escalated, [RAIN.id])], 1.0)
    view = incidents.get(INC)
    assert view is not None
    alerts = cast(list[dict[str, Any]], view["alerts"])
    changes = cast(list[dict[str, Any]], view["changes"])
    assert [a["id"] for a in alerts] == [CULVERT.id, POND.id, RAIN.id]
    assert [a["inhibited"] for a in alerts] == [False, False, True]
    assert [c["details"]["change"] for c in changes] == ["raised", "escalated"]
    current = (view["state"], view["severity"], view["change"], view["lead"])
    assert current == ("active", "red", "escalated", "lead escalated")
    assert view["started"] == "2026-07-07T06:00:00Z" and view["station"] == "maokeng-pond"


def test_a_change_recorded_again_does_not_reopen_a_cleared_incident(store: Store) -> None:
    """Like the alert ledger: only a change not stored before moves the
    incident; a replayed `raised` after the all-clear leaves it cleared."""
    incidents = IncidentStore(store.db)
    raised = change(Change.RAISED, Severity.ORANGE, 0)
    record(incidents, raised, change(Change.ESCALATED, Severity.RED, 5))
    record(incidents, change(Change.ALL_CLEAR, Severity.RED, 40))
    record(incidents, raised, at=2.0)
    assert incidents.open_incidents() == [] and incidents.notice(INC) is None
    view = incidents.get(INC)
    assert view is not None and (view["state"], view["change"]) == ("cleared", "all_clear")
