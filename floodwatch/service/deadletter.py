"""The dead-letter file: every message or reading set aside, with its reason.

JSON Lines, appended and flushed before the messages that carried them are
acknowledged: `{"at", "reason", "detail", "source", "raw" | "reading"}`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import msgspec

from floodwatch.readings import Rejected

_encode = msgspec.json.Encoder()


class DeadLetter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self.count = 0

    def write(self, rejected: Iterable[Rejected]) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 - kept open, closed in close()
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines = []
        for r in rejected:
            lines.append(_encode.encode({"at": at, **r.to_json()}))
            self.count += 1
        self._file.write(b"\n".join(lines) + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
