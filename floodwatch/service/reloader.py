"""Hot reload: a new config checked, then swapped in under every shard.

`Reloader.load` reads and compiles the config directory again and refuses a
change the running service cannot take (with Kafka, one that links stations
differently: their Kafka keys, hence partitions, would change). `swap` puts
the new config in force: each shard (live and parked) gets an engine of the
new config carried over from its old one (`Engine.carry_over`: windows,
alerts, latches, staleness), a Kafka shard re-assigned the stations its
partition now holds. The service (`Service.reload`) does the rest around it:
the incidents, routes and deliveries, the operations alert, the snapshot.
"""

from __future__ import annotations

from pathlib import Path

from floodwatch.config.errors import ConfigError, ConfigIssue
from floodwatch.config.loader import LoadedConfig
from floodwatch.ingest.partition import station_keys, stations_of
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.rules.reload import changes
from floodwatch.service.shards import ShardRegistry


class Reloader:
    def __init__(self, config_dir: Path, shards: ShardRegistry) -> None:
        self.config_dir = config_dir
        self.shards = shards

    def load(self) -> tuple[LoadedConfig, CompiledConfig]:
        """The config directory loaded and compiled; raises `ConfigError`."""
        loaded = load_config_dir(self.config_dir)
        compiled = compile_config(loaded)
        if self.shards.kafka:
            keys = station_keys(compiled)
            if any(keys.get(s, k) != k for s, k in station_keys(self.shards.compiled).items()):
                raise ConfigError(
                    [
                        ConfigIssue(
                            self.config_dir,
                            None,
                            None,
                            (),
                            "the change links stations differently (their Kafka keys "
                            "change): restart with re-keyed producers to apply it",
                        )
                    ]
                )
        return loaded, compiled

    def swap(self, compiled: CompiledConfig) -> list[str]:
        """Put `compiled` in force under every shard; the change report."""
        report = changes(self.shards.compiled, compiled, self.shards.active_alerts())
        for shard in self.shards.every():
            if shard.partitions:  # a station added to the config may land in this partition
                partition = int(shard.name.rpartition("/")[2])
                keys = station_keys(compiled)
                shard.stations = frozenset(stations_of(keys, shard.partitions, partition))
            shard.engine = shard.engine.carry_over(
                compiled if shard.stations is None else compiled.subset(shard.stations)
            )
        self.shards.compiled = compiled
        return report
