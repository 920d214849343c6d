"""`notify.kafka`: the destination model (`type: kafka`) and its channel,
against a real Kafka-protocol broker (tansu, `kafka` fixture): each row
produced to the alert topic keyed by station with its idempotency key as a
header, in order, and nothing sent while the producer is not connected."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import httpx
import pytest

from floodwatch.config.models import KafkaSettings
from floodwatch.ingest.backoff import Backoff
from floodwatch.notify.channel import Channel, Wiring
from floodwatch.notify.health import Health
from floodwatch.notify.kafka import SINK, KafkaDestination, channel
from floodwatch.notify.outcome import Sent
from floodwatch.notify.records import Delivery
from floodwatch.notify.sinks import notify_settings
from floodwatch.store import Store
from floodwatch.testing import compile_yaml, run, series
from tests.conftest import POND
from tests.integration.services import Tansu, free_port

RULE = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    levels: {yellow: {enter: design_flood}, red: {enter: crest - 0.2}}
"""
EVENTS = run(
    compile_yaml(stations=POND, rules=RULE),
    series("p1", "level", [311.0, 311.2, 311.5, 311.5, 311.9, 311.9]),
)


def rows(*keys: str) -> list[Delivery]:
    return [
        Delivery(k, "alerts", json.dumps(e.to_json()), 0)
        for k, e in zip(keys, EVENTS, strict=False)
    ]


async def _round(tmp_path: Path, bootstrap: str, due: list[Delivery], wait: bool) -> list[Sent]:
    # tansu has no idempotent producer (InitProducerId); a real cluster does
    dest = {"type": "kafka", "topic": "fw.alerts", "timeout": "5s", "idempotent": False}
    settings = notify_settings({"destinations": {"alerts": dest}})
    store = Store(tmp_path / "fw.db")
    try:
        async with httpx.AsyncClient() as client:
            ch: Channel = channel(
                Wiring(
                    "alerts",
                    settings.destinations["alerts"],
                    settings,
                    store,
                    client,
                    Health("alerts", 300.0),
                    lambda: Backoff(0.2, 1.0, random.Random(1)),
                    kafka=KafkaSettings(bootstrap=bootstrap),
                )
            )
            assert ch.connection is not None
            await ch.start()
            try:
                if wait:
                    await asyncio.wait_for(ch.connection.ready.wait(), 30)
                return await ch.deliver(due)
            finally:
                await ch.aclose()
    finally:
        store.close()


def test_the_model_needs_a_topic_and_is_idempotent_by_default() -> None:
    dest = KafkaDestination.model_validate({"type": "kafka", "topic": "t"})
    assert (dest.topic, dest.idempotent) == ("t", True)
    assert list(KafkaDestination.model_validate({"type": "kafka"}).problems()) == [
        (("topic",), "a kafka destination needs a topic")
    ]
    assert SINK.type == "kafka" and SINK.model is KafkaDestination and SINK.channel is channel


def test_each_row_goes_to_the_topic_keyed_by_station_with_its_key(
    tmp_path: Path, kafka: Tansu
) -> None:
    assert len(EVENTS) >= 2
    due = rows("k1", "k2")
    sent = asyncio.run(_round(tmp_path, kafka.bootstrap, due, wait=True))
    assert [(s.rows[0].key, s.outcome.ok) for s in sent] == [("k1", True), ("k2", True)]
    got = kafka.consume("fw.alerts", 2)
    assert [(m.key, dict(m.headers)["idempotency-key"]) for m in got] == [
        (b"p1", b"k1"),
        (b"p1", b"k2"),
    ]
    assert [json.loads(m.value) for m in got] == [e.to_json() for e in EVENTS[:2]]


def test_nothing_is_sent_while_not_connected_and_the_rest_wait_their_turn(
    tmp_path: Path,
) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    sent = asyncio.run(_round(tmp_path, nobody, rows("k1", "k2"), wait=False))
    assert [(s.rows[0].key, s.outcome.retry, s.outcome.error) for s in sent] == [
        ("k1", True, "kafka: not connected")  # ordered: k2 is not even tried
    ]


@pytest.mark.parametrize("idempotent", [True, False])
def test_the_producer_is_idempotent_as_the_destination_says(
    tmp_path: Path, idempotent: bool
) -> None:
    settings = notify_settings(
        {"destinations": {"a": {"type": "kafka", "topic": "t", "idempotent": idempotent}}}
    )
    store = Store(tmp_path / "fw.db")

    async def options() -> dict[str, object]:
        async with httpx.AsyncClient() as client:
            ch = channel(
                Wiring(
                    "a",
                    settings.destinations["a"],
                    settings,
                    store,
                    client,
                    Health("a", 300.0),
                    lambda: Backoff(1.0, 30.0),
                    kafka=KafkaSettings(),
                )
            )
            assert ch.connection is not None
            return dict(ch.connection.options)  # type: ignore[attr-defined]

    try:
        assert asyncio.run(options()) == {
            "request_timeout_ms": 5000,
            "acks": "all",
            "enable_idempotence": idempotent,
        }
    finally:
        store.close()
