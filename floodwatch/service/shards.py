"""The engine shards: which engine a message goes to, and where each input stands.

Over MQTT alone there is one shard, `local`, watching every station. With
Kafka there is one per assigned partition, watching that partition's stations
with its own event-time clock. `ShardRegistry` is the one owner of the shards
being fed and of those parked (revoked, or restored from a snapshot and not
assigned again yet); the Kafka source drives it through the narrow
`floodwatch.ingest.kafka.Shards` protocol and never sees the rest of the
service. The offsets recorded as committed live in the store's meta table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from floodwatch.ingest.partition import station_keys, stations_of
from floodwatch.ingest.source import Incoming
from floodwatch.rules.compile import CompiledConfig
from floodwatch.rules.engine import ActiveAlert, Engine
from floodwatch.service.tick import Tick
from floodwatch.store import Store

LOCAL = "local"  # the shard of an MQTT-only service


@dataclass
class Shard:
    """An engine and where its input stands."""

    name: str  # LOCAL, or the Kafka "topic/partition"
    engine: Engine
    stations: frozenset[str] | None = None  # None: every configured station
    partitions: int = 0  # Kafka: how many partitions the topic had (stations depend on it)
    next_offset: int = 0  # Kafka: the next offset to feed
    quiet_until: int = 0  # Kafka: offsets below were fed before (dead-lettered already)
    clock_at_input: int | None = None  # event clock when input last arrived


class ShardRegistry:
    """The shards being fed (`live`) and set aside (`parked`), under the config
    in force (`compiled`, replaced by a reload)."""

    def __init__(self, compiled: CompiledConfig, *, kafka: bool) -> None:
        self.compiled = compiled
        self.kafka = kafka
        self.live: dict[str, Shard] = {}
        if not kafka:
            self.live[LOCAL] = Shard(LOCAL, Engine(compiled))
        # Kafka shards not assigned now (from the snapshot, or revoked): a shard is
        # taken up again only if nobody committed its partition since (see kafka.py).
        self.parked: dict[str, Shard] = {}
        self._committable: dict[str, int] = {}  # Kafka shard -> offset that may be committed
        self.store: Store | None = None  # set once the service opens it

    # -- what the Kafka source is given (floodwatch.ingest.kafka.Shards) ------------

    def stations_of(self, partitions: int, partition: int) -> frozenset[str]:
        """The stations of one partition under the config in force (hot reload)."""
        return frozenset(stations_of(station_keys(self.compiled), partitions, partition))

    def fed(self, name: str) -> Shard | None:
        return self.live.get(name)

    def parked_shard(self, name: str) -> Shard | None:
        return self.parked.get(name)

    def new_shard(self, name: str, stations: frozenset[str], partitions: int = 0) -> Shard:
        """A fresh engine watching only `stations` (one partition's share)."""
        return Shard(name, Engine(self.compiled.subset(stations)), stations, partitions)

    def take_shard(self, shard: Shard) -> None:
        """Start feeding `shard` (its partition was assigned to this process)."""
        self.parked.pop(shard.name, None)
        self.live[shard.name] = shard

    def park_shard(self, name: str) -> Shard | None:
        """Stop feeding a shard (its partition was revoked); keep its state aside."""
        shard = self.live.pop(name, None)
        self._committable.pop(name, None)
        if shard is not None:
            self.parked[name] = shard
        return shard

    def committable(self) -> dict[str, int]:
        """Kafka shard -> the offset up to which every message's alerts are stored."""
        return dict(self._committable)

    def last_commit(self, name: str) -> int | None:
        """The offset this process last committed for a partition (None: never)."""
        assert self.store is not None
        value = self.store.meta(f"kafka-committed:{name}")
        return None if value is None else int(value)

    def record_commits(self, offsets: dict[str, int]) -> None:
        assert self.store is not None
        with self.store.transaction():
            for name, offset in offsets.items():
                self.store.set_meta(f"kafka-committed:{name}", str(offset))

    # -- what the step and the rest of the service use --------------------------------

    def route(self, item: Incoming | Tick) -> str:
        """The name of the shard a message or tick is for."""
        if isinstance(item, Tick):
            return item.shard
        if item.source == "kafka":
            return f"{item.topic}/{item.partition}"
        return LOCAL

    def stored(self, item: Incoming) -> None:
        """A Kafka message's alerts are stored: its shard goes on after it, and its
        offset may be committed."""
        name = self.route(item)
        shard = self.live[name]
        shard.next_offset = max(shard.next_offset, item.last_offset + 1)
        self._committable[name] = shard.next_offset

    def every(self) -> Iterator[Shard]:
        """Every shard, parked first (what a snapshot and a reload cover)."""
        yield from self.parked.values()
        yield from self.live.values()

    def bound(self, wall_ms: int) -> None:
        """Give every engine the wall clock (its event clock never runs past it)."""
        for shard in self.live.values():
            shard.engine.bound(wall_ms)

    def clock_ms(self) -> int | None:
        """The event clock (the latest of the live shards'), epoch ms."""
        clocks = [s.engine.clock_ms for s in self.live.values()]
        return max((c for c in clocks if c is not None), default=None)

    def active_alerts(self) -> list[ActiveAlert]:
        return [a for shard in self.live.values() for a in shard.engine.active_alerts()]

    def forecasts(self) -> dict[tuple[str, str], tuple[int, dict[str, float]]]:
        """The latest time-to-crest forecasts of every live shard (`Engine.forecasts`)."""
        out: dict[tuple[str, str], tuple[int, dict[str, float]]] = {}
        for shard in self.live.values():
            out.update(shard.engine.forecasts())
        return out

    def idle_ticks(self, idle_ms: int) -> Iterator[Tick]:
        """After `idle_ms` without input: a tick for each shard whose clock that
        moves on by a second or more (from where its input last left it)."""
        for name, shard in self.live.items():
            if shard.clock_at_input is None:
                continue
            target = shard.clock_at_input + idle_ms
            clock = shard.engine.clock_ms
            if clock is None or target > clock + 999:
                yield Tick(name, target)

    def reset(self) -> None:
        """Back to a fresh start (an unusable snapshot): a new local engine, nothing parked."""
        if LOCAL in self.live:
            self.live[LOCAL] = Shard(LOCAL, Engine(self.compiled))
        self.parked = {}
