"""`Remembered` over a real state file (`GatewayState`): reports a broker
acknowledged together are written in one commit, each confirmed only after
it; a state file that cannot be written confirms nothing and stops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from floodwatch.ingest.sl651.remembered import Remembered
from floodwatch.ingest.source import Incoming
from floodwatch.store.sl651 import GatewayState

T0 = datetime(2026, 7, 6, 8, tzinfo=UTC)


class Broker:
    """Takes messages; acknowledges all it holds when told to."""

    def __init__(self) -> None:
        self.held: list[Incoming] = []

    async def put(self, item: Incoming) -> None:
        self.held.append(item)

    def acknowledge(self) -> None:
        for item in self.held:
            assert item.confirm is not None
            item.confirm()
        self.held.clear()


def _report(state: GatewayState, serial: int, confirmed: list[int]) -> Incoming:
    def stored() -> None:
        state.memory.remember(
            [("maokeng-rain", 0x32, serial, T0 + timedelta(minutes=serial))],
            [("maokeng-rain", T0 + timedelta(minutes=serial), 100.0 + serial)],
        )

    def confirm() -> None:  # what the file holds when the RTU is confirmed
        confirmed.append(len(GatewayState(state.path).memory.load()[1]))

    item = Incoming(b"[]", f"sl651/maokeng-rain/{serial}", "batch", "sl651", {}, confirm)
    item.stored = stored
    return item


def _run(state: GatewayState, work: Callable[[Remembered, Broker], object]) -> Remembered:
    async def main() -> Remembered:
        broker = Broker()
        remembered = Remembered(state.memory.write, broker.put, asyncio.Event())
        task = asyncio.create_task(remembered.run())
        await asyncio.sleep(0)
        result = work(remembered, broker)
        if asyncio.iscoroutine(result):
            await result
        for _ in range(3):
            await asyncio.sleep(0)
        task.cancel()
        return remembered

    return asyncio.run(main())


def test_a_batch_acknowledged_together_is_one_commit_before_its_confirmations(
    tmp_path: Path,
) -> None:
    state = GatewayState(tmp_path / "sl651-state.db")
    confirmed: list[int] = []

    async def storm(remembered: Remembered, broker: Broker) -> None:
        for serial in range(50):
            await remembered.put(_report(state, serial, confirmed))
        assert confirmed == []  # nothing before the broker's acknowledgement
        broker.acknowledge()
        assert confirmed == []  # nor before the write
        await asyncio.sleep(0)

    remembered = _run(state, storm)
    assert remembered.commits == 1
    assert confirmed == [50] * 50, "each confirmed with the whole batch in the file"
    counters, seen = GatewayState(state.path).memory.load()
    assert len(seen) == 50 and counters["maokeng-rain"][1] == 149.0


def test_a_state_file_that_cannot_be_written_confirms_nothing_and_stops(
    tmp_path: Path,
) -> None:
    state = GatewayState(tmp_path / "sl651-state.db")
    confirmed: list[int] = []

    async def broken(remembered: Remembered, broker: Broker) -> None:
        await remembered.put(_report(state, 1, confirmed))
        state.close()
        broker.acknowledge()
        await asyncio.sleep(0)

    remembered = _run(state, broken)
    assert remembered.failed and remembered.stopping.is_set()
    assert confirmed == [] and remembered.commits == 0
