"""MQTT into Kafka: `floodwatch bridge`, `run` with both sources, dead-letter topics."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from floodwatch.ingest.partition import partition_of
from floodwatch.sim import simulate
from tests.integration.services import (
    KEYS,
    PASSWORD,
    Floodwatch,
    Mosquitto,
    Tansu,
    batch_lines,
    expected_transitions,
    service_config,
    stored_transitions,
    wait_for,
)

pytestmark = pytest.mark.integration

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings
BAD = [b"\xff\xfe not json", b'{"station": "x/../y", "kind": "level", "value": 1, "ts": 5}']


def test_bridge_forwards_mqtt_readings_keyed_by_station_to_a_consumer_group(
    tmp_path: Path, mosquitto: Mosquitto, kafka: Tansu
) -> None:
    kafka.create_topic("readings", 4)
    kafka.create_topic("dead-letter", 1)
    bridge_cfg = service_config(
        tmp_path / "bridge",
        mosquitto.port,
        kafka=kafka.bootstrap,
        dead_letter={
            "file": str(tmp_path / "bridge" / "dead-letter.jsonl"),
            "kafka_topic": "dead-letter",
        },
    )
    run_cfg = service_config(tmp_path / "run", kafka=kafka.bootstrap)
    bridge = Floodwatch(bridge_cfg, tmp_path / "bridge", command="bridge")
    fw = Floodwatch(run_cfg, tmp_path / "run")
    bridge.start()
    fw.start()
    try:
        bridge.wait_log("mqtt connected")
        mosquitto.publish("gateway/county-gw", [*batch_lines(STORM), *BAD], user="county-gw")
        expected = expected_transitions(run_cfg, STORM, partitions=4)
        db = tmp_path / "run" / "var" / "floodwatch.db"
        wait_for(lambda: stored_transitions(db) == expected, 60, "alerts stored")
        # Every reading went in as its own message, keyed by its station's key,
        # in the partition Kafka's default partitioner gives that key.
        messages = kafka.consume("readings", len(STORM))
        assert len(messages) == len(STORM)
        for m in messages:
            station = json.loads(m.value)["station"]
            assert m.key == KEYS[station].encode()
            assert m.partition == partition_of(KEYS[station], 4)
        # Bad payloads: dead-lettered by the bridge, in its file and on the topic.
        dead = kafka.consume("dead-letter", len(BAD))
        reasons = sorted(json.loads(m.value)["reason"] for m in dead)
        assert reasons == ["decode_error", "schema_error"]
        assert bridge.stop() == 0
        assert "readings forwarded" in bridge.log.read_text()
        assert fw.stop() == 0
    finally:
        bridge.kill()
        fw.kill()


def test_run_with_both_sources_takes_mqtt_through_kafka_and_publishes_dead_letters(
    tmp_path: Path, mosquitto: Mosquitto, kafka: Tansu
) -> None:
    kafka.create_topic("readings", 4)
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        kafka=kafka.bootstrap,
        dead_letter={
            "file": str(tmp_path / "var" / "dead-letter.jsonl"),
            "mqtt_topic": "floodwatch/dead-letter",
        },
    )
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            *("-h", "127.0.0.1", "-p", str(mosquitto.port)),
            *("-u", "floodwatch", "-P", PASSWORD, "-i", "dead-letter-reader"),
            *("-t", "floodwatch/dead-letter", "-C", str(len(BAD)), "-W", "60"),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        fw.wait_log("mqtt connected")
        fw.wait_log("kafka partitions assigned", timeout=30)
        mosquitto.publish("gateway/county-gw", [*batch_lines(STORM), *BAD], user="county-gw")
        expected = expected_transitions(cfg, STORM, partitions=4)
        db = tmp_path / "var" / "floodwatch.db"
        wait_for(lambda: stored_transitions(db) == expected, 60, "alerts stored")
        out, _ = sub.communicate(timeout=60)
        reasons = sorted(json.loads(line)["reason"] for line in out.splitlines())
        assert reasons == ["decode_error", "schema_error"]
        log = fw.log.read_text()
        assert "bridged into readings" in log
        assert fw.stop() == 0
    finally:
        sub.kill()
        fw.kill()


def test_two_bridges_share_an_mqtt_5_subscription_and_forward_each_reading_once(
    tmp_path: Path, mosquitto: Mosquitto, kafka: Tansu
) -> None:
    kafka.create_topic("readings", 4)
    bridges = []
    for name in ("b1", "b2"):
        cfg = service_config(tmp_path / name, mosquitto.port, kafka=kafka.bootstrap)
        path = cfg / "service.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["service"]["mqtt"].update(client_id=f"bridge-{name}", shared_group="bridges")
        path.write_text(yaml.safe_dump(doc))
        bridges.append(Floodwatch(cfg, tmp_path / name, command="bridge"))
    try:
        for bridge in bridges:
            bridge.start()
            bridge.wait_log("mqtt connected")
        mosquitto.publish("gateway/county-gw", batch_lines(STORM), user="county-gw")
        messages = kafka.consume("readings", len(STORM))
        sent = sorted(json.dumps(r.to_json(), sort_keys=True) for r in STORM)
        got = sorted(json.dumps(json.loads(m.value), sort_keys=True) for m in messages)
        assert got == sent  # every reading once, none twice
        for bridge in bridges:
            assert bridge.stop() == 0
        forwarded = [
            int(line.split("stopped: ")[1].split(" readings")[0])
            for bridge in bridges
            for line in bridge.log.read_text().splitlines()
            if "floodwatch bridge stopped" in line
        ]
        assert sum(forwarded) == len(STORM)
        assert all(n > 0 for n in forwarded), "the shared subscription did not share"
    finally:
        for bridge in bridges:
            bridge.kill()
