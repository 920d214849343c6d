"""The dead-letter: every message or reading set aside, with its reason.

Always a JSON Lines file, appended and fsynced before the messages that carried
them are acknowledged: `{"at", "reason", "detail", "source", "raw" | "reading"}`
— the durable record. Each record also goes to the backlog of every topic the
records are published to (`floodwatch.notify.deadletter.Publisher`, when
configured); a topic's backlog keeps at most `BACKLOG` records, the oldest
beyond that only in the file (counted in `unpublished`).
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import msgspec

from floodwatch.readings import Rejected

_encode = msgspec.json.Encoder()
BACKLOG = 10_000  # records waiting for a topic; beyond, the oldest are only in the file


class Backlog:
    """The records one topic has not confirmed yet, oldest first."""

    def __init__(self) -> None:
        self.records: deque[bytes] = deque(maxlen=BACKLOG)
        self.waiting = asyncio.Event()
        self.dropped = 0

    def extend(self, records: list[bytes]) -> None:
        overflow = len(self.records) + len(records) - BACKLOG
        if overflow > 0:
            self.dropped += overflow
        self.records.extend(records)
        self.waiting.set()


class DeadLetter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self.count = 0
        self.backlogs: list[Backlog] = []  # one per configured topic

    @property
    def unpublished(self) -> int:
        """Records no longer waiting for a topic that never took them (only in the file)."""
        return sum(b.dropped for b in self.backlogs)

    def write(self, rejected: Iterable[Rejected]) -> None:
        """Append the records (on disk when it returns: the messages that carried
        them are acknowledged next) and add them to every topic's backlog;
        nothing at all to write writes nothing (no blank line in the file)."""
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines = [_encode.encode({"at": at, **r.to_json()}) for r in rejected]
        if not lines:
            return
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 - kept open, closed in close()
        self._file.write(b"\n".join(lines) + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.count += len(lines)
        for backlog in self.backlogs:
            backlog.extend(lines)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
