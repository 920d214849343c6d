"""`store/alerts.py`: the transition ledger (each transition once, whoever
records it again: a restart's replay, a second store on the file) and the
active alerts following the last transition stored; the history filters,
the live stream's rows."""

from __future__ import annotations

import threading
from pathlib import Path

import msgspec
import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Status, Transition
from floodwatch.readings import ts_to_ms
from floodwatch.store import Store
from floodwatch.store.alerts import Alerts
from tests.unit.store.events import T0, event

POND = "maokeng-pond:pond-level:abc"
CULVERT = "maokeng-culvert:culvert-level:def"
FIRING = event(POND)
ESCALATED = event(POND, transition=Transition.ESCALATED, severity=Severity.RED, minute=10)
RESOLVED = event(POND, transition=Transition.RESOLVED, severity=Severity.RED, minute=40)
OTHER = event(
    CULVERT,
    station="maokeng-culvert",
    rule="culvert-level",
    minute=5,
    start=5,
    severity=Severity.YELLOW,
    incident="inc-1",
)


def ids(events: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(e["id"], e["transition"]) for e in events]


def test_recording_says_which_transitions_are_new(store: Store) -> None:
    alerts = Alerts(store.db)
    assert alerts.record([FIRING, OTHER]) == [FIRING, OTHER]
    assert alerts.record([FIRING, ESCALATED]) == [ESCALATED]  # a replay adds nothing twice
    assert alerts.record([FIRING, OTHER, ESCALATED]) == []
    assert ids(alerts.transitions()) == [(POND, "firing"), (CULVERT, "firing"), (POND, "escalated")]


def test_a_transition_comes_back_as_it_was_recorded(store: Store) -> None:
    alerts = Alerts(store.db)
    alerts.record([OTHER], at=1_800_000_000.5)
    [stored] = alerts.transitions()
    assert AlertEvent.from_json(stored) == OTHER
    stored_at = store.db.execute("SELECT stored_at FROM transitions").fetchone()
    assert stored_at == (1_800_000_000_500,)


def test_active_follows_the_last_transition_of_each_alert(store: Store) -> None:
    alerts = Alerts(store.db)
    assert alerts.active() == [] and not alerts.is_active(POND)
    alerts.record([FIRING, OTHER])
    assert ids(alerts.active()) == [(POND, "firing"), (CULVERT, "firing")]  # by episode start
    alerts.record([ESCALATED])
    assert alerts.active_one(POND) == ESCALATED.to_json()
    assert alerts.active_by_severity() == {"red": 1, "yellow": 1}
    alerts.record([RESOLVED])
    assert not alerts.is_active(POND) and alerts.active_one(POND) is None
    assert ids(alerts.active()) == [(CULVERT, "firing")]
    assert alerts.known(POND)  # its transitions stay in the ledger


def test_a_transition_recorded_again_does_not_bring_back_a_resolved_alert(store: Store) -> None:
    """`active` follows the last transition stored: a replay that hands an
    old firing in again (it is not new) must not make the alert active."""
    alerts = Alerts(store.db)
    alerts.record([FIRING, ESCALATED, RESOLVED])
    assert alerts.record([ESCALATED]) == []
    assert alerts.active() == []
    alerts.record([OTHER])
    assert (
        alerts.record(
            [
                event(
                    CULVERT,
                    station="maokeng-culvert",
                    rule="culvert-level",
                    minute=5,
                    start=5,
                    severity=Severity.YELLOW,
                )
            ]
        )
        == []
    )
    assert alerts.active_in("inc-1") == [OTHER.to_json()]  # nor change what is active


def test_an_alert_resolved_without_firing_here_is_stored_and_not_active(store: Store) -> None:
    alerts = Alerts(store.db)
    assert alerts.record([RESOLVED]) == [RESOLVED]
    assert alerts.active() == [] and alerts.known(POND)


def test_a_rolled_back_transaction_records_nothing(store: Store) -> None:
    alerts = Alerts(store.db)
    with pytest.raises(RuntimeError), store.transaction():
        assert alerts.record([FIRING]) == [FIRING]
        raise RuntimeError("crash before the commit")
    assert not alerts.known(POND) and alerts.active() == []
    with store.transaction():
        assert alerts.record([FIRING]) == [FIRING]  # new again after the restart


def test_two_stores_on_one_file_store_a_transition_once(tmp_path: Path) -> None:
    one, two = Store(tmp_path / "fw.db"), Store(tmp_path / "fw.db")
    with one.transaction():
        assert Alerts(one.db).record([FIRING]) == [FIRING]
    with two.transaction():
        assert Alerts(two.db).record([FIRING, ESCALATED]) == [ESCALATED]
    assert ids(Alerts(one.db).active()) == [(POND, "escalated")]
    one.close()
    two.close()


def test_the_transitions_of_one_alert_are_in_event_time_order(store: Store) -> None:
    alerts = Alerts(store.db)
    alerts.record([ESCALATED, OTHER], at=2.0)
    alerts.record([FIRING], at=3.0)  # stored later, happened earlier
    assert ids(alerts.of_alert(POND)) == [(POND, "firing"), (POND, "escalated")]
    assert alerts.of_alert("unknown") == [] and not alerts.known("unknown")


def _storm(alerts: Alerts) -> None:
    drill = event("drill:pond-level:x", status=Status.EXERCISE, minute=20, start=20)
    alerts.record([FIRING, OTHER, ESCALATED, drill, RESOLVED])


def test_history_is_newest_first_and_every_filter_narrows_it(store: Store) -> None:
    alerts = Alerts(store.db)
    _storm(alerts)
    ms = ts_to_ms(T0)
    assert [e["ts"] for e in alerts.history()] == sorted(
        (str(e["ts"]) for e in alerts.transitions()), reverse=True
    )
    assert len(alerts.history(limit=2)) == 2
    assert ids(alerts.history(stations=["maokeng-culvert"])) == [(CULVERT, "firing")]
    assert alerts.history(stations=[]) == []  # no station (a town without any): nothing
    assert len(alerts.history(severities=[])) == 5  # no severity given: any
    assert ids(alerts.history(rule="culvert-level")) == [(CULVERT, "firing")]
    assert ids(alerts.history(status="exercise")) == [("drill:pond-level:x", "firing")]
    assert ids(alerts.history(severities=["red"])) == [(POND, "resolved"), (POND, "escalated")]
    window = alerts.history(since_ms=ms + 5 * 60_000, until_ms=ms + 10 * 60_000)  # inclusive
    assert ids(window) == [(POND, "escalated"), (CULVERT, "firing")]
    both = alerts.history(stations=["maokeng-pond"], severities=["orange"], status="actual")
    assert ids(both) == [(POND, "firing")]


def test_the_live_stream_reads_the_rows_after_the_last_one_it_sent(store: Store) -> None:
    alerts = Alerts(store.db)
    alerts.record([FIRING, OTHER])
    first = alerts.rowid(FIRING)
    assert first is not None and alerts.rowid(ESCALATED) is None
    alerts.record([ESCALATED])
    after = alerts.after(first, limit=10)
    assert [row for row, _ in after] == sorted(row for row, _ in after)
    assert [msgspec.json.decode(body)["id"] for _, body in after] == [CULVERT, POND]
    assert len(alerts.after(first, limit=1)) == 1
    assert alerts.after(after[-1][0], limit=10) == []


def test_two_processes_recording_the_same_storm_at_once_store_each_transition_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fw.db"
    Store(path).close()
    storm = [event(f"pond:level:{n}", minute=n, start=n) for n in range(30)]
    new: list[AlertEvent] = []
    go = threading.Barrier(2)

    def writer() -> None:
        store = Store(path)
        try:
            go.wait()
            for e in storm:
                with store.transaction():
                    new.extend(Alerts(store.db).record([e]))
        finally:
            store.close()

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(e.id for e in new) == sorted(e.id for e in storm)  # each new once
    store = Store(path)
    assert len(Alerts(store.db).transitions()) == 30 and len(Alerts(store.db).active()) == 30
    store.close()
