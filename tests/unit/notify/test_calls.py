"""Call-and-answer (notify/calls.py) on its own, over the real store (SQLite)
and the example config's rosters, on a fake clock: who is called, when a call
is resent and escalated, what ends it (an answer, a reply, the all-clear, a
fall below the policy's colours), and that it survives a restart.

maokeng-pond: patrol 王强 (13800000003), technical 李娜; its village's warning
officer 陈军; its town's flood-control lead 郑磊."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.notify.calls import Calls
from floodwatch.notify.records import Person
from floodwatch.notify.routing import Router
from floodwatch.notify.sinks import load_config_dir, notify_settings
from floodwatch.notify.sms import reply_code
from floodwatch.rules.compile import compile_config
from floodwatch.rules.incidents.text import notice as text_notice
from floodwatch.rules.incidents.text import rule_names
from floodwatch.rules.incidents.tracker import IncidentTracker
from floodwatch.store import Store

CONFIG = compile_config(load_config_dir("config"))
T = 1_800_000_000.0  # the fake wall clock, seconds
SMS = {"type": "sms", "provider": {"url": "http://127.0.0.1:9/"}, "group_wait": "30s"}
SETTINGS: dict[str, Any] = {
    "destinations": {
        "sms": SMS,
        "backup_sms": {**SMS, "group_wait": "0s"},
        "board": {"type": "console"},
    },
    "routes": [
        {
            "to": ["sms", "backup_sms", "board"],
            "min_severity": "orange",
            "recipients": ["station.patrol", "station.technical"],
        }
    ],
    "answer": {"via": ["sms"], "after": "5m", "resends": 1},
}


def make(path: Path, **answer: object) -> Calls:
    """Calls over the store at `path` (reopened if it exists); `answer`
    changes the policy (`answer=None`: no call-and-answer)."""
    settings = {**SETTINGS, "answer": {**SETTINGS["answer"], **answer}}
    if answer.get("answer", 0) is None:
        settings.pop("answer")
    return Calls(Router(notify_settings(settings), CONFIG), Store(path))


def db(c: Calls) -> Store:
    """The real store behind `c` (its `DispatchStore` protocol is narrower)."""
    assert isinstance(c.store, Store)
    return c.store


@pytest.fixture
def calls(tmp_path: Path) -> Iterator[Calls]:
    c = make(tmp_path / "fw.db")
    yield c
    db(c).close()


def alert(
    severity: Severity = Severity.ORANGE,
    step: Transition = Transition.FIRING,
    minute: int = 0,
    ident: str = "maokeng-pond:pond-level:1",
) -> AlertEvent:
    return AlertEvent(
        id=ident,
        rule="pond-level",
        kind="level",
        station="maokeng-pond",
        station_name="毛坑山塘",
        severity=severity,
        previous_severity=None,
        transition=step,
        ts=datetime(2026, 7, 7, 6, 0, tzinfo=UTC) + timedelta(minutes=minute),
        episode_start=datetime(2026, 7, 7, 6, 0, tzinfo=UTC),
        value=311.7,
        threshold=311.6,
        unit="m",
        message_zh="【橙色预警】毛坑村毛坑山塘水位311.70米。",
        message_en="",
    )


def tell(c: Calls, event: AlertEvent, now: float, always: bool = False) -> None:
    """Store a transition, send it where its routes say and call on it, as
    dispatch does (one transaction)."""
    with c.store.transaction():
        db(c).record([event], now)
        targets = c.router.targets(event)
        c.store.enqueue(c._row(event, t) for t in targets)
        c._answer_on(event, targets, now, always)


def due(c: Calls, now: float) -> int:
    with c.store.transaction():
        return c._answers(now)


def called(c: Calls, ident: str = "maokeng-pond:pond-level:1") -> list[tuple[str, int]]:
    return [(call.recipient.name, call.tier) for call in c.ledger.calls(ident)]


def sent(c: Calls, note: str) -> list[tuple[str, str]]:
    """(destination, person) of the rows with this note."""
    return [
        (str(r["destination"]), who.name)
        for r in db(c).outbox()
        if r["note"] == note and isinstance(who := r["recipient"], Person)
    ]


def follow(c: Calls, ident: str = "maokeng-pond:pond-level:1") -> tuple[int, float | None, str]:
    found = db(c).people.follow(ident)
    assert found is not None
    return found[1], found[2], found[3]


def test_people_told_over_a_calling_destination_are_called(calls: Calls) -> None:
    tell(calls, alert(), T)
    assert called(calls) == [("王强", 0), ("李娜", 0)]  # not the board; once each
    assert follow(calls) == (0, T + 300, "calling")
    rows = {(r.destination, r.recipient.name if r.recipient else ""): r for r in
            (calls._row(alert(), t) for t in calls.router.targets(alert()))}  # fmt: skip
    assert rows[("sms", "王强")].after == 30.0  # sms: held its group_wait
    assert rows[("backup_sms", "王强")].after == 0.0 and rows[("board", "")].after == 0.0


def test_unanswered_calls_are_resent_then_escalated_tier_by_tier(
    calls: Calls, caplog: pytest.LogCaptureFixture
) -> None:
    tell(calls, alert(), T)
    assert due(calls, T + 299) == 0
    assert due(calls, T + 300) == 2
    assert sent(calls, "resend:1") == [("sms", "王强"), ("sms", "李娜")]  # over `via` only
    assert due(calls, T + 300) == 0  # not twice
    assert due(calls, T + 600) == 1
    assert sent(calls, "escalation:2") == [("sms", "陈军")]  # the village's warning officer
    assert due(calls, T + 900) == 1
    assert sent(calls, "escalation:3") == [("sms", "郑磊")]  # the town's flood-control lead
    assert called(calls) == [("王强", 0), ("李娜", 0), ("陈军", 1), ("郑磊", 2)]
    with caplog.at_level(logging.WARNING, "floodwatch.notify.dispatch"):
        assert due(calls, T + 1200) == 0
    assert follow(calls) == (4, None, "unanswered")
    assert "no answer from 王强, 李娜, 陈军, 郑磊; left on the unanswered list" in caplog.text
    assert due(calls, T + 9999) == 0


def test_a_tier_of_people_called_already_is_passed_over(tmp_path: Path) -> None:
    c = make(tmp_path / "fw.db", escalate=[["station.patrol"], ["town.flood_lead"]])
    tell(c, alert(), T)
    due(c, T + 300)  # resend
    assert due(c, T + 600) == 1
    assert sent(c, "escalation:2") == [] and sent(c, "escalation:3") == [("sms", "郑磊")]
    assert due(c, T + 900) == 0 and follow(c) == (4, None, "unanswered")


def test_no_tiers_no_resends_straight_to_the_unanswered_list(tmp_path: Path) -> None:
    c = make(tmp_path / "fw.db", escalate=[], resends=0)
    tell(c, alert(), T)
    assert due(c, T + 300) == 0
    assert follow(c) == (1, None, "unanswered")
    assert {p.name for p in c.ledger.unanswered("maokeng-pond:pond-level:1")} == {"王强", "李娜"}


def test_an_acknowledgement_ends_the_calls(calls: Calls) -> None:
    tell(calls, alert(), T)
    with calls.store.transaction():
        assert calls.acknowledge("maokeng-pond:pond-level:1", "值班员刘洋", "web", "", T + 60) == [
            "maokeng-pond:pond-level:1"
        ]
    assert due(calls, T + 300) == 0
    assert follow(calls) == (0, None, "answered")
    assert calls.ledger.unanswered("maokeng-pond:pond-level:1") == []


def test_the_all_clear_ends_the_calls_at_once_and_a_vanished_alert_when_due(
    calls: Calls, tmp_path: Path
) -> None:
    tell(calls, alert(), T)
    tell(calls, alert(Severity.ORANGE, Transition.RESOLVED, minute=3), T + 180)
    assert follow(calls) == (0, None, "closed")
    assert due(calls, T + 300) == 0
    other = make(tmp_path / "other.db")
    tell(other, alert(), T)
    with other.store.transaction():  # gone from the active alerts without a dispatch
        db(other).db.execute("DELETE FROM active")
    assert due(other, T + 300) == 0 and follow(other) == (0, None, "closed")


def test_colours_outside_the_policy_are_not_called_and_end_earlier_calls(calls: Calls) -> None:
    tell(calls, alert(Severity.YELLOW, ident="a:yellow"), T)
    assert called(calls, "a:yellow") == [] and db(calls).people.follow("a:yellow") is None
    tell(calls, alert(), T)
    tell(calls, alert(Severity.YELLOW, Transition.DOWNGRADED, minute=2), T + 120)
    assert follow(calls)[2] == "closed" and due(calls, T + 300) == 0


def test_a_lost_gauge_is_called_whatever_its_colour(tmp_path: Path) -> None:
    c = make(tmp_path / "fw.db", severities=["red"])
    tell(c, alert(Severity.ORANGE, ident="a:orange"), T)
    tell(c, alert(Severity.ORANGE, ident="a:lost"), T, always=True)
    assert called(c, "a:orange") == [] and called(c, "a:lost") == [("王强", 0), ("李娜", 0)]


def test_a_downgrade_within_the_policy_keeps_the_calls_going(calls: Calls) -> None:
    tell(calls, alert(Severity.RED), T)
    tell(calls, alert(Severity.ORANGE, Transition.DOWNGRADED, minute=2), T + 120)
    assert follow(calls) == (0, T + 300, "calling")  # not restarted, not ended
    assert due(calls, T + 300) == 2


def test_an_escalation_calls_afresh(calls: Calls) -> None:
    tell(calls, alert(), T)
    due(calls, T + 300)
    tell(calls, alert(Severity.RED, Transition.ESCALATED, minute=6), T + 360)
    assert follow(calls) == (0, T + 660, "calling")


def test_without_a_policy_nobody_is_called(tmp_path: Path) -> None:
    c = make(tmp_path / "fw.db", answer=None)
    assert c.policy is None
    tell(c, alert(Severity.RED), T)
    assert called(c) == [] and due(c, T + 3600) == 0


def test_a_reply_with_a_code_answers_that_alert_any_other_reply_every_open_call(
    calls: Calls,
) -> None:
    one, two = "maokeng-pond:pond-level:1", "maokeng-pond:pond-level:2"
    tell(calls, alert(ident=one), T)
    tell(calls, alert(ident=two), T)
    assert calls.reply("+86 138-0000-0003", f"收到 {reply_code(two)}，马上到", T + 60) == [two]
    assert db(calls).people.acks(two)[0]["by"] == "王强"
    assert db(calls).people.acks(two)[0]["comment"] == f"收到 {reply_code(two)}，马上到"
    assert not calls.ledger.acknowledged(one)
    assert calls.reply("13800000003", " 收到 ", T + 70) == [one]  # his other open call
    assert db(calls).people.acks(one)[0]["comment"] == "收到"
    assert calls.reply("13800000003", "收到", T + 80) == []  # nothing open any more
    assert due(calls, T + 300) == 0


def test_a_reply_from_an_unknown_number_acknowledges_nothing(
    calls: Calls, caplog: pytest.LogCaptureFixture
) -> None:
    tell(calls, alert(), T)
    code = reply_code("maokeng-pond:pond-level:1")
    with caplog.at_level(logging.WARNING, "floodwatch.notify.dispatch"):
        assert calls.reply("13999999999", code, T + 60) == []
    assert "SMS reply from unknown number 13999999999 ignored" in caplog.text
    assert calls.reply("", code, T + 60) == []
    assert not calls.ledger.acknowledged("maokeng-pond:pond-level:1")
    assert due(calls, T + 300) == 2


def test_calls_survive_a_restart(tmp_path: Path) -> None:
    before = make(tmp_path / "fw.db")
    tell(before, alert(), T)
    due(before, T + 300)
    db(before).close()
    after = make(tmp_path / "fw.db")
    assert due(after, T + 300) == 0  # the resend is not repeated
    assert due(after, T + 600) == 1 and sent(after, "escalation:2") == [("sms", "陈军")]
    assert after.reply("13800000007", "收到", T + 650) == ["maokeng-pond:pond-level:1"]
    db(after).close()


def test_followers_are_those_told_before_on_destinations_still_there(tmp_path: Path) -> None:
    c = make(tmp_path / "fw.db")
    tell(c, alert(), T)
    told = {(t.destination, t.recipient_id) for t in c._followers(alert())}
    assert told == {
        ("sms", "wang-qiang"),
        ("sms", "li-na"),
        ("backup_sms", "wang-qiang"),
        ("backup_sms", "li-na"),
    }  # fmt: skip  (the board is no person)
    db(c).close()
    reloaded = {**SETTINGS, "destinations": {"sms": SMS, "board": {"type": "console"}}}
    reloaded["routes"] = [{**SETTINGS["routes"][0], "to": ["sms", "board"]}]
    after = Calls(Router(notify_settings(reloaded), CONFIG), Store(tmp_path / "fw.db"))
    assert {t.destination for t in after._followers(alert())} == {"sms"}  # backup_sms removed
    db(after).close()


def test_a_follow_up_tells_an_incident_as_it_stands(calls: Calls) -> None:
    """A resend or escalation of "升级为橙色预警" reaches people who may never
    have heard the yellow: it reads "【橙色预警】…" (`stages/wording.py`)."""
    tracker = IncidentTracker(CONFIG.config.stations, CONFIG.config.engine.incidents)
    stations = {s.id: s for s in CONFIG.config.stations}
    names = rule_names(list(CONFIG.config.rules))
    tracker.apply([alert(Severity.YELLOW)])
    (change,) = tracker.apply([alert(Severity.ORANGE, Transition.ESCALATED, 5)]).changes
    notice = text_notice(change, stations, names)
    (target,) = [t for t in calls.router.targets(notice) if t.destination == "sms"][:1]
    assert calls._row(notice, target).event.message_zh.startswith(
        "【升级为橙色预警】毛坑村毛坑山塘"
    )
    for note in ("resend:1", "escalation:2", "reminder:1"):
        row = calls._row(notice, target, note)
        assert row.event.message_zh.startswith("【橙色预警】毛坑村毛坑山塘"), row.event.message_zh
        assert row.note == note and row.event.transition is Transition.FIRING
    keys = {calls._row(notice, target, n).key for n in ("", "resend:1", "resend:2")}
    assert len(keys) == 3  # each follow-up its own idempotency key
