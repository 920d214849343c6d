"""The live stream: alert transitions and station updates as Server-Sent Events.

An alert event's id is `a<rowid>` of its row in the store's `transitions`
table, so a client that reconnects with `Last-Event-ID` (EventSource does it
by itself) gets every transition it missed from the store — also across a
restart of the service. Station updates (`stations` events, at most one a
second, only the stations that changed) carry no id: a reconnecting client
fetches `/api/stations` once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from floodwatch.store import Store

QUEUE = 1_000  # events a slow client may lag behind before it is dropped
REPLAY_MAX = 5_000  # transitions sent to a client catching up


class Hub:
    def __init__(self) -> None:
        self.clients: set[asyncio.Queue[dict[str, Any] | None]] = set()

    def publish(self, event: dict[str, Any]) -> None:
        for queue in list(self.clients):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # too slow: its stream ends; it reconnects and catches up
                self.clients.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

    def alert(self, rowid: int, event: dict[str, Any]) -> None:
        self.publish({"id": f"a{rowid}", "event": "alert", "data": json.dumps(event)})

    def stations(self, rows: list[dict[str, Any]]) -> None:
        self.publish({"event": "stations", "data": json.dumps(rows, ensure_ascii=False)})

    async def events(
        self, store: Store, last_event_id: str | None
    ) -> AsyncIterator[dict[str, Any]]:
        """What one client receives: the transitions it missed, then live events."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE)
        self.clients.add(queue)
        try:
            after = _rowid(last_event_id)
            if after is not None:
                for rowid, body in store.after(after, REPLAY_MAX):
                    yield {"id": f"a{rowid}", "event": "alert", "data": body}
            yield {"event": "hello", "data": json.dumps({"replayed_after": after})}
            while True:
                item = await queue.get()
                if item is None:
                    return
                yield item
        finally:
            self.clients.discard(queue)


def _rowid(last_event_id: str | None) -> int | None:
    if last_event_id and last_event_id.startswith("a") and last_event_id[1:].isdigit():
        return int(last_event_id[1:])
    return None
