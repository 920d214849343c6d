"""Dispatch timelines on a fake clock: call-and-answer (resend, escalation,
unanswered), acknowledgement, reminders, silences, following an alert."""

from __future__ import annotations

import json
import weakref
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Status, Transition, transition
from floodwatch.notify.dispatch import Dispatcher
from floodwatch.notify.records import Person
from floodwatch.notify.routing import Router
from floodwatch.notify.sinks import load_config_dir, notify_settings
from floodwatch.notify.sms import Texts, message_text
from floodwatch.notify.sms_parts import segments
from floodwatch.rules.compile import compile_config
from floodwatch.rules.incidents.tracker import IncidentTracker
from floodwatch.service.incidents import record_step
from floodwatch.store import Store

CONFIG = compile_config(load_config_dir("config"))
T = 1_800_000_000.0  # the fake wall clock, seconds
SETTINGS = {
    "destinations": {
        "sms": {"type": "sms", "provider": {"url": "http://127.0.0.1:9/"}},
        "board": {"type": "console"},
    },
    "routes": [
        {
            "to": ["sms"],
            "min_severity": "orange",
            "recipients": ["station.patrol", "station.technical", "station.administrative"],
        },
        {"to": ["board"], "min_severity": "blue", "remind_every": "30m"},
    ],
    "answer": {"via": ["sms"], "after": "5m", "resends": 1},
}


def event(
    severity: Severity = Severity.RED,
    transition: Transition = Transition.FIRING,
    minute: int = 0,
    station: str = "maokeng-pond",
) -> AlertEvent:
    ts = datetime(2026, 7, 7, 6, minute, tzinfo=UTC)
    return AlertEvent(
        id=f"{station}:pond-overtop:abc",
        rule="pond-overtop",
        kind="time_to_crest",
        station=station,
        station_name="毛坑山塘",
        severity=severity,
        previous_severity=None,
        transition=transition,
        ts=ts,
        episode_start=datetime(2026, 7, 7, 6, 0, tzinfo=UTC),
        value=28.0,
        threshold=30.0,
        unit="min",
        message_zh="【红色预警】毛坑村毛坑山塘……",
        message_en="",
    )


@pytest.fixture
def dispatcher(tmp_path: Path) -> Dispatcher:
    store = Store(tmp_path / "fw.db")
    return Dispatcher(Router(notify_settings(SETTINGS), CONFIG), store)


# One incident tracker per store, gone with it: keyed by id() a later test's
# store could reuse a collected one's address and inherit its open incidents.
TRACKERS: weakref.WeakKeyDictionary[Store, IncidentTracker] = weakref.WeakKeyDictionary()


def store_(d: Dispatcher, e: AlertEvent, now: float) -> None:
    """Record a transition as the service does: incidents, store, dispatch."""
    config = d.router.compiled.config
    tracker = TRACKERS.setdefault(
        d.store, IncidentTracker(config.stations, config.engine.incidents)
    )
    with d.store.transaction():
        step = record_step(d.store.incidents, d.store.record, tracker, config, [e], now)
        d.dispatch(step.alerts, now, step.changes, step.notices)


def incident(d: Dispatcher, station: str = "maokeng-pond") -> str:
    """The id of the station's incident (the latest)."""
    row = d.store.db.execute(
        "SELECT id FROM incidents WHERE station = ? ORDER BY started DESC", (station,)
    ).fetchone()
    return str(row[0])


def sms_rows(d: Dispatcher, state: str = "pending") -> list[tuple[str, str]]:
    """(note, person) of the sms outbox rows, in order."""
    return [
        (str(r["note"]), who.name)
        for r in d.store.outbox()
        if r["destination"] == "sms"
        and r["state"] == state
        and isinstance(who := r["recipient"], Person)
    ]


def test_unanswered_red_is_resent_then_escalated_tier_by_tier(dispatcher: Dispatcher) -> None:
    d = dispatcher
    store_(d, event(), T)
    first = [("", "王强"), ("", "李娜"), ("", "张伟")]
    assert sms_rows(d) == first
    assert d.follow_up(T + 299) == 0
    assert d.follow_up(T + 300) == 3
    resent = [("resend:1", n) for _, n in first]
    assert sms_rows(d) == first + resent
    assert d.follow_up(T + 599) == 0
    assert d.follow_up(T + 600) == 1
    assert sms_rows(d)[-1] == ("escalation:2", "陈军")  # the village's warning officer
    assert d.follow_up(T + 900) == 1
    assert sms_rows(d)[-1] == ("escalation:3", "郑磊")  # the town's flood-control lead
    assert d.follow_up(T + 1200) == 0
    d.follow_up(T + 3600)  # (a reminder to the board)
    assert len(sms_rows(d)) == 8
    unanswered = {p.name for p in d.ledger.unanswered(incident(d))}
    assert unanswered == {"王强", "李娜", "张伟", "陈军", "郑磊"}
    assert d.ledger.follow(incident(d))[3] == "unanswered"  # type: ignore[index]


def test_an_acknowledgement_stops_the_escalation(dispatcher: Dispatcher) -> None:
    d = dispatcher
    store_(d, event(), T)
    with d.store.transaction():
        d.acknowledge(incident(d), "值班员刘洋", "web", "已电话联系王强", T + 120)
    assert d.follow_up(T + 300) == 0
    assert d.follow_up(T + 3600) == 0  # (no reminder either: acknowledged)
    assert [n for n, _ in sms_rows(d)] == ["", "", ""]
    assert d.ledger.unanswered(incident(d)) == []


def test_an_sms_reply_with_the_code_acknowledges(dispatcher: Dispatcher) -> None:
    from floodwatch.notify.sms import reply_code

    d = dispatcher
    store_(d, event(), T)
    # the incident and every alert in it
    acknowledged = d.reply("+86 138-0000-0003", f"收到 {reply_code(incident(d))}", T + 60)
    assert acknowledged == [incident(d), event().id]
    assert d.ledger.acks(incident(d))[0]["by"] == "王强"
    assert d.follow_up(T + 300) == 0
    assert d.reply("13999999999", "1", T + 61) == []  # nobody's number


def test_resolving_ends_the_calls(dispatcher: Dispatcher) -> None:
    d = dispatcher
    store_(d, event(), T)
    store_(d, event(Severity.RED, Transition.RESOLVED, minute=30), T + 100)
    assert d.follow_up(T + 3600) == 0
    assert [n for n, _ in sms_rows(d)] == ["", "", "", "", "", ""]  # the all-clear, once


def test_a_downgrade_reaches_everyone_who_heard_the_warning(dispatcher: Dispatcher) -> None:
    d = dispatcher
    store_(d, event(), T)
    # yellow is below the sms route's orange, but the people told of red hear it
    store_(d, event(Severity.YELLOW, Transition.DOWNGRADED, minute=20), T + 100)
    assert sms_rows(d)[3:] == [("", "王强"), ("", "李娜"), ("", "张伟")]
    assert d.follow_up(T + 400) == 0  # below the call-and-answer severities: calls end


def test_reminders_while_unacknowledged(dispatcher: Dispatcher) -> None:
    d = dispatcher
    store_(d, event(Severity.BLUE), T)
    d.follow_up(T + 1)
    assert d.follow_up(T + 1800) == 0
    assert d.follow_up(T + 1801) == 1
    assert d.follow_up(T + 3000) == 0
    assert d.follow_up(T + 3602) == 1
    notes = [r["note"] for r in d.store.outbox() if r["destination"] == "board"]
    assert notes == ["", "reminder:1", "reminder:2"]
    with d.store.transaction():
        d.acknowledge(incident(d), "值班员", "web", "", T + 3700)
    assert d.follow_up(T + 9000) == 0


def test_a_silenced_alert_is_recorded_but_not_sent(dispatcher: Dispatcher) -> None:
    d = dispatcher
    with d.store.transaction():
        d.ledger.add_silence(
            starts=T - 10,
            ends=T + 3600,
            author="李工",
            reason="水位计检修",
            stations=["maokeng-pond"],
        )
    store_(d, event(), T)
    assert sms_rows(d) == []
    assert len(sms_rows(d, "silenced")) == 3
    assert d.store.transitions()[0]["id"] == event().id  # recorded all the same
    assert d.follow_up(T + 600) == 0  # and nobody is called
    other = replace(event(station="xiawu-pond"), id="xiawu-pond:pond-overtop:abc")
    store_(d, other, T + 5)
    assert [n for _, n in sms_rows(d)] == ["周明", "孙丽", "赵刚"]  # another pond: sent
    store_(d, event(Severity.RED, Transition.RESOLVED, minute=30), T + 3601)  # silence over
    assert len(sms_rows(d)) == 6  # the all-clear is sent


DRILL_DESTINATIONS = {
    f"{status[0]}_{kind}": {
        "type": kind,
        "status": status,
        **({"provider": {"url": "http://127.0.0.1:9/"}} if kind == "sms" else {}),
    }
    for status in ("actual", "exercise")
    for kind in ("sms", "broadcast", "console")
}
drill_routes = st.lists(
    st.fixed_dictionaries(
        {
            "to": st.lists(st.sampled_from(sorted(DRILL_DESTINATIONS)), min_size=1, max_size=4),
            "status": st.sampled_from(["actual", "exercise"]),
            "min_severity": st.sampled_from([s.value for s in Severity]),
            "recipients": st.just(["station.patrol", "village.warning_officer"]),
            "remind_every": st.sampled_from([None, "1m"]),
        }
    ),
    max_size=5,
)
severities = st.lists(st.sampled_from([None, *Severity]), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(drill_routes, st.sampled_from(sorted(CONFIG.stations)), severities, st.booleans())
def test_no_path_sends_a_drill_to_an_actual_destination_or_back(
    tmp_path_factory: pytest.TempPathFactory,
    chosen: list[dict[str, object]],
    station: str,
    path: list[Severity | None],
    drill: bool,
) -> None:
    """Routes, alerts followed by those who heard them, call-and-answer resends
    and escalations, reminders: every row goes to a destination of the alert's
    own status, and only a drill's texts say 演练."""
    settings_ = notify_settings(
        {
            "destinations": DRILL_DESTINATIONS,
            "routes": chosen,
            "answer": {"via": ["a_sms", "e_sms"], "after": "1s", "severities": ["blue", "red"]},
        }
    )
    store = Store(tmp_path_factory.mktemp("drill") / "fw.db")
    d = Dispatcher(Router(settings_, CONFIG), store)
    status = Status.EXERCISE if drill else Status.ACTUAL
    before: Severity | None = None
    for i, severity in enumerate([*path, None]):
        change = transition(before, severity)
        if change is not None:
            e = replace(
                event(severity or before or Severity.BLUE, change, minute=i, station=station),
                status=status,
                message_zh=("【演练】" if drill else "") + "【红色预警】毛坑山塘",
            )
            store_(d, e, T + i)
            d.follow_up(T + i + 0.5)
        before = severity
    for k in range(1, 8):
        d.follow_up(T + 60 * k)
    texts = Texts(None, None)
    for row in store.deliveries():
        body = json.loads(row.event)
        assert DRILL_DESTINATIONS[row.destination]["status"] == body["status"] == status.value
        if row.destination.endswith("sms"):
            parts = segments(message_text(texts, [row], True), 70, 3)
            assert (
                all(p.startswith("【演练】") for p in parts)
                if drill
                else "演练" not in "".join(parts)
            )
    store.close()


def test_a_warning_raised_after_it_was_acknowledged_must_be_answered_again(
    dispatcher: Dispatcher,
) -> None:
    d = dispatcher
    d.policy = d.policy.model_copy(update={"severities": [Severity.ORANGE, Severity.RED]})  # type: ignore[union-attr]
    store_(d, event(Severity.ORANGE), T)
    with d.store.transaction():
        d.acknowledge(incident(d), "王强", "sms", "1234", T + 60)
    assert d.ledger.acknowledged(incident(d))
    assert d.follow_up(T + 300) == 0  # answered: no resend
    store_(d, event(Severity.RED, Transition.ESCALATED, minute=30), T + 600)
    assert not d.ledger.acknowledged(incident(d))  # the orange answer does not cover red
    assert {p.name for p in d.ledger.unanswered(incident(d))} == {"王强", "李娜", "张伟"}
    assert d.follow_up(T + 899) == 0
    assert d.follow_up(T + 900) == 3  # called again for red
    assert [n for n, _ in sms_rows(d)][-3:] == ["resend:1"] * 3
    with d.store.transaction():
        d.acknowledge(incident(d), "李娜", "web", "", T + 950)
    assert d.follow_up(T + 1200) == 0
