"""The supervised connection contract and the in-order backlog, without a
broker (a destination's health: test_health.py (the broker restarts themselves are
`tests/integration/test_broker_restart.py`; the backoff,
`tests/unit/ingest/test_backoff.py`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from floodwatch.ingest.backoff import Backoff
from floodwatch.notify.connection import Connection
from floodwatch.notify.health import Health
from floodwatch.store import Store


def test_a_row_waiting_for_its_retry_holds_back_every_later_row(tmp_path: Path) -> None:
    store = Store(tmp_path / "fw.db")
    for key, next_at, created in (("first", 50.0, 1.0), ("second", 0.0, 2.0), ("third", 0.0, 3.0)):
        store.db.execute(
            "INSERT INTO outbox (key, destination, event, state, attempts, next_at, created) "
            "VALUES (?, 'village', '{}', 'pending', 1, ?, ?)",
            (key, next_at, created),
        )
    assert [d.key for d in store.due("village", 10.0)] == ["second", "third"]  # any order
    assert store.due_in_order("village", 10.0) == []  # the first is not due: nothing goes
    assert store.next_in_order("village") == 50.0
    assert [d.key for d in store.due_in_order("village", 60.0)] == ["first", "second", "third"]
    store.close()


class Flaky(Connection):
    """A connection that cannot connect `refusals` times, then can; `drop()`
    loses it."""

    def __init__(self, refusals: int, health: Health | None = None) -> None:
        super().__init__("flaky", Backoff(0.01, 0.02), health)
        self.refusals = refusals
        self.opened = 0
        self.closed = 0
        self.gone = asyncio.Event()

    async def _open(self) -> None:
        if self.refusals:
            self.refusals -= 1
            raise ConnectionError("refused")
        self.opened += 1
        self.gone.clear()

    async def _watch(self) -> None:
        await self.gone.wait()

    async def _close(self) -> None:
        self.closed += 1

    def drop(self) -> None:
        self.gone.set()


@pytest.mark.asyncio
async def test_a_connection_is_kept_open_through_refusals_and_losses() -> None:
    told: list[tuple[str, float | None, str]] = []
    health = Health("flaky", 0.0, lambda *args: told.append(args))
    connection = Flaky(refusals=2, health=health)
    connected: list[bool] = []

    async def on_connected() -> None:
        assert not connection.ready.is_set()  # before senders may go
        connected.append(True)

    connection.on_connected.append(on_connected)
    await connection.start()  # returns at once, though it cannot connect yet
    assert not connection.ready.is_set()
    await asyncio.wait_for(connection.ready.wait(), 2)
    assert connection.opened == 1 and connected == [True]
    assert told[0][0] == "flaky" and told[0][2].startswith("cannot connect")
    connection.drop()  # lost while idle: seen without a send
    await asyncio.sleep(0.01)
    await asyncio.wait_for(connection.ready.wait(), 2)
    assert connection.opened == 2 and connected == [True, True]
    connection.lost("publish failed")  # a sender's failure: reconnect now
    assert not connection.ready.is_set()
    await asyncio.wait_for(connection.ready.wait(), 2)
    assert connection.opened == 3
    await connection.aclose()
    assert not connection.ready.is_set() and connection.closed >= 3


@pytest.mark.asyncio
async def test_a_failing_on_connected_callback_counts_as_a_lost_connection() -> None:
    connection = Flaky(refusals=0)
    calls = 0

    async def reassert() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise TimeoutError("publish timed out")

    connection.on_connected.append(reassert)
    await connection.start()
    await asyncio.wait_for(connection.ready.wait(), 2)
    assert calls == 2 and connection.opened == 2
    await connection.aclose()
