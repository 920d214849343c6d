"""The live service over a real Kafka-protocol broker (tansu)."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from floodwatch.sim import simulate
from tests.integration.services import (
    Floodwatch,
    Tansu,
    expected_transitions,
    service_config,
    stored_transitions,
    storm_days,
    wait_for,
)

pytestmark = pytest.mark.integration

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings


def test_readings_from_four_partitions_raise_the_expected_alerts(
    tmp_path: Path, kafka: Tansu
) -> None:
    kafka.create_topic("readings", 4)
    kafka.produce("readings", STORM)
    cfg = service_config(tmp_path, kafka=kafka.bootstrap)
    expected = expected_transitions(cfg, STORM)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    db = tmp_path / "var" / "floodwatch.db"
    wait_for(lambda: stored_transitions(db) == expected, 60, "alerts stored")
    assert fw.stop() == 0
    assert len(expected) > 10


@pytest.mark.slow
def test_kill_9_five_times_during_a_storm_loses_and_repeats_nothing(
    tmp_path: Path, kafka: Tansu
) -> None:
    readings = storm_days(18)
    assert len(readings) >= 20_000
    kafka.create_topic("readings", 4)
    cfg = service_config(tmp_path, kafka=kafka.bootstrap)
    expected = expected_transitions(cfg, readings)
    producer = threading.Thread(target=kafka.produce, args=("readings", readings, 0.3))
    producer.start()
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    rng = random.Random(9)
    db = tmp_path / "var" / "floodwatch.db"
    for n in range(1, 6):
        # Kill while consuming: once this instance owns the partitions (a killed
        # member's partitions move only when its group session expires).
        fw.wait_log("kafka partitions assigned", timeout=60, count=n)
        time.sleep(rng.uniform(0.5, 3.0))
        fw.kill()
        fw.start()
    producer.join()
    wait_for(lambda: stored_transitions(db) == expected, 120, "every alert after 5 crashes")
    fw.wait_log("floodwatch running", count=6)
    assert fw.stop() == 0
    log = fw.log.read_text()
    assert log.count("kafka partitions assigned") >= 5
    assert "engine restored from snapshot" in log
    announced = [
        line for line in fw.log.read_text().splitlines() if " floodwatch.service: alert " in line
    ]
    assert len(announced) == len(expected), "an alert was announced twice or never"
