"""`store/outbox.py`: deliveries enqueued once per key (also from a second
process), due by time or strictly in the order made, each attempt and final
outcome recorded, retries and holds, batches, pruning, and the alert's
delivery timeline — on a real SQLite file, across a restart and a crash."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import msgspec
import pytest

from floodwatch.alerts.state import Severity, Transition
from floodwatch.notify.records import Delivery, Outgoing, Person, Village
from floodwatch.store import Store
from floodwatch.store.outbox import Outbox
from tests.unit.store.events import event

WANG = Person("wang-qiang", "王强", "13800000003", "station.patrol")
LI = Person("li-ming", "李明", "13800000004", "station.technical")
VILLAGE = Village("330182104201")
WARNING = event()
ALL_CLEAR = event(transition=Transition.RESOLVED, minute=30)
LATER = 10**10  # a `now` after anything enqueued


def out(key: str, destination: str = "duty", **kw: object) -> Outgoing:
    return Outgoing(key, destination, kw.pop("e", WARNING), **kw)  # type: ignore[arg-type]


def keys(rows: list[Delivery]) -> list[str]:
    return [r.key for r in rows]


def test_a_key_enqueued_again_is_left_as_it_is(store: Store) -> None:
    box = Outbox(store.db)
    assert box.enqueue([out("k1"), out("k2")]) == 2
    box.retry_at(["k1"], LATER, "timeout")
    assert box.enqueue([out("k1", e=ALL_CLEAR), out("k3")]) == 1  # k1 not replaced nor reset
    [k1] = [d for d in box.deliveries() if d.key == "k1"]
    assert (k1.attempts, k1.alert.transition) == (1, Transition.FIRING)
    assert keys(box.deliveries()) == ["k1", "k2", "k3"]


def test_rows_are_read_back_as_they_were_enqueued(store: Store) -> None:
    box = Outbox(store.db)
    box.enqueue(
        [
            out("k1", "sms", recipient=WANG, note="resend"),
            out("k2", "broadcast", recipient=VILLAGE),
            out("k3"),
        ]
    )
    d1, d2, d3 = box.deliveries()
    expected = ("sms", WANG, "resend", 0, None)
    assert (d1.destination, d1.recipient, d1.note, d1.attempts, d1.batch) == expected
    assert d1.alert == WARNING and msgspec.json.decode(d1.event)["id"] == WARNING.id
    assert (d2.recipient, d3.recipient) == (VILLAGE, None)
    assert d1.created <= d2.created <= d3.created


def test_a_transaction_rolled_back_enqueues_nothing(store: Store) -> None:
    """The rows are written with the transition they carry: a crash before
    the commit leaves neither."""
    box = Outbox(store.db)
    with pytest.raises(RuntimeError), store.transaction():
        store.record([WARNING])
        box.enqueue([out("k1"), out("k2")])
        raise RuntimeError("crash between the enqueue and the commit")
    assert box.deliveries() == [] and store.transitions() == []
    with store.transaction():  # the service records it again after the restart
        assert box.enqueue([out("k1"), out("k2")]) == 2


def test_two_stores_on_one_file_enqueue_a_key_once(tmp_path: Path) -> None:
    one, two = Store(tmp_path / "fw.db"), Store(tmp_path / "fw.db")
    with one.transaction():
        assert Outbox(one.db).enqueue([out("k1")]) == 1
    with two.transaction():
        assert Outbox(two.db).enqueue([out("k1"), out("k2")]) == 1
    assert keys(Outbox(one.db).deliveries()) == ["k1", "k2"]
    one.close()
    two.close()


def test_pending_rows_and_their_attempts_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "fw.db"
    store = Store(path)
    Outbox(store.db).enqueue([out("k1"), out("k2")])
    Outbox(store.db).retry_at(["k1"], 0.0, "503")
    Outbox(store.db).delivered(["k2"], "done")
    store.close()
    again = Store(path)
    [row] = Outbox(again.db).due("duty", time.time())
    assert (row.key, row.attempts) == ("k1", 1)  # sent again under the same key
    again.close()


def test_due_rows_are_this_destinations_pending_ones_by_next_at(store: Store) -> None:
    box = Outbox(store.db)
    now = time.time()
    box.enqueue([out("late", after=60), out("soon", after=0), out("sms", "sms"), out("silenced")])
    store.db.execute("UPDATE outbox SET state = 'silenced' WHERE key = 'silenced'")
    assert keys(box.due("duty", now + 1)) == ["soon"]
    assert keys(box.due("duty", now + 61)) == ["soon", "late"]
    assert keys(box.due("duty", now + 61, limit=1)) == ["soon"]
    assert box.due("nowhere", LATER) == []
    box.retry_at(["soon"], now + 120, "timeout")
    assert keys(box.due("duty", now + 61)) == ["late"]
    assert box.next_due("duty") == pytest.approx(now + 60, abs=1)
    assert box.next_due("nowhere") is None


def test_a_row_is_due_at_its_time_exactly(store: Store) -> None:
    box = Outbox(store.db)
    box.enqueue([out("k1")])
    box.hold(["k1"], 1000.0)
    assert box.due("duty", 999.999) == []
    assert keys(box.due("duty", 1000.0)) == ["k1"]


def test_rows_due_at_the_same_time_go_in_the_order_given(store: Store) -> None:
    box = Outbox(store.db)
    box.enqueue([out(k) for k in ("c", "a", "b")])
    box.hold(["a", "b", "c"], 5.0)
    assert keys(box.due("duty", 5.0)) == ["c", "a", "b"]


def test_in_order_a_row_waiting_for_its_retry_holds_back_later_ones(store: Store) -> None:
    box = Outbox(store.db)
    box.enqueue([out("warning", "broadcast"), out("update", "broadcast"), out("other")])
    box.enqueue([out("all-clear", "broadcast", e=ALL_CLEAR)])
    now = time.time()
    assert keys(box.due_in_order("broadcast", now + 1)) == ["warning", "update", "all-clear"]
    box.retry_at(["warning"], now + 30, "not connected")
    box.delivered(["update"], "done")
    assert box.due_in_order("broadcast", now + 1) == []  # the all-clear waits too
    assert box.next_in_order("broadcast") == now + 30
    assert keys(box.due_in_order("broadcast", now + 30)) == ["warning", "all-clear"]
    assert keys(box.due_in_order("broadcast", now + 30, limit=1)) == ["warning"]
    box.retry_now("broadcast", now + 1)  # reconnected: the backlog at once, oldest first
    assert keys(box.due_in_order("broadcast", now + 1)) == ["warning", "all-clear"]
    box.delivered(["warning", "all-clear"], "done")
    assert box.next_in_order("broadcast") is None


def test_in_order_survives_the_clock_stepping_back_between_two_enqueues(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NTP steps a gateway's clock back a second between the warning and the
    all-clear: the all-clear must still not overtake the warning."""
    box = Outbox(store.db)
    clock = [1_800_000_000.0]
    monkeypatch.setattr("floodwatch.store.outbox.time.time", lambda: clock[0])
    box.enqueue([out(f"sms-{i}", "sms") for i in range(3)] + [out("warning", "broadcast")])
    clock[0] -= 1.0
    box.enqueue([out("all-clear", "broadcast", e=ALL_CLEAR)])
    assert keys(box.due_in_order("broadcast", LATER)) == ["warning", "all-clear"]
    box.retry_at(["warning"], 1_800_000_100.0, "not connected")
    assert box.next_in_order("broadcast") == 1_800_000_100.0  # the warning's, not the clear's
    assert box.due_in_order("broadcast", 1_800_000_050.0) == []


def test_a_final_outcome_is_recorded_once_with_its_attempt(store: Store) -> None:
    box = Outbox(store.db)
    box.enqueue([out("ok"), out("refused"), out("again")])
    box.retry_at(["ok"], 0.0, "timeout")
    box.delivered(["ok"], "done")
    box.delivered(["refused"], "dead", "400 bad number")
    assert keys(box.due("duty", LATER)) == ["again"]
    rows = {r["key"]: r for r in box.outbox()}
    ok = rows["ok"]
    assert (ok["state"], ok["attempts"], ok["last_error"]) == ("done", 2, None)
    assert (rows["refused"]["state"], rows["refused"]["last_error"]) == ("dead", "400 bad number")
    assert rows["ok"]["done_at"] is not None and rows["again"]["done_at"] is None
    [timeline] = [d for d in box.deliveries_of(WARNING.id) if d["key"] == "ok"]
    assert [t["outcome"] for t in timeline["tries"]] == ["failed", "done"]  # type: ignore[attr-defined]
    assert timeline["tries"][0]["error"] == "timeout"  # type: ignore[index]


def test_retry_now_wakes_retries_not_rows_held_for_grouping(store: Store) -> None:
    box = Outbox(store.db)
    now = time.time()
    box.enqueue([out("retrying"), out("grouped", after=600), out("other", "sms")])
    box.retry_at(["retrying"], now + 600, "timeout")
    box.retry_at(["other"], now + 600, "timeout")
    box.hold(["grouped"], now + 600)  # a recipient's rate limit: no attempt counted
    assert [r["attempts"] for r in box.outbox() if r["key"] == "grouped"] == [0]
    box.retry_now("duty", now)
    assert keys(box.due("duty", now)) == ["retrying"]
    assert box.due("sms", now) == []  # another destination's retries wait on


def test_pending_for_matches_the_recipient_exactly(store: Store) -> None:
    box = Outbox(store.db)
    box.enqueue(
        [
            out("wang-1", "sms", recipient=WANG),
            out("li", "sms", recipient=LI),
            out("wang-2", "sms", recipient=WANG),
            out("village", "broadcast", recipient=VILLAGE),
            out("machine"),
        ]
    )
    box.delivered(["wang-2"], "done")
    assert keys(box.pending_for("sms", WANG)) == ["wang-1"]
    assert keys(box.pending_for("broadcast", VILLAGE)) == ["village"]
    assert keys(box.pending_for("duty", None)) == ["machine"]
    assert box.pending_for("sms", Person("wang-qiang", "王强", "13800000099", "person")) == []


def test_a_batch_is_counted_once_in_what_was_sent(store: Store) -> None:
    box = Outbox(store.db)
    box.enqueue([out(f"k{i}", "sms", recipient=WANG) for i in range(4)])
    box.set_batch(["k0", "k1", "k2"], "k0")
    assert keys(box.in_batch("k0")) == ["k0", "k1", "k2"]
    assert {d.batch for d in box.in_batch("k0")} == {"k0"}
    since = time.time() - 1
    assert box.sent_to("sms", WANG, since) == 0  # none confirmed yet
    box.delivered(["k0", "k1", "k2", "k3"], "done")
    assert box.sent_to("sms", WANG, since) == 2  # the batch and k3
    assert box.sent_to("sms", LI, since) == 0
    assert box.sent_to("sms", WANG, time.time() + 1) == 0


def test_the_timeline_of_an_alert_names_each_delivery_and_transition(store: Store) -> None:
    box = Outbox(store.db)
    other = event("other:pond-level:def")
    box.enqueue([out("fire", "sms", recipient=WANG), out("x", e=other)])
    box.enqueue([out("clear", "sms", recipient=WANG, e=ALL_CLEAR, note="resend")])
    timeline = box.deliveries_of(WARNING.id)
    assert [
        (d["key"], d["transition"], d["severity"], d["recipient"], d["note"]) for d in timeline
    ] == [("fire", "firing", "orange", WANG, ""), ("clear", "resolved", "orange", WANG, "resend")]
    assert timeline[1]["ts"] == "2026-07-07T06:30:00Z" and timeline[0]["tries"] == []
    assert box.states_of(WARNING.id) == {"pending": 2}
    assert box.deliveries_of("never") == [] and box.states_of("never") == {}


def test_who_a_notice_reached_and_who_a_silence_held(store: Store) -> None:
    box = Outbox(store.db)
    box.enqueue([out("a", "sms", recipient=WANG), out("b", "broadcast", recipient=VILLAGE)])
    box.enqueue(
        [out("c", "sms", recipient=LI), out("d", "sms", recipient=LI, note="resend")],
        state="silenced",
    )
    box.delivered(["a"], "dead", "refused")
    assert box.reached(WARNING.id) == [("sms", WANG), ("broadcast", VILLAGE)]  # dead ones too
    assert box.held(WARNING.id) == [("sms", LI)]  # once, however many rows
    assert box.states_of(WARNING.id) == {"dead": 1, "pending": 1, "silenced": 2}
    assert box.due("sms", LATER) == []  # silenced rows are never sent


def test_outbox_since_lists_the_rows_made_from_then(store: Store) -> None:
    box = Outbox(store.db)
    box.enqueue([out("old")])
    store.db.execute("UPDATE outbox SET created = 100 WHERE key = 'old'")
    box.enqueue([out("new", recipient=VILLAGE)])
    assert [r["key"] for r in box.outbox()] == ["old", "new"]
    [new] = box.outbox(since=101)
    assert (new["key"], new["recipient"], new["alert"]) == ("new", VILLAGE, WARNING.id)


def test_pruning_keeps_pending_rows_and_the_rows_finished_at_the_boundary(store: Store) -> None:
    box = Outbox(store.db)
    box.enqueue([out("pending"), out("done-early"), out("done-at"), out("silenced")])
    box.delivered(["done-early", "done-at"], "done")
    store.db.execute("UPDATE outbox SET done_at = 100 WHERE key = 'done-early'")
    store.db.execute("UPDATE outbox SET done_at = 200 WHERE key = 'done-at'")
    store.db.execute("UPDATE outbox SET created = 50, state = 'silenced' WHERE key = 'silenced'")
    store.db.execute("UPDATE outbox SET created = 0 WHERE key = 'pending'")
    assert box.prune_deliveries(before=200) == 2
    assert keys(box.deliveries()) == ["pending", "done-at"]
    assert [r[0] for r in store.db.execute("SELECT key FROM attempts")] == ["done-at"]
    assert box.prune_deliveries(before=200) == 0


def test_a_malformed_recipient_in_a_row_is_an_error_not_a_machine_row(store: Store) -> None:
    box = Outbox(store.db)
    box.enqueue([out("k1", "sms", recipient=WANG)])
    store.db.execute("UPDATE outbox SET recipient = '{not json' WHERE key = 'k1'")
    with pytest.raises(ValueError, match="not a person"):
        box.due("sms", LATER)


def test_severities_and_transitions_come_from_the_event_carried(store: Store) -> None:
    box = Outbox(store.db)
    red = event(severity=Severity.RED, transition=Transition.ESCALATED, minute=10)
    box.enqueue([out("k1", e=red)])
    [row] = box.deliveries_of(WARNING.id)
    assert (row["transition"], row["severity"]) == ("escalated", "red")


def test_two_processes_enqueueing_the_same_keys_at_once_make_each_row_once(
    tmp_path: Path,
) -> None:
    """Two writers on one file at the same time (the service, a CLI command):
    `BEGIN IMMEDIATE` serialises them, each key is enqueued by one of them."""
    path = tmp_path / "fw.db"
    Store(path).close()
    counts: list[int] = []
    go = threading.Barrier(2)

    def writer() -> None:
        store = Store(path)  # its own connection, in its own thread
        try:
            go.wait()
            for i in range(40):
                with store.transaction():
                    counts.append(Outbox(store.db).enqueue([out(f"k{i}"), out(f"k{i}-b")]))
        finally:
            store.close()

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 80 and len(counts) == 80
    store = Store(path)
    assert len(Outbox(store.db).deliveries()) == 80
    store.close()
