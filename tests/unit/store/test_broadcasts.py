"""`store/broadcasts.py`: what each village's loudspeakers were last told
about each alert (the CAP identifiers an update or cancel refers to), which
villages have a standing warning not repeated lately, and the retained
message of each topic, across a restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from floodwatch.store import Store
from floodwatch.store.broadcasts import Broadcasts

MAOKENG, XIAWU = "330182104201", "330182104202"
FIRST = ("fw-1", "2026-07-07T14:00:00+08:00")
SECOND = ("fw-2", "2026-07-07T14:10:00+08:00")


def sent(
    b: Broadcasts,
    village: str,
    alert: str,
    message: tuple[str, str],
    *,
    active: bool = True,
    reference: tuple[str, str] | None = None,
    event: str = "{}",
) -> None:
    b.broadcast_sent(village, alert, *message, "Severe", event, active, reference)


def _at(store: Store, village: str, alert: str, at: float) -> None:
    """Back-date a message (when it was sent is the wall clock's)."""
    store.db.execute(
        "UPDATE broadcasts SET at = ? WHERE village = ? AND alert = ?", (at, village, alert)
    )


def test_the_last_message_of_an_alert_in_a_village_and_its_references(store: Store) -> None:
    b = Broadcasts(store.db)
    assert b.broadcast_previous(MAOKENG, "a1") is None
    assert b.broadcast_reference(MAOKENG, "a1") is None
    sent(b, MAOKENG, "a1", FIRST)
    assert b.broadcast_previous(MAOKENG, "a1") == FIRST
    assert b.broadcast_reference(MAOKENG, "a1") is None  # an alert: refers to nothing
    sent(b, MAOKENG, "a1", SECOND, reference=FIRST)  # its update
    assert b.broadcast_previous(MAOKENG, "a1") == SECOND
    assert b.broadcast_reference(MAOKENG, "a1") == FIRST
    assert b.broadcast_previous(XIAWU, "a1") is None  # per village
    assert b.broadcast_previous(MAOKENG, "a2") is None  # per alert


def test_the_standing_warnings_of_a_village_oldest_first(store: Store) -> None:
    b = Broadcasts(store.db)
    sent(b, MAOKENG, "a2", FIRST, event='{"id": "a2"}')
    sent(b, MAOKENG, "a1", FIRST, event='{"id": "a1"}')
    sent(b, MAOKENG, "a3", FIRST, active=False)  # cancelled
    sent(b, XIAWU, "a4", FIRST)
    _at(store, MAOKENG, "a1", 100.0)
    _at(store, MAOKENG, "a2", 200.0)
    assert b.broadcast_active(MAOKENG) == [("a1", '{"id": "a1"}'), ("a2", '{"id": "a2"}')]
    sent(b, MAOKENG, "a1", SECOND, active=False, reference=FIRST)  # lifted
    assert [a for a, _ in b.broadcast_active(MAOKENG)] == ["a2"]
    assert b.broadcast_active("000000000000") == []


def test_stale_villages_have_a_standing_warning_and_nothing_sent_since(store: Store) -> None:
    b = Broadcasts(store.db)
    sent(b, MAOKENG, "a1", FIRST)
    sent(b, XIAWU, "a2", FIRST, active=False)  # only a cancel standing: nothing to repeat
    _at(store, MAOKENG, "a1", 100.0)
    _at(store, XIAWU, "a2", 100.0)
    assert b.broadcast_stale(before=100.0) == []  # sent at the limit: not stale yet
    assert b.broadcast_stale(before=100.5) == [MAOKENG]
    sent(b, MAOKENG, "a3", FIRST, active=False)  # another message to the village just now
    assert b.broadcast_stale(before=time.time() - 60) == []


def test_the_retained_message_of_each_topic_is_the_last_one(store: Store) -> None:
    b = Broadcasts(store.db)
    assert b.retained() == {}
    b.retained_sent("broadcast/330182104201", b"<alert>first</alert>", 1000.0)
    b.retained_sent("broadcast/330182104201", b"\x00<alert>\xe4\xb8\xad</alert>", 2000.0)
    b.retained_sent("broadcast/330182104202", b"", 1500.0)  # a cleared topic
    assert b.retained() == {
        "broadcast/330182104201": (b"\x00<alert>\xe4\xb8\xad</alert>", 2000.0),
        "broadcast/330182104202": (b"", 1500.0),
    }


def test_the_broadcast_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "fw.db"
    store = Store(path)
    b = Broadcasts(store.db)
    sent(b, MAOKENG, "a1", SECOND, reference=FIRST)
    b.retained_sent("broadcast/330182104201", b"payload", 1000.0)
    store.close()
    again = Store(path)
    b = Broadcasts(again.db)
    assert b.broadcast_reference(MAOKENG, "a1") == FIRST
    assert b.retained() == {"broadcast/330182104201": (b"payload", 1000.0)}
    again.close()


def test_a_message_recorded_in_a_transaction_rolled_back_is_not_kept(store: Store) -> None:
    b = Broadcasts(store.db)
    sent(b, MAOKENG, "a1", FIRST)
    with pytest.raises(RuntimeError), store.transaction():
        sent(b, MAOKENG, "a1", SECOND, reference=FIRST)
        b.retained_sent("broadcast/330182104201", b"x", 1.0)
        raise RuntimeError("crash before the commit")
    assert b.broadcast_previous(MAOKENG, "a1") == FIRST and b.retained() == {}
