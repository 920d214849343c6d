"""Between the broker's acknowledgement of an SL 651 report and its
confirmation to the RTU: the receiver's memory (the report's dedup key, the
station's PT counter) written where it survives a restart, a batch of
reports per commit. For the receivers that hand their readings to a broker
instead of storing them: `floodwatch sl651-gateway` and `floodwatch run` with
`service.kafka` (docs/sl651.md).

A crash between the acknowledgement and the write is at-least-once: the RTU
resends the unconfirmed report, it is published again, and the engine's
duplicate check removes the copy. A crash after the write: the resend is
confirmed from the memory, not published.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Protocol

from floodwatch.ingest.sl651.server import Memory
from floodwatch.ingest.source import Incoming

log = logging.getLogger(__name__)


class WrittenMemory(Memory, Protocol):
    """A `Memory` that also writes its own transactions (`store.sl651.Sl651Memory`)."""

    def write(self, hooks: Iterable[Callable[[], None]]) -> None:
        """Run the reports' `stored` hooks in one transaction (one commit)."""
        ...


class State(Protocol):
    """The gateway's state file (`store.sl651.GatewayState`, handed in by the
    CLI: ingest does not import the store)."""

    path: Path

    @property
    def memory(self) -> WrittenMemory: ...

    def close(self) -> None: ...


class Remembered:
    """Reports handed on to a broker, remembered before they are confirmed.

    `write` is `Sl651Memory.write`: of the gateway's state file
    (`GatewayState`), or of the service's store (`floodwatch run` with
    `service.kafka`). `put` hands each report on (to the bridge or
    `MqttForward`) with its `stored` hook kept back and its `confirm`
    replaced: the acknowledgement only queues the report; `run`
    writes every report queued so far in one commit, then confirms them, so
    a storm costs one fsync per batch, not per report. Used from the event
    loop's thread only (the commit blocks it for the fsync: the reports
    acknowledged meanwhile make the next batch)."""

    def __init__(
        self,
        write: Callable[[Iterable[Callable[[], None]]], None],
        put: Callable[[Incoming], Awaitable[None]],
        stopping: asyncio.Event,
    ) -> None:
        self.write = write  # runs the hooks in one transaction (one commit)
        self.forward = put
        self.stopping = stopping  # set when the memory cannot be written
        self.due: list[tuple[Callable[[], None] | None, Callable[[], None] | None]] = []
        self.wake = asyncio.Event()
        self.failed = False
        self.commits = 0

    async def put(self, item: Incoming) -> None:
        stored, confirm = item.stored, item.confirm

        def acknowledged() -> None:
            self.due.append((stored, confirm))
            self.wake.set()

        item.stored, item.confirm = None, acknowledged
        await self.forward(item)

    async def run(self) -> None:
        """Write and confirm each batch, until cancelled."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            self.flush()

    def flush(self) -> None:
        """Write the reports acknowledged so far, then confirm them. On a
        write error nothing more is confirmed and the process stops (the RTUs
        resend to the restarted one)."""
        if not self.due or self.failed:
            return
        batch, self.due = self.due, []
        try:
            self.write([hook for hook, _ in batch if hook is not None])
        except (sqlite3.Error, OSError) as exc:
            log.error("sl651 memory not written: %s; stopping", exc)
            self.failed = True
            self.stopping.set()
            return
        self.commits += 1
        for _, confirm in batch:
            if confirm is not None:
                confirm()
