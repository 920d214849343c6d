"""Hot reload (service/reloader.py): a new config checked, then swapped in under
every shard with its state carried over; a config that does not load, or that
would move stations to other Kafka partitions, changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from floodwatch.config.errors import ConfigError
from floodwatch.ingest.partition import partition_of, station_keys, stations_of
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.service.reloader import Reloader
from floodwatch.service.run import Service
from floodwatch.service.shards import LOCAL, ShardRegistry
from tests.integration.services import ROOT, service_config, storm_days

READINGS = storm_days(2)
RED = "red:    {enter: crest - 0.2}"
NEW_STATIONS = """
  - id: aaa-culvert
    name: 新涵管
    type: culvert
    interval: 5m
  - id: zzz-rain
    name: 新雨量站
    type: rain_gauge
    interval: 5m
"""


def _config_dir(tmp_path: Path) -> Path:
    cfg = tmp_path / "config"
    cfg.mkdir()
    for f in (ROOT / "config").glob("*.yaml"):
        shutil.copy(f, cfg / f.name)
    return cfg


def _edit(cfg: Path, name: str, old: str, new: str) -> None:
    text = (cfg / name).read_text()
    assert old in text, old
    (cfg / name).write_text(text.replace(old, new))


def _compiled(cfg: Path) -> CompiledConfig:
    return compile_config(load_config_dir(cfg))


def test_a_valid_change_is_loaded_and_swapped_in_with_the_state_carried_over(
    tmp_path: Path,
) -> None:
    cfg = _config_dir(tmp_path)
    shards = ShardRegistry(_compiled(cfg), kafka=False)
    engine = shards.live[LOCAL].engine
    engine.process(READINGS[:700])
    active = [(a.id, a.severity) for a in engine.active_alerts()]
    clock = engine.clock_ms
    assert active
    _edit(cfg, "rules.yaml", RED, "red:    {enter: crest - 0.3}")
    reloader = Reloader(cfg, shards)
    _, compiled = reloader.load()
    assert shards.compiled is not compiled  # loading alone puts nothing in force
    report = reloader.swap(compiled)
    assert shards.compiled is compiled
    assert any(line.startswith("threshold moved: pond-level at maokeng-pond") for line in report)
    carried = shards.live[LOCAL].engine
    assert carried is not engine and carried.clock_ms == clock
    assert [(a.id, a.severity) for a in carried.active_alerts()] == active


@pytest.mark.parametrize(
    ("name", "old", "new", "where"),
    [
        ("rules.yaml", "rules:", "rules: [", "rules.yaml:"),  # not YAML at all
        ("rules.yaml", RED, "red:    {enter: crest - 2.0}", "rules.yaml:"),  # red below orange
        ("stations.yaml", "id: xiawu-pond", "id: maokeng-pond", "stations.yaml:"),  # a twin id
    ],
    ids=["not-yaml", "red-below-orange", "twin-id"],
)
def test_a_config_that_does_not_load_raises_and_changes_nothing(
    tmp_path: Path, name: str, old: str, new: str, where: str
) -> None:
    cfg = _config_dir(tmp_path)
    before = _compiled(cfg)
    shards = ShardRegistry(before, kafka=False)
    engine = shards.live[LOCAL].engine
    engine.process(READINGS[:700])
    _edit(cfg, name, old, new)
    with pytest.raises(ConfigError) as raised:
        Reloader(cfg, shards).load()
    assert any(where in str(issue) for issue in raised.value.issues), raised.value.report()
    assert shards.compiled is before
    assert shards.live[LOCAL].engine is engine


def test_with_kafka_a_change_that_moves_stations_to_other_partitions_is_refused(
    tmp_path: Path,
) -> None:
    cfg = _config_dir(tmp_path)
    before = _compiled(cfg)
    _edit(cfg, "stations.yaml", "outlet: maokeng-culvert", "outlet: aaa-culvert")
    (cfg / "stations.yaml").write_text((cfg / "stations.yaml").read_text() + NEW_STATIONS)
    changed = _compiled(cfg)
    assert station_keys(changed)["maokeng-pond"] != station_keys(before)["maokeng-pond"]
    # over MQTT alone the keys mean nothing: the change is taken
    Reloader(cfg, ShardRegistry(before, kafka=False)).load()
    shards = ShardRegistry(before, kafka=True)
    with pytest.raises(ConfigError, match="links stations differently") as raised:
        Reloader(cfg, shards).load()
    assert raised.value.issues[0].file == cfg
    assert shards.compiled is before


def test_with_kafka_a_station_added_joins_the_shard_of_its_partition_live_or_parked(
    tmp_path: Path,
) -> None:
    cfg = _config_dir(tmp_path)
    before = _compiled(cfg)
    shards = ShardRegistry(before, kafka=True)
    keys = station_keys(before)
    for partition in (0, 1):
        mine = shards.stations_of(2, partition)
        shard = shards.new_shard(f"readings/{partition}", mine, 2)
        shards.take_shard(shard)
        shard.engine.process([r for r in READINGS[:700] if r.station in mine])
    shards.park_shard("readings/1")  # revoked meanwhile: a reload covers it too
    (cfg / "stations.yaml").write_text((cfg / "stations.yaml").read_text() + NEW_STATIONS)
    reloader = Reloader(cfg, shards)
    _, compiled = reloader.load()
    reloader.swap(compiled)
    new_keys = station_keys(compiled)
    assert {s: new_keys[s] for s in keys} == keys
    for partition, shard in ((0, shards.live["readings/0"]), (1, shards.parked["readings/1"])):
        assert shard.stations == frozenset(stations_of(new_keys, 2, partition))
        assert shard.engine.compiled.stations.keys() == shard.stations
    home = (shards.live["readings/0"], shards.parked["readings/1"])[
        partition_of(new_keys["zzz-rain"], 2)
    ]
    assert home.stations is not None and "zzz-rain" in home.stations


def test_the_service_keeps_its_last_good_config_until_the_yaml_is_fixed(tmp_path: Path) -> None:
    cfg = service_config(tmp_path)
    service = Service(load_config_dir(cfg), config_dir=cfg)
    service.open()
    try:
        good = service.compiled
        text = (cfg / "rules.yaml").read_text()
        (cfg / "rules.yaml").write_text(text.replace("rules:", "rules: [", 1))
        assert service.reload() is False
        assert service.compiled is good
        assert service.stats.reload_failures == 1
        problem = service.reload_problem
        assert problem is not None and "rules.yaml" in problem.message_en
        (cfg / "rules.yaml").write_text(text)
        assert service.reload() is True
        assert service.compiled is not good and service.reload_problem is None
        assert service.stats.reloads == 1
    finally:
        service.close()
