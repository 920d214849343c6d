"""The shards' state on disk: what a restart resumes from.

`Snapshotter.write` saves every shard (live and parked: its engine's
`capture()`, its stations and Kafka position) with the inbox position it
covers, atomically — temp file, fsync, rename, fsync of the directory — and
only then prunes the inbox rows it covers (start-up, reload, shutdown). On
the `snapshot_every` timer (`tick`) the state is captured between two steps
and written in a thread while the steps go on, so its fsyncs hold up no
confirmation; the inbox is pruned once it is durable (a later `tick`), and a
crash meanwhile leaves the previous snapshot and the whole inbox since.
`Snapshotter.load` restores the shards; a snapshot that cannot be used
(corrupt, another layout) is reported and moved aside, and the service
starts fresh. Kafka shards come back parked: a partition is taken up again
only if nobody committed it since (`floodwatch.ingest.kafka`).
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from floodwatch.rules import snapshot
from floodwatch.service.shards import LOCAL, ShardRegistry
from floodwatch.store import Store

log = logging.getLogger("floodwatch.service")


class Snapshotter:
    def __init__(self, path: Path, shards: ShardRegistry, every: float) -> None:
        self.path = path
        self.shards = shards
        self.every = every  # seconds between snapshots while running
        self.last = time.monotonic()
        # A snapshot being written in the background: (inbox row it covers, the write).
        self._writing: tuple[int, Future[None]] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="snapshot")

    def load(self) -> int | None:
        """Restore the shards; the inbox position the snapshot covers (None: no
        usable snapshot, the shards start fresh)."""
        if not self.path.exists():
            return None
        try:
            state = snapshot.loads(self.path.read_bytes())
            self._restore(state["shards"])
            return int(state["inbox_seq"])
        except (snapshot.SnapshotError, KeyError, TypeError, OSError) as exc:
            aside = self.path.with_name(f"{self.path.name}.bad-{int(time.time())}")
            self.path.rename(aside)
            log.error("snapshot unusable (%s): moved aside to %s", exc, aside)
            self.shards.reset()
            return None

    def _restore(self, saved: dict[str, dict[str, Any]]) -> None:
        for name, entry in saved.items():
            if name == LOCAL:
                if LOCAL in self.shards.live:
                    self.shards.live[LOCAL].engine.restore(entry["engine"])
                continue
            if not self.shards.kafka:
                continue
            stations = frozenset(entry["stations"])
            shard = self.shards.new_shard(name, stations, int(entry.get("partitions", 0)))
            shard.engine.restore(entry["engine"])
            shard.next_offset = int(entry["next_offset"])
            self.shards.parked[name] = shard

    @property
    def in_flight(self) -> Future[None] | None:
        """The write of a timed snapshot not finished yet (None: none)."""
        return None if self._writing is None else self._writing[1]

    def write(self, inbox_seq: int, store: Store) -> None:
        """Save every shard as of `inbox_seq` now, durably; then prune the inbox.
        A timed snapshot still being written is finished first."""
        self._finish(store, wait=True)
        _write_durably(self.path, self._capture(inbox_seq))
        with store.transaction():
            store.inbox.prune(inbox_seq)
        self.last = time.monotonic()

    def tick(self, inbox_seq: int, store: Store) -> None:
        """On the timer: when due, capture the state here (a few ms) and write it
        in a thread; prune the inbox once a write started earlier is durable."""
        if not self._finish(store):
            return
        if time.monotonic() - self.last >= self.every:
            future = self._thread.submit(_write_durably, self.path, self._capture(inbox_seq))
            self._writing = (inbox_seq, future)
            self.last = time.monotonic()

    def close(self) -> None:
        self._thread.shutdown()

    def _capture(self, inbox_seq: int) -> bytes:
        shards = {
            shard.name: {
                "engine": shard.engine.capture(),
                "stations": sorted(shard.stations) if shard.stations is not None else None,
                "partitions": shard.partitions,
                "next_offset": shard.next_offset,
            }
            for shard in self.shards.every()
        }
        state = {"shards": shards, "inbox_seq": inbox_seq, "written_at": time.time()}
        return snapshot.dumps(state)

    def _finish(self, store: Store, *, wait: bool = False) -> bool:
        """Finish a snapshot written in the background: once its file is durable,
        prune the inbox it covers. False while it is still being written (and
        not `wait`)."""
        if self._writing is None:
            return True
        seq, future = self._writing
        if not wait and not future.done():
            return False
        self._writing = None
        try:
            future.result()
        except OSError as exc:
            log.error("snapshot not written (%s): the inbox is kept", exc)
            return True
        with store.transaction():
            store.inbox.prune(seq)
        return True


def _write_durably(path: Path, data: bytes) -> None:
    """Atomically replace `path` by `data`: temp file, fsync, rename, fsync the folder."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
