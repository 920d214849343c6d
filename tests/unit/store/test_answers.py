"""`store/answers.py`: call-and-answer (叫应) in the store — an
acknowledgement counts only since the alert (or incident) was last raised,
people called and answering, the follow-up progress of each alert and the
reminders; the CLI's store and the service's share them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from floodwatch.alerts.state import Severity, Status, Transition
from floodwatch.notify.records import Person
from floodwatch.rules.incidents.tracker import Change, IncidentChange
from floodwatch.store import Store
from floodwatch.store.answers import Answers
from tests.unit.store.events import T0, event

ALERT = "maokeng-pond:pond-level:abc"
WANG = Person("wang-qiang", "王强", "13800000003", "station.patrol")
LI = Person("li-ming", "李明", "13800000004", "station.technical")


def test_an_acknowledgement_counts_from_the_last_time_the_alert_was_raised(store: Store) -> None:
    answers = Answers(store.db)
    store.record([event(ALERT)], at=100.0)
    assert not answers.acknowledged(ALERT) and answers.current_ack(ALERT) is None
    answers.acknowledge(ALERT, "wang-qiang", "sms", "收到", 100.0)  # the same instant counts
    assert answers.current_ack(ALERT) == {
        "by": "wang-qiang",
        "via": "sms",
        "comment": "收到",
        "at": 100.0,
    }
    store.record([event(ALERT, transition=Transition.DOWNGRADED, minute=5)], at=110.0)
    assert answers.acknowledged(ALERT)  # lowered: still acknowledged
    store.record(
        [event(ALERT, transition=Transition.ESCALATED, severity=Severity.RED, minute=10)], at=120.0
    )
    assert not answers.acknowledged(ALERT)  # raised to red: answered again
    answers.acknowledge(ALERT, "li-ming", "web", "", 130.0)
    assert answers.current_ack(ALERT)["by"] == "li-ming"  # type: ignore[index]
    assert [a["by"] for a in answers.acks(ALERT)] == ["wang-qiang", "li-ming"]  # all kept


def test_an_incident_is_raised_again_by_a_lost_gauge(store: Store) -> None:
    answers = Answers(store.db)
    incident = "maokeng-pond:incident:1"

    def change(what: Change, at: float, minute: int) -> None:
        c = IncidentChange(
            incident=incident,
            station="maokeng-pond",
            change=what,
            severity=Severity.ORANGE,
            previous_severity=None,
            ts=T0 + timedelta(minutes=minute),
            started=T0,
            status=Status.ACTUAL,
            alerts=[],
            inhibited=[],
            cause=event(),
        )
        store.incidents.record([c], [event(incident, minute=minute)], at)

    change(Change.RAISED, 100.0, 0)
    answers.acknowledge(incident, "wang-qiang", "sms", "", 105.0)
    change(Change.DOWNGRADED, 110.0, 5)
    assert answers.acknowledged(incident)
    change(Change.LOST_OBSERVATION, 120.0, 10)
    assert not answers.acknowledged(incident)


def test_an_acknowledgement_ends_the_calling_not_a_closed_follow_up(store: Store) -> None:
    answers = Answers(store.db)
    answers.start_follow(ALERT, "red", now=100.0, next_at=400.0)
    answers.start_follow("closed", "red", now=100.0, next_at=400.0)
    answers.close_follow("closed")
    answers.acknowledge(ALERT, "wang-qiang", "sms", "", 200.0)
    answers.acknowledge("closed", "wang-qiang", "sms", "", 200.0)
    assert answers.follow(ALERT) == ("red", 0, None, "answered")
    assert answers.follow("closed") == ("red", 0, None, "closed")
    assert answers.due_follows(10_000.0) == []


def test_people_called_answer_all_their_calls_or_one(store: Store) -> None:
    answers = Answers(store.db)
    answers.record_call("a1", WANG, 1, 100.0)
    answers.record_call("a2", WANG, 1, 110.0)
    answers.record_call("a1", LI, 2, 105.0)
    assert answers.open_calls("wang-qiang") == ["a1", "a2"]
    assert answers.answer("wang-qiang", 120.0, alert="a2") == ["a2"]
    assert answers.open_calls("wang-qiang") == ["a1"]
    assert answers.answer("wang-qiang", 130.0) == ["a1"]
    assert answers.answer("wang-qiang", 140.0) == []  # nothing open: nothing answered
    assert answers.answer("nobody", 140.0) == []
    assert [(c.recipient, c.tier, c.answered_at) for c in answers.calls("a1")] == [
        (WANG, 1, 130.0),
        (LI, 2, None),
    ]  # by tier
    assert answers.unanswered("a1") == [LI]
    assert answers.called() == ["a1", "a2"]  # latest call last


def test_a_person_called_again_must_answer_again(store: Store) -> None:
    answers = Answers(store.db)
    answers.record_call("a1", WANG, 1, 100.0)
    answers.answer("wang-qiang", 110.0)
    answers.record_call("a1", WANG, 2, 200.0)  # a resend, one tier up
    [call] = answers.calls("a1")
    assert (call.tier, call.called_at, call.answered_at) == (2, 200.0, None)
    assert answers.open_calls("wang-qiang") == ["a1"]
    assert answers.called() == ["a1"]


def test_nobody_is_unanswered_once_the_alert_is_acknowledged(store: Store) -> None:
    answers = Answers(store.db)
    answers.record_call(ALERT, WANG, 1, 100.0)
    answers.acknowledge(ALERT, "li-ming", "web", "", 120.0)
    assert answers.unanswered(ALERT) == []
    assert answers.open_calls("wang-qiang") == [ALERT]  # their own call stays open


def test_follow_ups_come_due_in_time_order_until_closed(store: Store) -> None:
    answers = Answers(store.db)
    assert answers.follow(ALERT) is None
    answers.start_follow(ALERT, "orange", now=100.0, next_at=400.0)
    answers.start_follow("b", "red", now=100.0, next_at=300.0)
    assert answers.due_follows(299.9) == []
    assert answers.due_follows(400.0) == [("b", "red", 0), (ALERT, "orange", 0)]
    answers.set_follow(ALERT, 1, 700.0, "calling")
    assert answers.due_follows(400.0) == [("b", "red", 0)]
    answers.close_follow("b")
    assert answers.follow("b") == ("red", 0, None, "closed")
    answers.start_follow("b", "red", now=800.0, next_at=900.0)  # raised again: from the start
    assert answers.due_follows(1000.0) == [(ALERT, "orange", 1), ("b", "red", 0)]


def test_reminders_per_alert_and_route(store: Store) -> None:
    answers = Answers(store.db)
    assert answers.reminder(ALERT, 0) is None
    answers.set_reminder(ALERT, 0, 1, 100.0)
    answers.set_reminder(ALERT, 1, 3, 150.0)
    answers.set_reminder(ALERT, 0, 2, 200.0)
    assert (answers.reminder(ALERT, 0), answers.reminder(ALERT, 1)) == ((2, 200.0), (3, 150.0))


def test_an_acknowledgement_in_a_transaction_rolled_back_leaves_the_calling_on(
    store: Store,
) -> None:
    answers = Answers(store.db)
    answers.start_follow(ALERT, "red", now=100.0, next_at=400.0)
    with pytest.raises(RuntimeError), store.transaction():
        answers.acknowledge(ALERT, "wang-qiang", "sms", "", 200.0)
        raise RuntimeError("crash")
    assert answers.acks(ALERT) == [] and answers.follow(ALERT) == ("red", 0, 400.0, "calling")


def test_an_answer_by_sms_in_the_service_is_seen_by_the_cli(tmp_path: Path) -> None:
    service, cli = Store(tmp_path / "fw.db"), Store(tmp_path / "fw.db")
    Answers(service.db).record_call(ALERT, WANG, 1, 100.0)
    assert Answers(cli.db).unanswered(ALERT) == [WANG]
    Answers(service.db).answer("wang-qiang", 110.0)
    assert Answers(cli.db).unanswered(ALERT) == []
    service.close()
    cli.close()


def test_a_call_stored_by_an_older_release_reads_back(store: Store) -> None:
    """Recipients written with other key orders and without a role."""
    store.db.execute(
        "INSERT INTO calls VALUES (?, 'wang-qiang', ?, 1, 100.0, NULL)",
        (ALERT, '{"phone": "13800000003", "person": "wang-qiang", "name": "王强"}'),
    )
    assert Answers(store.db).unanswered(ALERT) == [Person("wang-qiang", "王强", "13800000003", "")]
