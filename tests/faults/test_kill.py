"""kill -9 during a storm: over MQTT five times (gateway batches, and gauges on
their own topics with payloads of only value and time), over Kafka three times.
After every crash the service restarts from its snapshot and inbox; at the end
the store holds exactly `floodwatch replay`'s transitions, each announced once,
the village heard valid CAP and its retained message is the truth."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.harness import (
    BROADCAST_TOPIC,
    RSS_LIMIT_MB,
    VILLAGE_BROADCAST,
    Gauges,
    Report,
    RssWatch,
    check_broadcasts,
    check_redeliveries,
    check_transitions,
    closed,
    dead_letters,
    received,
    replay,
)
from tests.integration.services import (
    Floodwatch,
    Mosquitto,
    Subscriber,
    Tansu,
    batch_lines,
    service_config,
    storm_days,
)

pytestmark = [pytest.mark.faults, pytest.mark.integration]


def _paced(
    publish: Callable[[int, int], None], total: int, chunk: int, kills_done: threading.Event
) -> None:
    """Publish in chunks, 0.3 s apart; the last fifth only once every kill is
    done, so each kill lands mid-storm however fast the machine is."""
    for i in range(0, total, chunk):
        if i >= total * 4 // 5:
            kills_done.wait(timeout=300)
        publish(i, i + chunk)
        time.sleep(0.3)


@pytest.mark.parametrize("addressing", ["gateway", "topic"])
def test_kill_9_five_times_during_an_mqtt_storm(
    tmp_path: Path, mosquitto: Mosquitto, addressing: str
) -> None:
    readings = closed(storm_days(3))
    cfg = service_config(tmp_path, mosquitto.port, notify=VILLAGE_BROADCAST)
    truth = replay(cfg, readings, tmp_path / "truth")
    box = Subscriber(mosquitto, BROADCAST_TOPIC).start()
    fw = Floodwatch(cfg, tmp_path)
    started = time.monotonic()
    fw.start()
    fw.wait_log("mqtt connected")
    kills_done = threading.Event()
    if addressing == "gateway":  # a telemetry gateway: one JSON array per sweep
        lines = batch_lines(readings)
        publisher = threading.Thread(
            target=_paced,
            args=(
                lambda a, b: mosquitto.publish("gateway/county-gw", lines[a:b], user="county-gw"),
                len(lines), 24, kills_done,
            ),
        )  # fmt: skip
        gauges = None
    else:  # each gauge on hydro/{station}/{kind}, payload {"value", "ts"} only
        gauges = Gauges(mosquitto, {r.station for r in readings})
        ordered = sorted(readings, key=lambda r: r.ts)
        publisher = threading.Thread(
            target=_paced,
            args=(lambda a, b: gauges.publish(ordered[a:b]), len(ordered), 96, kills_done),
        )
    rng = random.Random(5)
    db = tmp_path / "var" / "floodwatch.db"
    try:
        with RssWatch(fw) as rss:
            publisher.start()
            for n in range(1, 6):
                fw.wait_log("mqtt connected", count=n, timeout=60)
                time.sleep(rng.uniform(0.3, 1.5))
                fw.kill()
                time.sleep(rng.uniform(0.0, 0.5))
                fw.start()
            kills_done.set()
            publisher.join()
            check_transitions(fw, db, truth, timeout=90, kills=5)
            fw.wait_log("floodwatch running", count=6, timeout=60)
            time.sleep(1.0)  # the last deliveries reach the box
            assert fw.stop() == 0
        heard = check_broadcasts(received(box), mosquitto, truth, tmp_path)
    finally:
        fw.kill()
        box.stop()
        if gauges is not None:
            gauges.close()
    repeats = check_redeliveries(tmp_path, readings)
    assert rss.peak_mb < RSS_LIMIT_MB
    Report(
        f"kill -9 x5, MQTT {addressing}",
        {
            "readings": len(readings),
            "transitions": len(truth.keys),
            "broadcasts": heard,
            "redelivered and set aside": repeats,
            "peak RSS MB": round(rss.peak_mb),
            "seconds": round(time.monotonic() - started, 1),
        },
    ).show()


def test_kill_9_three_times_during_a_kafka_storm(tmp_path: Path, kafka: Tansu) -> None:
    readings = closed(storm_days(3))
    kafka.create_topic("readings", 4)
    cfg = service_config(tmp_path, kafka=kafka.bootstrap)
    truth = replay(cfg, readings, tmp_path / "truth", partitions=4)
    cut = len(readings) * 4 // 5  # the last fifth once every kill is done
    producer = threading.Thread(target=kafka.produce, args=("readings", readings[:cut], 0.3, 24))
    fw = Floodwatch(cfg, tmp_path)
    started = time.monotonic()
    rng = random.Random(9)
    db = tmp_path / "var" / "floodwatch.db"
    try:
        with RssWatch(fw) as rss:
            producer.start()
            fw.start()
            for n in range(1, 4):
                # Kill while consuming: once this instance owns the partitions.
                fw.wait_log("kafka partitions assigned", timeout=60, count=n)
                time.sleep(rng.uniform(0.5, 2.0))
                fw.kill()
                fw.start()
            producer.join()
            kafka.produce("readings", readings[cut:], 0.3, 24)
            check_transitions(fw, db, truth, timeout=120, kills=3)
            fw.wait_log("floodwatch running", count=4, timeout=60)
            assert fw.stop() == 0
    finally:
        fw.kill()
    assert "engine restored from snapshot" in fw.log.read_text()
    assert dead_letters(tmp_path) == []
    assert rss.peak_mb < RSS_LIMIT_MB
    Report(
        "kill -9 x3, Kafka (4 partitions)",
        {
            "readings": len(readings),
            "transitions": len(truth.keys),
            "peak RSS MB": round(rss.peak_mb),
            "seconds": round(time.monotonic() - started, 1),
        },
    ).show()
