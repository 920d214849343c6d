"""The processing step's ticks and the shard registry (service/step.py,
service/tick.py, service/shards.py), on a real store without a broker."""

from __future__ import annotations

import json
from pathlib import Path

from floodwatch.config import load_config_dir
from floodwatch.ingest.source import Incoming
from floodwatch.service.run import Service
from floodwatch.service.shards import LOCAL
from floodwatch.service.tick import Tick
from floodwatch.sim import simulate
from tests.integration.services import service_config

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings


def _message(i: int) -> Incoming:
    return Incoming(json.dumps(STORM[i].to_json()).encode(), "hydro/x/y", "canonical", "mqtt")


def test_a_tick_moves_its_shard_on_and_a_restart_repeats_it_from_the_inbox(
    tmp_path: Path,
) -> None:
    cfg = service_config(tmp_path)
    live = Service(load_config_dir(cfg))
    live.open()
    live.step([_message(i) for i in range(200)])
    clock = live.clock_ms()
    assert clock is not None
    target = clock + 6 * 3600 * 1000  # six hours of silence: the gauges go stale
    new = live.step([Tick(LOCAL, target)])
    assert live.clock_ms() == target
    assert {e.rule for e in new} == {"sensor-health/stale"}, new
    assert live.stats.readings == 200
    # A crash (no snapshot since): the next start replays the readings and the tick.
    again = Service(load_config_dir(cfg))
    again.open()
    assert again.stats.replayed == 201
    assert again.clock_ms() == target
    assert [a.id for a in again.engine.active_alerts()] == [
        a.id for a in live.engine.active_alerts()
    ]
    again.close()
    live.close()


def test_messages_and_ticks_go_to_their_shards() -> None:
    from floodwatch.service.shards import ShardRegistry
    from tests.unit.ingest.test_partition import CONFIG

    shards = ShardRegistry(CONFIG, kafka=True)
    assert shards.live == {}
    kafka = Incoming(b"", "readings", "canonical", "kafka", partition=3, offset=7)
    assert shards.route(kafka) == "readings/3"
    assert shards.route(Tick("readings/1", 0)) == "readings/1"
    assert shards.route(Incoming(b"", "hydro/a/level", "canonical", "mqtt")) == LOCAL
    shard = shards.new_shard("readings/3", frozenset(CONFIG.stations), 4)
    shards.take_shard(shard)
    assert shards.fed("readings/3") is shard
    kafka.batch = [(7, b""), (8, b"")]
    shards.stored(kafka)
    assert shards.committable() == {"readings/3": 9}
    assert shards.park_shard("readings/3") is shard
    assert shards.committable() == {}
    assert shards.parked_shard("readings/3") is shard
