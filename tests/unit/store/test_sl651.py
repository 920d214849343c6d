"""The SL 651 receiver's memory (store/sl651.py) on real SQLite files: reports
remembered once and read back oldest first, the last rain counter per
station, the oldest forgotten past `keep`; a broker-acknowledged batch written
in one transaction (all or nothing); the gateway's own file, kept across a
restart and moved aside when it cannot be read."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from floodwatch.store import Store
from floodwatch.store.sl651 import GatewayState, Sl651Memory

T = datetime(2026, 7, 7, 6, 0, tzinfo=UTC)


def test_reports_and_counters_are_remembered_and_read_back(store: Store) -> None:
    with store.transaction():
        store.sl651.remember(
            [("0012345678", 0x32, 7, T), ("0012345678", 0x2F, 8, None)],
            [("0012345678", T, 120.5)],
        )
    with store.transaction():
        store.sl651.remember(
            [("0012345678", 0x32, 7, T), ("0087654321", 0x32, 1, T + timedelta(minutes=5))],
            [("0012345678", T + timedelta(minutes=5), 121.0), ("0087654321", T, 3.0)],
        )
    counters, seen = store.sl651.load()
    assert counters == {
        "0012345678": (T + timedelta(minutes=5), 121.0),  # the last one of the station
        "0087654321": (T, 3.0),
    }
    assert seen == [  # each once, oldest first; a report without observation time too
        ("0012345678", 0x32, 7, T),
        ("0012345678", 0x2F, 8, None),
        ("0087654321", 0x32, 1, T + timedelta(minutes=5)),
    ]


def test_a_new_memory_is_empty(store: Store) -> None:
    assert store.sl651.load() == ({}, [])
    with store.transaction():
        store.sl651.remember([], [])  # nothing to remember: nothing written
    assert store.sl651.load() == ({}, [])


def test_past_keep_the_oldest_reports_are_forgotten(store: Store) -> None:
    memory = Sl651Memory(store.db, keep=3)
    with store.transaction():
        for serial in range(1, 1002):
            memory.remember([("st", 0x32, serial, T)], [])
    _, seen = memory.load()
    assert [s[2] for s in seen] == [999, 1000, 1001]  # the last `keep`, oldest first
    # the table is trimmed now and then (at every thousandth report): 998 and after
    assert store.db.execute("SELECT count(*) FROM sl651_seen").fetchone() == (4,)
    assert len(Sl651Memory(store.db, keep=2).load()[1]) == 2


def test_a_batch_is_written_in_one_transaction_or_not_at_all(store: Store) -> None:
    def stored(serial: int) -> None:
        store.sl651.remember([("st", 0x32, serial, T)], [("st", T, float(serial))])

    store.sl651.write([lambda: stored(1), lambda: stored(2)])
    assert [s[2] for s in store.sl651.load()[1]] == [1, 2]

    def broken() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.sl651.write([lambda: stored(3), broken])
    counters, seen = store.sl651.load()
    assert [s[2] for s in seen] == [1, 2] and counters["st"] == (T, 2.0)  # 3 rolled back
    assert not store.db.in_transaction


def test_the_gateways_file_keeps_its_memory_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "gw" / "state.db"
    state = GatewayState(path)
    state.memory.write([lambda: state.memory.remember([("st", 0x32, 1, T)], [("st", T, 9.5)])])
    state.close()
    again = GatewayState(path)
    assert again.memory.load() == ({"st": (T, 9.5)}, [("st", 0x32, 1, T)])
    again.close()


def test_a_gateway_file_that_cannot_be_read_is_moved_aside_and_a_new_one_made(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"\x00not sqlite\x00" * 500)
    state = GatewayState(path)
    assert state.memory.load() == ({}, [])
    [aside] = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert aside.read_bytes().startswith(b"\x00not sqlite")
    state.memory.write([lambda: state.memory.remember([("st", 0x32, 1, None)], [])])
    state.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM sl651_seen").fetchone() == (1,)
