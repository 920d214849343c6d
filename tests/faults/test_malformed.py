"""Malformed payloads among a storm, over MQTT and over Kafka: every bad message
is dead-lettered with a reason, none changes an alert (the store holds exactly
`floodwatch replay`'s transitions of the good readings), memory stays bounded."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from floodwatch.sim import simulate
from tests.faults.harness import (
    BROADCAST_TOPIC,
    RSS_LIMIT_MB,
    VILLAGE_BROADCAST,
    Report,
    RssWatch,
    check_broadcasts,
    check_transitions,
    closed,
    dead_letters,
    received,
    replay,
    wait_delivered,
)
from tests.integration.services import (
    KEYS,
    PASSWORD,
    Floodwatch,
    Mosquitto,
    Subscriber,
    Tansu,
    batch_lines,
    service_config,
    wait_for,
)

pytestmark = [pytest.mark.faults, pytest.mark.integration]

STORM = closed(simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings)
GOOD = {"station": "maokeng-pond", "kind": "level", "value": 310.2, "ts": "2026-07-07T03:00:00Z"}


def _with(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def _raw(value: str) -> bytes:
    """The good reading with its value written as `value` (not valid JSON numbers)."""
    return json.dumps(GOOD).replace("310.2", value).encode()


# (class, payload): each is one message, and each must become one dead-letter
# record with a reason. The reading they imitate is a real time in the storm.
MALFORMED: list[tuple[str, bytes]] = [
    ("truncated JSON", _with()[:-9]),
    ("not JSON at all", b"level=310.2 at 03:00"),
    ("empty", b""),
    ("whitespace only", b" \n\t "),
    ("invalid UTF-8", b'{"station": "maokeng-pond\xff\xfe", "kind": "level"}'),
    ("value as a string", _with(value="310.2")),
    ("value null", _with(value=None)),
    ("value true", _with(value=True)),
    ("value an object", _with(value={"v": 310.2})),
    ("NaN", _raw("NaN")),
    ("Infinity", _raw("Infinity")),
    ("-Infinity", _raw("-Infinity")),
    ("number beyond a float", _raw("1e400")),
    ("integer of 400 digits", _raw("1" + "0" * 400)),
    ("huge payload", _with(note="x" * 100_000)),
    ("deep nesting (arrays)", b"[" * 5_000 + b"]" * 5_000),
    ("deep nesting (objects)", b'{"a":' * 2_000 + b"1" + b"}" * 2_000),
    ("station a number", _with(station=42)),
    ("value missing", json.dumps({k: v for k, v in GOOD.items() if k != "value"}).encode()),
    ("time missing", json.dumps({k: v for k, v in GOOD.items() if k != "ts"}).encode()),
    ("naive time", _with(ts="2026-07-07T03:00:00")),
    ("unparseable time", _with(ts="yesterday")),
    ("time as a number", _with(ts=1783393200)),
    ("unknown station", _with(station="nowhere")),
    ("unknown kind", _with(kind="snow")),
    ("station with a wildcard", _with(station="maokeng-pond/#")),
    ("station with a NUL", _with(station="maokeng\u0000pond")),
    ("unknown field", _with(extra=1)),
    ("duplicate keys", _raw('310.2, "value": 999.0')),
    ("an array of junk", json.dumps([1, "a", None, {}]).encode()),
    ("a bare number", b"310.2"),
]


# Kafka only: JSON split across two messages, each invalid on its own; joined
# with a comma they would read as two readings (a batch decoder must not join).
SPLIT = (
    _with(ts="2026-07-07T04:00:00Z").split(b', "value"')[0],
    b'"value": 310.2, "ts": "2026-07-07T04:00:00Z"}, ' + _with(ts="2026-07-07T04:05:00Z"),
)


def _mqtt_publish(broker: Mosquitto, user: str, topic: str, payloads: list[bytes]) -> None:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"malformed-{user}")
    client.username_pw_set(user, PASSWORD)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(timeout=30)
    finally:
        client.loop_stop()
        client.disconnect()


def _kafka_produce(kafka: Tansu, topic: str, values: list[bytes], key: str) -> None:
    from aiokafka import AIOKafkaProducer

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, max_request_size=2**21)
        await producer.start()
        try:
            for value in values:  # in order, one at a time
                await producer.send_and_wait(topic, value, key=key.encode())
        finally:
            await producer.stop()

    asyncio.run(send())


def _check_dead_letter(workdir: Path, sent: int) -> Counter[str]:
    """Every bad message became one record with a reason: the reasons counted."""
    records = dead_letters(workdir)
    assert len(records) == sent, Counter(r["reason"] for r in records)
    assert all(r["reason"] and r["detail"] for r in records)
    assert all("raw" in r or "reading" in r for r in records)
    # refused for what they are, not for when they came (a decoded reading)
    timing = {"too_late", "duplicate", "conflicting_duplicate", "too_far_in_future"}
    assert not [r for r in records if r["reason"] in timing]
    return Counter(r["reason"] for r in records)


def test_malformed_payloads_over_mqtt_are_dead_lettered(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    cfg = service_config(tmp_path, mosquitto.port, notify=VILLAGE_BROADCAST)
    truth = replay(cfg, STORM, tmp_path / "truth")
    lines = batch_lines(STORM)
    # On the gauge's own topic (station and kind from the topic) and through the
    # gateway (a batch: a bad part is one record, the good parts go on).
    own = [p for _, p in MALFORMED]
    gateway = [b"{}", b'[{"station": "maokeng-pond"}]', b"not a batch", b"[" * 4_000]
    box = Subscriber(mosquitto, BROADCAST_TOPIC).start()
    fw = Floodwatch(cfg, tmp_path)
    started = time.monotonic()
    fw.start()
    try:
        with RssWatch(fw) as rss:
            fw.wait_log("mqtt connected")
            third = len(lines) // 3
            mosquitto.publish("gateway/county-gw", lines[:third], user="county-gw")
            _mqtt_publish(mosquitto, "maokeng-pond", "hydro/maokeng-pond/level", own)
            mosquitto.publish("gateway/county-gw", lines[third : 2 * third], user="county-gw")
            _mqtt_publish(mosquitto, "county-gw", "gateway/county-gw", gateway)
            mosquitto.publish("gateway/county-gw", lines[2 * third :], user="county-gw")
            check_transitions(fw, tmp_path / "var" / "floodwatch.db", truth)
            sent = len(own) + len(gateway)
            wait_for(lambda: len(dead_letters(tmp_path)) >= sent, 20, "the dead-letter")
            wait_delivered(tmp_path / "var" / "floodwatch.db")
            assert fw.stop() == 0
        heard = check_broadcasts(received(box), mosquitto, truth, tmp_path)
    finally:
        fw.kill()
        box.stop()
    reasons = _check_dead_letter(tmp_path, sent)
    assert rss.peak_mb < RSS_LIMIT_MB
    Report(
        "malformed over MQTT",
        {
            "classes": len(MALFORMED) + len(gateway),
            "dead-lettered": sum(reasons.values()),
            "reasons": dict(reasons),
            "transitions": len(truth.keys),
            "village notices": heard,
            "peak RSS MB": round(rss.peak_mb),
            "seconds": round(time.monotonic() - started, 1),
        },
    ).show()


def test_malformed_payloads_over_kafka_are_dead_lettered(tmp_path: Path, kafka: Tansu) -> None:
    kafka.create_topic("readings", 2)
    cfg = service_config(tmp_path, kafka=kafka.bootstrap)
    truth = replay(cfg, STORM, tmp_path / "truth", partitions=2)
    bad = [p for _, p in MALFORMED]
    fw = Floodwatch(cfg, tmp_path)
    started = time.monotonic()
    fw.start()
    try:
        with RssWatch(fw) as rss:
            fw.wait_log("kafka partitions assigned", timeout=60)
            half = len(STORM) // 2
            kafka.produce("readings", STORM[:half])
            _kafka_produce(kafka, "readings", bad, KEYS["maokeng-pond"])
            time.sleep(1)  # the halves fetched with good readings only (the fast path)
            _kafka_produce(kafka, "readings", list(SPLIT), KEYS["maokeng-pond"])
            kafka.produce("readings", STORM[half:])
            check_transitions(fw, tmp_path / "var" / "floodwatch.db", truth)
            sent = len(bad) + len(SPLIT)
            wait_for(lambda: len(dead_letters(tmp_path)) >= sent, 20, "the dead-letter")
            assert fw.stop() == 0
    finally:
        fw.kill()
    reasons = _check_dead_letter(tmp_path, len(bad) + len(SPLIT))
    assert rss.peak_mb < RSS_LIMIT_MB
    Report(
        "malformed over Kafka",
        {
            "classes": len(MALFORMED) + 1,
            "dead-lettered": sum(reasons.values()),
            "reasons": dict(reasons),
            "transitions": len(truth.keys),
            "peak RSS MB": round(rss.peak_mb),
            "seconds": round(time.monotonic() - started, 1),
        },
    ).show()
