"""`floodwatch.web.stream`'s Hub on a real store: what one client receives (the
transitions it missed, `hello`, then live events in order), a client too
slow for the stream ended without holding up the others, a client that
leaves, junk `Last-Event-ID`s, the replay bound, and a restart (a new hub on
the reopened store replays the same)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from floodwatch.store import Store
from floodwatch.web import stream
from floodwatch.web.stream import Hub
from tests.unit.store.events import event


@pytest.fixture
def store(tmp_path: Path) -> Store:
    made = Store(tmp_path / "floodwatch.db")
    with made.transaction():
        made.record(event(f"maokeng-pond:pond-level:{i}", minute=i) for i in range(5))
    return made


def rowids(store: Store) -> list[int]:
    return [r for r, _ in store.after(0, 100)]


async def take(events: AsyncIterator[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    out = []
    async for item in events:
        out.append(item)
        if len(out) == n:
            break
    return out


def test_a_new_client_gets_hello_then_the_live_events_in_order(store: Store) -> None:
    hub = Hub()

    async def run() -> list[dict[str, Any]]:
        client = hub.events(store, None)
        first = await anext(client)
        hub.alert(7, {"id": "x"})
        hub.stations([{"id": "毛坑山塘"}])
        hub.publish({"event": "ack", "data": "{}"})
        return [first, *await take(client, 3)]

    got = asyncio.run(run())
    assert got[0] == {"event": "hello", "data": json.dumps({"replayed_after": None})}
    assert got[1] == {"id": "a7", "event": "alert", "data": '{"id": "x"}'}
    assert got[2] == {"event": "stations", "data": '[{"id": "毛坑山塘"}]'}
    assert got[3]["event"] == "ack"
    assert hub.clients == set()  # the client left: forgotten


def test_a_client_catches_up_from_the_last_event_it_saw(store: Store) -> None:
    rows = rowids(store)
    hub = Hub()
    got = asyncio.run(take(hub.events(store, f"a{rows[1]}"), 4))
    assert [g.get("id") for g in got] == [f"a{r}" for r in rows[2:]] + [None]
    assert [json.loads(g["data"])["id"] for g in got[:3]] == [
        f"maokeng-pond:pond-level:{i}" for i in (2, 3, 4)]  # fmt: skip
    assert got[3] == {"event": "hello", "data": json.dumps({"replayed_after": rows[1]})}
    last = asyncio.run(take(hub.events(store, f"a{rows[-1]}"), 1))
    assert last[0]["event"] == "hello"  # up to date: nothing to replay


@pytest.mark.parametrize("junk", ["", "a", "1", "b3", "a-1", "a1.5", "a 1", "a1;DROP"])
def test_a_junk_last_event_id_replays_nothing(store: Store, junk: str) -> None:
    [hello] = asyncio.run(take(Hub().events(store, junk), 1))
    assert hello == {"event": "hello", "data": json.dumps({"replayed_after": None})}


def test_the_replay_is_bounded(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "REPLAY_MAX", 2)
    got = asyncio.run(take(Hub().events(store, "a0"), 3))
    assert [g["event"] for g in got] == ["alert", "alert", "hello"]
    assert got[0]["id"] == f"a{rowids(store)[0]}"


def test_a_slow_client_is_ended_and_the_others_keep_going(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "QUEUE", 3)
    hub = Hub()

    async def run() -> tuple[list[str], list[str]]:
        slow, quick = hub.events(store, None), hub.events(store, None)
        await anext(slow), await anext(quick)  # both connected (hello)
        seen: list[str] = []
        for i in range(6):  # the quick one reads each; the slow one none
            hub.publish({"event": "stations", "data": str(i)})
            seen.append((await anext(quick))["data"])
        assert len(hub.clients) == 1  # the slow one is out
        rest = [item["event"] async for item in slow]  # its stream ends
        return seen, rest

    seen, rest = asyncio.run(run())
    assert seen == [str(i) for i in range(6)]
    assert rest == []  # nothing half-delivered: it reconnects and catches up


def test_after_a_restart_a_new_hub_replays_the_same(store: Store, tmp_path: Path) -> None:
    rows = rowids(store)
    before = asyncio.run(take(Hub().events(store, f"a{rows[0]}"), 4))
    store.close()
    again = Store(tmp_path / "floodwatch.db")
    try:
        after = asyncio.run(take(Hub().events(again, f"a{rows[0]}"), 4))
    finally:
        again.close()
    assert after == before


def test_publishing_with_no_client_is_nothing() -> None:
    hub = Hub()
    hub.publish({"event": "x"})
    hub.alert(1, {"id": "y"})
    assert hub.clients == set()
