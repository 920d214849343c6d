"""Which Kafka partition holds which station's readings.

Each partition is an independent stream with its own engine (a shard), so the
readings a rule needs together must share a partition: a pond and the culvert
flow gauge its compound rule watches are keyed alike, and so are the stations
of one incident (a pond, its culvert, its rain gauge: `engine.incidents`), so
one shard sees their alerts in event-time order. The key of a station is the
first id, in sorted order, of the stations linked to it by rules or incidents
(just its own id when nothing links it); `floodwatch keys` prints them.

Partitions are chosen with Kafka's default partitioner (murmur2 of the key, as
the Java client, aiokafka and `floodwatch bridge` do). A producer with another
partitioner (librdkafka's default is CRC32: set `partitioner=murmur2_random`)
puts readings where floodwatch does not expect them; they are dead-lettered
with reason `wrong_partition` rather than evaluated by the wrong shard.
"""

from __future__ import annotations

from functools import cache

from aiokafka.partitioner import murmur2

from floodwatch.rules.compile import CompiledConfig
from floodwatch.rules.incidents.tracker import Groups


def station_keys(compiled: CompiledConfig) -> dict[str, str]:
    """Message key of every station: linked stations share one."""
    parent = {sid: sid for sid in compiled.stations}

    def root(sid: str) -> str:
        while parent[sid] != sid:
            parent[sid] = parent[parent[sid]]
            sid = parent[sid]
        return sid

    config = compiled.config
    incidents = Groups.of(config.stations, config.engine.incidents).members.values()
    for group in [*compiled.linked(), *(g for g in incidents if len(g) > 1)]:
        first, *rest = sorted(group)
        for other in rest:
            a, b = root(first), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {sid: root(sid) for sid in compiled.stations}


@cache
def partition_of(key: str, partitions: int) -> int:
    """Kafka's default partitioner: murmur2 of the key bytes, positive, modulo."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def stations_of(keys: dict[str, str], partitions: int, partition: int) -> set[str]:
    """The stations whose readings go to `partition` of a topic of `partitions`."""
    return {sid for sid, key in keys.items() if partition_of(key, partitions) == partition}
