"""Kafka keys and partitions: linked stations together, the default partitioner."""

from __future__ import annotations

import json
from pathlib import Path

from aiokafka.partitioner import DefaultPartitioner

from floodwatch.ingest.partition import partition_of, station_keys, stations_of
from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.rules.compile import compile_config
from floodwatch.service.run import Service
from floodwatch.testing import T0
from tests.integration.services import service_config

CONFIG = compile_config(load_config_dir("config"))


def test_a_pond_and_its_outlet_gauge_share_a_key() -> None:
    keys = station_keys(CONFIG)
    assert keys["maokeng-pond"] == keys["maokeng-culvert"] == "maokeng-culvert"
    assert keys["xiawu-pond"] == "xiawu-pond"


def test_partitions_are_kafkas_default_partitioner() -> None:
    for key in ["maokeng-culvert", "xiawu-pond", "a", "站点-1"]:
        for n in (1, 3, 4, 12):
            expected = DefaultPartitioner()(key.encode(), list(range(n)), list(range(n)))
            assert partition_of(key, n) == expected


def test_a_partitions_shard_watches_only_its_stations() -> None:
    keys = station_keys(CONFIG)
    shares = [stations_of(keys, 4, p) for p in range(4)]
    assert set().union(*shares) == set(CONFIG.stations)
    assert sum(len(s) for s in shares) == len(CONFIG.stations)
    for share in shares:
        sub = CONFIG.subset(share)
        assert set(sub.stations) == share
        assert {b.station.id for b in sub.bindings} <= share


def test_a_reading_in_the_wrong_partition_is_dead_lettered(tmp_path: Path) -> None:
    cfg = service_config(tmp_path, kafka="127.0.0.1:9")
    service = Service(load_config_dir(cfg))
    service.open()
    keys = station_keys(service.compiled)
    mine = stations_of(keys, 4, partition_of(keys["xiawu-pond"], 4))
    service.shards.take_shard(service.shards.new_shard("readings/0", frozenset(mine)))
    items = [
        Incoming(
            json.dumps(Reading(station, "level", 200.0, T0).to_json()).encode(),
            "readings",
            "canonical",
            "kafka",
            partition=0,
            offset=offset,
        )
        for offset, station in enumerate(["xiawu-pond", "maokeng-pond"])
    ]
    service.step(items)
    service.close()
    dead = [
        json.loads(x) for x in (tmp_path / "var" / "dead-letter.jsonl").read_text().splitlines()
    ]
    assert [(d["reason"], d["reading"]["station"]) for d in dead] == [
        ("wrong_partition", "maokeng-pond")
    ]
    assert service.stats.readings == 1
    assert service.shards.committable() == {"readings/0": 2}


NEW_POND = """
  - id: {id}
    name: 新塘
    type: pond
    village: {{name: 下坞村, code: "330182104202"}}
    town: {{name: 凤川镇, code: "330182104"}}
    interval: 5m
    levels: {{crest: 205.5, check_flood: 205.1, design_flood: 204.9, flood_limit: 204.2}}
"""


def test_a_reload_that_adds_a_station_gives_it_to_its_partitions_shard(tmp_path: Path) -> None:
    cfg = service_config(tmp_path, kafka="127.0.0.1:9")
    service = Service(load_config_dir(cfg), config_dir=cfg)
    service.open()
    for p in range(4):
        keys = station_keys(service.compiled)
        service.shards.take_shard(
            service.shards.new_shard(f"readings/{p}", frozenset(stations_of(keys, 4, p)), 4)
        )
    stations = cfg / "stations.yaml"
    stations.write_text(stations.read_text() + NEW_POND.format(id="xinzhai-pond"))
    assert service.reload()
    home = partition_of("xinzhai-pond", 4)
    assert "xinzhai-pond" in (service.shards.live[f"readings/{home}"].stations or set())
    assert all(
        "xinzhai-pond" not in (s.stations or set())
        for name, s in service.shards.live.items()
        if name != f"readings/{home}"
    )
    # Evaluating Xiawu together with Maokeng's culvert changes Xiawu's key: its
    # readings would belong in another partition. Refused; the config in force stays.
    rules = cfg / "rules.yaml"
    rules.write_text(
        rules.read_text().replace(
            "stations: [maokeng-pond]", "stations: [maokeng-pond, xiawu-pond]"
        )
    )
    stations.write_text(
        stations.read_text().replace(
            "      flood_limit: 204.2\n",
            "      flood_limit: 204.2\n    links: {outlet: maokeng-culvert}\n",
        )
    )
    compile_config(load_config_dir(cfg))  # a valid config in itself
    assert not service.reload()
    assert service.reload_problem is not None
    assert "Kafka keys" in service.reload_problem.message_en
    service.close()
