"""The engine shards (service/shards.py): one `local` shard over MQTT alone;
with Kafka one per assigned partition, taken, parked and taken up again;
which shard a message or tick is for; offsets moved on only forward and
recorded as committed in a real store; the event clock, idle ticks and a
fresh start."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import ms_to_dt
from floodwatch.rules.compile import compile_config
from floodwatch.service.shards import LOCAL, ShardRegistry
from floodwatch.service.tick import Tick
from floodwatch.store import Store
from tests.unit.ingest.test_partition import CONFIG as PARTITIONED

CONFIG = compile_config(load_config_dir("config"))
T0 = int(datetime(2026, 7, 7, 6, 0, tzinfo=UTC).timestamp() * 1000)


def kafka_message(partition: int, *offsets: int) -> Incoming:
    message = Incoming(b"", "readings", "canonical", "kafka", partition=partition,
                       offset=offsets[0])  # fmt: skip
    message.batch = [(o, b"") for o in offsets]
    return message


def test_messages_and_ticks_go_to_their_shards() -> None:
    shards = ShardRegistry(PARTITIONED, kafka=True)
    assert shards.live == {}
    kafka = Incoming(b"", "readings", "canonical", "kafka", partition=3, offset=7)
    assert shards.route(kafka) == "readings/3"
    assert shards.route(Tick("readings/1", 0)) == "readings/1"
    assert shards.route(Incoming(b"", "hydro/a/level", "canonical", "mqtt")) == LOCAL
    shard = shards.new_shard("readings/3", frozenset(PARTITIONED.stations), 4)
    shards.take_shard(shard)
    assert shards.fed("readings/3") is shard
    kafka.batch = [(7, b""), (8, b"")]
    shards.stored(kafka)
    assert shards.committable() == {"readings/3": 9}
    assert shards.park_shard("readings/3") is shard
    assert shards.committable() == {}
    assert shards.parked_shard("readings/3") is shard


def test_over_mqtt_alone_one_local_shard_watches_every_station() -> None:
    shards = ShardRegistry(CONFIG, kafka=False)
    assert list(shards.live) == [LOCAL] and shards.parked == {}
    local = shards.live[LOCAL]
    assert local.stations is None and local.engine.compiled is CONFIG
    assert list(shards.every()) == [local]
    assert shards.fed("readings/0") is None and shards.park_shard("readings/0") is None


def test_each_partition_has_its_share_of_the_stations() -> None:
    shards = ShardRegistry(PARTITIONED, kafka=True)
    shares = [shards.stations_of(4, p) for p in range(4)]
    assert set().union(*shares) == set(PARTITIONED.stations)
    assert sum(len(s) for s in shares) == len(PARTITIONED.stations)  # each in one share
    shard = shards.new_shard("readings/0", shares[0], 4)
    assert set(shard.engine.compiled.stations) == set(shares[0]) and shard.partitions == 4


def test_a_shard_moves_on_only_forward_and_a_taken_up_shard_leaves_the_parked() -> None:
    shards = ShardRegistry(PARTITIONED, kafka=True)
    shard = shards.new_shard("readings/2", frozenset(), 4)
    shards.take_shard(shard)
    shards.stored(kafka_message(2, 10, 11))
    shards.stored(kafka_message(2, 5))  # an older message (re-read): not back
    assert shard.next_offset == 12 and shards.committable() == {"readings/2": 12}
    shards.park_shard("readings/2")
    shards.take_shard(shard)  # assigned again
    assert shards.parked == {} and shards.fed("readings/2") is shard
    assert shards.committable() == {}  # nothing stored since it was taken up
    with pytest.raises(KeyError):
        shards.stored(kafka_message(1, 0))  # a partition not assigned here


def test_every_shard_parked_first_then_live() -> None:
    shards = ShardRegistry(PARTITIONED, kafka=True)
    a, b, c = (shards.new_shard(f"readings/{p}", frozenset(), 4) for p in range(3))
    for shard in (a, b, c):
        shards.take_shard(shard)
    shards.park_shard("readings/1")
    assert [s.name for s in shards.every()] == ["readings/1", "readings/0", "readings/2"]


def test_commits_are_recorded_in_the_store_and_read_back(tmp_path: Path) -> None:
    shards = ShardRegistry(PARTITIONED, kafka=True)
    store = Store(tmp_path / "fw.db")
    shards.store = store
    assert shards.last_commit("readings/0") is None
    shards.record_commits({"readings/0": 12, "readings/1": 3})
    shards.record_commits({"readings/0": 20})
    assert shards.last_commit("readings/0") == 20 and shards.last_commit("readings/1") == 3
    store.close()
    again = Store(tmp_path / "fw.db")
    assert again.meta("kafka-committed:readings/0") == "20"  # committed, durable
    again.close()


def test_the_event_clock_is_the_latest_live_shards() -> None:
    shards = ShardRegistry(PARTITIONED, kafka=True)
    assert shards.clock_ms() is None
    a, b = (
        shards.new_shard("readings/0", frozenset(), 4),
        shards.new_shard("readings/1", frozenset(), 4),
    )
    shards.take_shard(a)
    shards.take_shard(b)
    assert shards.clock_ms() is None  # no input yet
    a.engine.advance(ms_to_dt(T0))
    b.engine.advance(ms_to_dt(T0 + 5000))
    assert shards.clock_ms() == T0 + 5000
    shards.park_shard("readings/1")
    assert shards.clock_ms() == T0  # a parked shard's clock is not the service's


def test_the_wall_clock_bounds_every_live_engine() -> None:
    shards = ShardRegistry(CONFIG, kafka=False)
    shards.bound(T0)
    shards.live[LOCAL].engine.advance(ms_to_dt(T0 + 3_600_000))  # an hour ahead of the wall
    clock = shards.clock_ms()
    assert clock is not None and clock <= T0


def test_idle_ticks_move_each_shard_from_where_its_input_left_it() -> None:
    shards = ShardRegistry(CONFIG, kafka=False)
    local = shards.live[LOCAL]
    assert list(shards.idle_ticks(60_000)) == []  # no input ever: nothing to move on from
    local.clock_at_input = T0
    assert list(shards.idle_ticks(60_000)) == [Tick(LOCAL, T0 + 60_000)]  # engine not started
    local.engine.advance(ms_to_dt(T0 + 60_000))
    assert list(shards.idle_ticks(60_000)) == []  # there already
    assert list(shards.idle_ticks(60_500)) == []  # less than a second further
    assert list(shards.idle_ticks(61_000)) == [Tick(LOCAL, T0 + 61_000)]


def test_a_fresh_start_is_a_new_local_engine_and_nothing_parked() -> None:
    shards = ShardRegistry(CONFIG, kafka=False)
    old = shards.live[LOCAL]
    old.engine.advance(ms_to_dt(T0))
    shards.parked["readings/0"] = old
    shards.reset()
    assert shards.live[LOCAL] is not old and shards.clock_ms() is None and shards.parked == {}
    kafka = ShardRegistry(PARTITIONED, kafka=True)
    kafka.park_shard("x")
    kafka.reset()
    assert kafka.live == {} and kafka.parked == {}  # Kafka shards come from their partitions
