"""The live service over a real Kafka-protocol broker (tansu)."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from pathlib import Path

import pytest

from floodwatch.sim import simulate
from tests.integration.services import (
    KEYS,
    Floodwatch,
    Key,
    Tansu,
    assert_announced_at_most_once,
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
    expected = expected_transitions(cfg, STORM, partitions=4)
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
    expected = expected_transitions(cfg, readings, partitions=4)
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
    assert_announced_at_most_once(fw.log.read_text(), expected, kills=5)


@pytest.mark.slow
def test_two_instances_in_one_group_raise_every_alert_exactly_once(
    tmp_path: Path, kafka: Tansu
) -> None:
    """One instance is stopped and started three times while a storm streams in:
    the partitions move back and forth, each new owner rebuilds its shards' state
    before it emits, and across the two stores every expected transition is
    there exactly once. (A kill -9 can leave one step stored but not committed,
    which a new owner announces again: see ingest/kafka.py; crashes of one
    instance are tested in the kill -9 test above, where its own ledger dedups.)"""
    readings = storm_days(18)
    # Five partitions: the example's station keys land in 0 and 1, so with the
    # round-robin assignor each instance owns stations whichever joins first.
    kafka.create_topic("readings", 5)
    dirs = [tmp_path / "a", tmp_path / "b"]
    cfgs = [service_config(d, kafka=kafka.bootstrap) for d in dirs]
    expected = expected_transitions(cfgs[0], readings, partitions=5)
    producer = threading.Thread(target=kafka.produce, args=("readings", readings, 0.4))
    producer.start()
    a, b = (Floodwatch(c, d) for c, d in zip(cfgs, dirs, strict=True))
    try:
        _share_and_check(a, b, producer, dirs, expected)
    finally:
        a.kill()
        b.kill()


def _share_and_check(
    a: Floodwatch,
    b: Floodwatch,
    producer: threading.Thread,
    dirs: list[Path],
    expected: list[Key],
) -> None:
    a.start()
    a.wait_log("kafka partitions assigned", timeout=60)
    b.start()
    rng = random.Random(3)
    for n in range(1, 4):
        b.wait_log("kafka partitions assigned", timeout=60, count=n)
        time.sleep(rng.uniform(1.0, 3.0))
        assert b.stop() == 0
        time.sleep(rng.uniform(1.0, 3.0))
        b.start()
    producer.join()
    dbs = [d / "var" / "floodwatch.db" for d in dirs]

    def both() -> list[object]:
        return sorted(stored_transitions(dbs[0]) + stored_transitions(dbs[1]))

    wait_for(lambda: both() == expected, 120, "every alert stored once across the two")
    assert a.stop() == 0 and b.stop() == 0
    logs = a.log.read_text() + b.log.read_text()
    assert "rebuilt from offsets" in logs, "no partition changed hands with state to rebuild"
    announced = [line for line in logs.splitlines() if " floodwatch.service: alert " in line]
    assert len(announced) == len(expected), "an alert was announced twice or never"
    assert len(expected) > 50


def _produce_raw(kafka: Tansu, topic: str, payloads: list[bytes], key: bytes) -> None:
    from aiokafka import AIOKafkaProducer

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, linger_ms=50)
        await producer.start()
        try:
            sent = [await producer.send(topic, p, key=key) for p in payloads]
            await asyncio.gather(*sent)
        finally:
            await producer.stop()

    asyncio.run(send())


def test_json_split_across_two_messages_is_two_dead_letters_not_two_readings(
    tmp_path: Path, kafka: Tansu
) -> None:
    """Two halves that a comma would join into two valid readings are two bad
    messages, each dead-lettered with its own offset; the storm after them is
    decoded as usual."""
    kafka.create_topic("readings", 1)
    first = json.dumps(STORM[0].to_json()).encode()
    halves = [
        first + b', {"station": "maokeng-pond", "kind": "level"',
        b'"value": 399.0, "ts": "' + STORM[1].to_json()["ts"].encode() + b'"}',  # type: ignore[union-attr]
    ]
    _produce_raw(kafka, "readings", halves, KEYS["maokeng-pond"].encode())
    kafka.produce("readings", STORM)
    cfg = service_config(tmp_path, kafka=kafka.bootstrap)
    expected = expected_transitions(cfg, STORM, partitions=1)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    db = tmp_path / "var" / "floodwatch.db"
    wait_for(lambda: stored_transitions(db) == expected, 60, "alerts stored")
    assert fw.stop() == 0
    dead_letter = (tmp_path / "var" / "dead-letter.jsonl").read_text()
    dead = [json.loads(line) for line in dead_letter.splitlines()]
    assert [(d["reason"], d["source"]) for d in dead] == [
        ("decode_error", "kafka:readings/0@0"),
        ("schema_error", "kafka:readings/0@1"),
    ]
    assert f"readings {len(STORM)};" in fw.log.read_text()
