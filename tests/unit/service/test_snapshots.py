"""The shards' state on disk (service/snapshots.py): written atomically and
durably, the inbox pruned only once the snapshot covering it is on disk, read
back exactly, and a snapshot that cannot be used moved aside for a fresh start."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import compile_config
from floodwatch.service import inbox
from floodwatch.service.shards import LOCAL, ShardRegistry
from floodwatch.service.snapshots import Snapshotter
from floodwatch.store import Store
from tests.integration.services import ROOT, storm_days

CONFIG = compile_config(load_config_dir(ROOT / "config"))
READINGS = storm_days(2)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "floodwatch.db")
    yield s
    s.close()


@pytest.fixture
def snapshots(tmp_path: Path) -> Iterator[Snapshotter]:
    shards = ShardRegistry(CONFIG, kafka=False)
    shards.live[LOCAL].engine.process(READINGS[:700])
    s = Snapshotter(tmp_path / "floodwatch.db.snapshot", shards, every=3600)
    yield s
    s.close()


def _log(store: Store, steps: int) -> int:
    """`steps` inbox rows (one step each); the last seq."""
    seq = 0
    for i in range(steps):
        with store.transaction():
            seq = store.inbox.log([inbox.wall_entry(i)])
    return seq


def _inbox(store: Store) -> list[int]:
    return [row.seq for row in store.inbox.after(0)]


def _state(shards: ShardRegistry) -> tuple[object, ...]:
    engine = shards.live[LOCAL].engine
    return engine.clock_ms, [(a.id, a.severity, a.since) for a in engine.active_alerts()]


def test_a_snapshot_brings_the_shards_back_exactly_and_prunes_the_inbox_it_covers(
    store: Store, snapshots: Snapshotter, tmp_path: Path
) -> None:
    seq = _log(store, 3)
    _log(store, 2)  # after the snapshot's position: kept
    snapshots.write(seq, store)
    assert _inbox(store) == [seq + 1, seq + 2]
    assert not snapshots.path.with_name(snapshots.path.name + ".tmp").exists()
    fresh = ShardRegistry(CONFIG, kafka=False)
    again = Snapshotter(snapshots.path, fresh, every=3600)
    assert again.load() == seq
    assert _state(fresh) == _state(snapshots.shards)
    assert _state(fresh)[1]  # alerts were active: there was something to bring back
    again.close()


def test_without_a_snapshot_the_shards_start_fresh(tmp_path: Path) -> None:
    shards = ShardRegistry(CONFIG, kafka=False)
    s = Snapshotter(tmp_path / "none.snapshot", shards, every=1)
    assert s.load() is None
    assert shards.clock_ms() is None
    s.close()


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated (a disk that lost the tail)
        lambda data: b"PK\x03\x04 not a snapshot at all",
        lambda data: b"",
    ],
    ids=["truncated", "foreign", "empty"],
)
def test_an_unusable_snapshot_is_moved_aside_and_the_service_starts_fresh(
    store: Store,
    snapshots: Snapshotter,
    damage: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    snapshots.write(0, store)
    path = snapshots.path
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    shards = ShardRegistry(CONFIG, kafka=False)
    shards.live[LOCAL].engine.process(READINGS[:10])  # whatever it held is dropped
    with caplog.at_level(logging.ERROR, "floodwatch.service"):
        assert Snapshotter(path, shards, every=1).load() is None
    assert not path.exists()
    aside = list(path.parent.glob(path.name + ".bad-*"))
    assert len(aside) == 1
    assert f"moved aside to {aside[0]}" in caplog.text
    assert shards.clock_ms() is None


def test_a_snapshot_of_another_engine_layout_is_moved_aside(
    store: Store, snapshots: Snapshotter, tmp_path: Path
) -> None:
    snapshots.write(0, store)
    cfg = tmp_path / "config"
    shutil.copytree(ROOT / "config", cfg, ignore=shutil.ignore_patterns("demo", "map", "tests"))
    text = (cfg / "stations.yaml").read_text()
    (cfg / "stations.yaml").write_text(
        text + "\n  - {id: new-rain, name: 新雨量站, type: rain_gauge, interval: 5m}\n"
    )
    shards = ShardRegistry(compile_config(load_config_dir(cfg)), kafka=False)
    other = Snapshotter(snapshots.path, shards, every=1)
    assert other.load() is None
    other.close()
    assert list(tmp_path.glob("*.snapshot.bad-*"))
    assert shards.clock_ms() is None  # nothing half-restored


def test_kafka_shards_come_back_parked_with_their_stations_and_position(
    store: Store, tmp_path: Path
) -> None:
    shards = ShardRegistry(CONFIG, kafka=True)
    stations = shards.stations_of(2, 1)
    shard = shards.new_shard("readings/1", stations, 2)
    shard.engine.process([r for r in READINGS[:700] if r.station in stations])
    shard.next_offset = 321
    shards.take_shard(shard)
    s = Snapshotter(tmp_path / "k.snapshot", shards, every=1)
    s.write(0, store)
    s.close()
    back = ShardRegistry(CONFIG, kafka=True)
    s = Snapshotter(tmp_path / "k.snapshot", back, every=1)
    assert s.load() == 0
    assert back.live == {}  # taken up only if nobody committed the partition since
    parked = back.parked["readings/1"]
    assert (parked.stations, parked.partitions, parked.next_offset) == (stations, 2, 321)
    assert parked.engine.clock_ms == shard.engine.clock_ms
    # the same file read by a service without Kafka: no Kafka shard to take up
    local = ShardRegistry(CONFIG, kafka=False)
    assert Snapshotter(tmp_path / "k.snapshot", local, every=1).load() == 0
    assert local.parked == {} and local.clock_ms() is None
    s.close()


def _wait(snapshots: Snapshotter) -> None:
    future = snapshots.in_flight
    assert future is not None
    future.exception(timeout=10)


def test_a_timed_snapshot_is_written_in_a_thread_and_the_inbox_pruned_once_it_is_durable(
    store: Store, snapshots: Snapshotter
) -> None:
    seq = _log(store, 3)
    snapshots.tick(seq, store)  # not due yet (every hour)
    assert snapshots.in_flight is None and not snapshots.path.exists()
    snapshots.every = 0
    snapshots.tick(seq, store)
    _wait(snapshots)
    assert snapshots.path.exists()
    assert _inbox(store) == [1, 2, 3]  # durable now, but pruned by the next tick
    snapshots.every = 3600
    snapshots.tick(seq + 5, store)
    assert snapshots.in_flight is None
    assert _inbox(store) == []


def test_a_snapshot_that_cannot_be_written_keeps_the_inbox_and_the_previous_snapshot(
    store: Store, snapshots: Snapshotter, caplog: pytest.LogCaptureFixture
) -> None:
    first = _log(store, 2)
    snapshots.write(first, store)
    previous = snapshots.path.read_bytes()
    seq = _log(store, 3)
    blocked = snapshots.path.with_name(snapshots.path.name + ".tmp")
    blocked.mkdir()  # the temp file cannot be created (as a full or broken disk)
    # at shutdown or reload: the error reaches the caller, nothing is pruned
    with pytest.raises(OSError):
        snapshots.write(seq, store)
    assert _inbox(store) == [first + 1, first + 2, seq]
    # on the timer: logged, the inbox kept, the next tick tries again
    snapshots.every = 0
    snapshots.tick(seq, store)
    _wait(snapshots)
    with caplog.at_level(logging.ERROR, "floodwatch.service"):
        snapshots.tick(seq, store)
    assert "snapshot not written" in caplog.text and "the inbox is kept" in caplog.text
    assert _inbox(store) == [first + 1, first + 2, seq]
    assert snapshots.path.read_bytes() == previous
    blocked.rmdir()
    _wait(snapshots)  # the retry started by that tick
    snapshots.write(seq, store)
    assert _inbox(store) == []


def test_a_write_at_shutdown_finishes_a_timed_one_first(
    store: Store, snapshots: Snapshotter
) -> None:
    seq = _log(store, 2)
    snapshots.every = 0
    snapshots.tick(1, store)
    started = time.monotonic()
    snapshots.write(seq, store)  # waits for the one in flight, then writes its own
    assert snapshots.in_flight is None
    assert time.monotonic() - started < 10
    assert _inbox(store) == []
