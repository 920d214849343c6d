"""`ingest.bridge.Bridge` (MQTT readings into Kafka) against a real Kafka
broker (tansu on a free port): each reading its own message, keyed by its
station's partition key, canonical JSON that decodes back to the same reading;
the MQTT message confirmed only once Kafka has every reading in it; bad
payloads dead-lettered and still confirmed; a broker that dies leaves the
message unconfirmed, records the failure and asks the bridge to stop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from floodwatch.config.models import KafkaSettings
from floodwatch.ingest import bridge as bridge_module
from floodwatch.ingest.bridge import Bridge, encode
from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.ingest.decode import Decoders
from floodwatch.ingest.kafka import client_options
from floodwatch.ingest.partition import partition_of
from floodwatch.ingest.source import Incoming
from floodwatch.readings import Reading
from tests.integration.services import Tansu

pytestmark = pytest.mark.integration

T0 = datetime(2026, 7, 7, 0, 0, 0, 123456, tzinfo=UTC)
KEYS = {"maokeng-pond": "maokeng", "maokeng-rain": "maokeng", "xiawu-pond": "xiawu"}


def batch(readings: list[Reading]) -> bytes:
    return json.dumps([r.to_json() for r in readings]).encode()


class Message:
    """An MQTT message as the source hands it on, remembering its confirmation."""

    def __init__(self, payload: bytes, topic: str = "gateway/county-gw") -> None:
        self.confirmed = 0
        self.item = Incoming(payload, topic, "batch", "mqtt", {}, self.confirm)

    def confirm(self) -> None:
        self.confirmed += 1


def make(kafka: Tansu, tmp_path: Path) -> tuple[Bridge, asyncio.Event]:
    stopping = asyncio.Event()
    settings = KafkaSettings(bootstrap=kafka.bootstrap, topic="readings")
    dead = DeadLetter(tmp_path / "dead-letter.jsonl")
    return Bridge(settings, KEYS, Decoders(), dead, stopping), stopping


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


def test_the_kafka_message_decodes_back_to_the_very_same_reading() -> None:
    reading = Reading("maokeng-pond", "level", 310.412, T0, "manual")
    assert Decoders().decode(encode(reading), "canonical") == ([reading], [])


@pytest.mark.asyncio
async def test_each_reading_goes_keyed_by_its_station_and_the_message_is_then_confirmed(
    kafka: Tansu, tmp_path: Path
) -> None:
    await asyncio.to_thread(kafka.create_topic, "readings", 4)
    readings = [
        Reading(station, "level", 300.0 + n, T0 + timedelta(minutes=5 * n))
        for n, station in enumerate(["maokeng-pond", "xiawu-pond", "maokeng-rain", "new-gauge"])
    ]
    bridge, stopping = make(kafka, tmp_path)
    await bridge.start()
    first, second = Message(batch(readings[:3])), Message(batch(readings[3:]))
    await bridge.put(first.item)
    await bridge.put(second.item)
    await until(lambda: first.confirmed and second.confirmed)
    assert bridge.forwarded == 4 and bridge.rejected == 0 and not stopping.is_set()
    await bridge.stop()
    assert bridge.producer is None
    messages: list[Any] = await asyncio.to_thread(kafka.consume, "readings", 4)
    got = {}
    for m in messages:
        (reading,), _ = Decoders().decode(m.value, "canonical")
        key = KEYS.get(reading.station, reading.station)  # unlisted: its own id
        assert m.key == key.encode() and m.partition == partition_of(key, 4)
        got[reading.station] = reading
    assert sorted(got.values(), key=lambda r: r.ts) == readings
    assert (first.confirmed, second.confirmed) == (1, 1)  # once each


@pytest.mark.asyncio
async def test_bad_payloads_are_dead_lettered_and_confirmed_the_good_readings_forwarded(
    kafka: Tansu, tmp_path: Path
) -> None:
    await asyncio.to_thread(kafka.create_topic, "readings", 1)
    good = Reading("maokeng-pond", "level", 310.0, T0)
    bridge, stopping = make(kafka, tmp_path)
    await bridge.start()
    junk = Message(b"\xff\xfe not json")
    mixed = Message(
        b'[%s, {"station": "x/../y", "kind": "level", "value": 1, "ts": 5}]' % encode(good)
    )
    await bridge.put(junk.item)
    await bridge.put(mixed.item)
    await until(lambda: junk.confirmed and mixed.confirmed)  # nothing left to wait for
    await bridge.stop()
    bridge.dead_letter.close()
    assert bridge.rejected == 2 and bridge.forwarded == 1 and not stopping.is_set()
    dead = [json.loads(line) for line in (tmp_path / "dead-letter.jsonl").read_text().splitlines()]
    assert [d["reason"] for d in dead] == ["decode_error", "schema_error"]
    assert {d["source"] for d in dead} == {"mqtt:gateway/county-gw"}
    (message,) = await asyncio.to_thread(kafka.consume, "readings", 1)
    assert Decoders().decode(message.value, "canonical") == ([good], [])


@pytest.mark.asyncio
async def test_a_broker_that_dies_leaves_the_message_unconfirmed_and_stops_the_bridge(
    kafka: Tansu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The producer's own retries end after its request timeout (40 s by
    # default): shortened here, the broker really gone.
    monkeypatch.setattr(
        bridge_module,
        "client_options",
        lambda settings: {**client_options(settings), "request_timeout_ms": 1500},
    )
    await asyncio.to_thread(kafka.create_topic, "readings", 1)
    bridge, stopping = make(kafka, tmp_path)
    await bridge.start()
    before = Message(batch([Reading("maokeng-pond", "level", 310.0, T0)]))
    await bridge.put(before.item)
    await until(lambda: before.confirmed == 1)
    await asyncio.to_thread(kafka.stop)
    lost = Message(batch([Reading("maokeng-pond", "level", 310.1, T0 + timedelta(minutes=5))]))
    await bridge.put(lost.item)
    await asyncio.wait_for(stopping.wait(), 20)
    assert bridge.failure is not None and lost.confirmed == 0
    assert bridge.forwarded == 1
    await asyncio.wait_for(bridge.stop(), 20)
