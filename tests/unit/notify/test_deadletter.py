"""The dead-letter publisher (notify/deadletter.py) against real brokers
(mosquitto, tansu on free ports): records in order, Kafka keyed by source, a
broker down at start or restarted (nothing lost, nothing twice, the trouble
raised after `failing_after` and resolved), one topic's dead broker never
holding up the other, and the backlog's bound."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from floodwatch.config.models import DeadLetterSettings, KafkaSettings, MqttSettings
from floodwatch.ingest import deadletter as ingest_deadletter
from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.notify.deadletter import Publisher
from floodwatch.readings import Rejected, RejectReason
from tests.integration.services import PASSWORD, Mosquitto, Subscriber, Tansu, free_port

TOPIC = "floodwatch/dead-letter"  # the topic the broker's ACL lets floodwatch publish
Trouble = tuple[str, float | None, str]


def mqtt_settings(port: int, tmp_path: Path) -> MqttSettings:
    (tmp_path / "mqtt-password").write_text(PASSWORD)
    return MqttSettings.model_validate(
        {
            "port": port,
            "username": "floodwatch",
            "password_file": str(tmp_path / "mqtt-password"),
            "client_id": "fw-test",
            "reconnect_initial": timedelta(seconds=0.2),
            "reconnect_max": timedelta(seconds=0.5),
            "topics": [{"pattern": "hydro/{station}/{kind}"}],
        }
    )


def settings(mqtt: bool = True, kafka: bool = False) -> DeadLetterSettings:
    return DeadLetterSettings.model_validate(
        {
            "mqtt_topic": TOPIC if mqtt else None,
            "kafka_topic": "dead-letter" if kafka else None,
            "failing_after": timedelta(seconds=1),
        }
    )


def bad(i: int, source: str | None = "mqtt:hydro/maokeng-pond/level") -> Rejected:
    return Rejected(RejectReason.DECODE, f"not JSON #{i}", raw=f"x{i}", source=source)


def details(payloads: list[bytes]) -> list[str]:
    return [json.loads(p)["detail"] for p in payloads]


async def until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(publisher: Publisher) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(publisher.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for connection, _, _ in publisher.topics:  # closed by run() however it ends
            assert not connection.ready.is_set()


def persistent(broker: Mosquitto, name: str) -> Subscriber:
    """A dead-letter viewer whose session (QoS 1) the broker keeps while it is away."""
    sub = Subscriber(broker, TOPIC, user="floodwatch")
    sub.args += ["-c", "-i", name]
    return sub.start()


def received(sub: Subscriber) -> list[bytes]:
    return [payload for _, _, payload in sub.messages()]


@pytest.mark.asyncio
async def test_each_record_goes_to_the_mqtt_topic_in_order_as_in_the_file(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    viewer = Subscriber(mosquitto, TOPIC, user="floodwatch").start()
    dead = DeadLetter(tmp_path / "dead-letter.jsonl")
    publisher = Publisher(dead, settings(), mqtt_settings(mosquitto.port, tmp_path), None)
    assert publisher.enabled and len(dead.backlogs) == 1
    async with running(publisher):
        dead.write([bad(i) for i in range(5)])
        dead.write([bad(5, source=None)])
        await until(lambda: len(received(viewer)) == 6, "six records on the topic")
    viewer.stop()
    lines = (tmp_path / "dead-letter.jsonl").read_bytes().splitlines()
    assert received(viewer) == lines  # the same bytes as the durable record, in order
    assert details(lines) == [f"not JSON #{i}" for i in range(6)]
    assert publisher.published == 6 and not dead.backlogs[0].records and dead.unpublished == 0
    dead.close()


@pytest.mark.asyncio
async def test_records_go_to_kafka_keyed_by_their_source(kafka: Tansu, tmp_path: Path) -> None:
    dead = DeadLetter(tmp_path / "dead-letter.jsonl")
    bus = KafkaSettings.model_validate({"bootstrap": kafka.bootstrap})
    publisher = Publisher(dead, settings(mqtt=False, kafka=True), None, bus)
    sources = ["mqtt:hydro/maokeng-pond/level", "kafka:readings/0", None]
    async with running(publisher):
        dead.write([bad(i, sources[i % 3]) for i in range(9)])
        await until(lambda: publisher.published == 9, "nine records produced", 40)
    got = await asyncio.to_thread(kafka.consume, "dead-letter", 9)
    by_key: dict[bytes, list[str]] = {}
    for message in got:
        by_key.setdefault(message.key, []).append(json.loads(message.value)["detail"])
    assert by_key == {
        b"mqtt:hydro/maokeng-pond/level": ["not JSON #0", "not JSON #3", "not JSON #6"],
        b"kafka:readings/0": ["not JSON #1", "not JSON #4", "not JSON #7"],
        b"": ["not JSON #2", "not JSON #5", "not JSON #8"],  # no source: one key of its own
    }  # each source's records in order
    dead.close()


@pytest.mark.asyncio
async def test_a_broker_restart_loses_nothing_and_repeats_nothing(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    viewer = persistent(mosquitto, "dead-letter-viewer")
    told: list[Trouble] = []
    dead = DeadLetter(tmp_path / "dead-letter.jsonl")
    publisher = Publisher(
        dead, settings(), mqtt_settings(mosquitto.port, tmp_path), None, lambda *a: told.append(a)
    )
    async with running(publisher):
        dead.write([bad(0), bad(1)])
        await until(lambda: publisher.published == 2, "the first two records")
        await asyncio.to_thread(mosquitto.stop)
        dead.write([bad(2), bad(3), bad(4)])  # kept in the file and the backlog meanwhile
        await until(lambda: bool(told), "the trouble raised after failing_after")
        name, since, error = told[0]
        assert name == "dead-letter:mqtt" and since is not None and error
        assert publisher.published == 2 and len(dead.backlogs[0].records) == 3
        await asyncio.to_thread(mosquitto.start)
        await until(lambda: publisher.published == 5, "the backlog after the restart")
        await until(lambda: told[-1][1] is None, "the trouble resolved")
        await until(lambda: len(received(viewer)) >= 5, "the viewer's five records")
        await asyncio.sleep(0.5)  # (a record sent twice would arrive meanwhile)
    viewer.stop()
    assert details(received(viewer)) == [f"not JSON #{i}" for i in range(5)]
    assert told[-1] == ("dead-letter:mqtt", None, "")
    assert len((tmp_path / "dead-letter.jsonl").read_bytes().splitlines()) == 5
    dead.close()


@pytest.mark.asyncio
async def test_a_loss_seen_between_two_sends_does_not_strand_the_rest_of_the_backlog(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The connection itself may see the loss (the client's disconnect notice)
    while a long backlog drains, between two sends that both went through:
    after the reconnect the rest goes out without waiting for a new record."""
    dead = DeadLetter(tmp_path / "dead-letter.jsonl")
    publisher = Publisher(dead, settings(), mqtt_settings(mosquitto.port, tmp_path), None)
    connection = publisher.topics[0][0]
    async with running(publisher):
        await asyncio.wait_for(connection.ready.wait(), 10)
        dead.write([bad(i) for i in range(500)])
        while publisher.published < 1:
            await asyncio.sleep(0)
        connection.lost("disconnect seen while idle between sends")
        assert publisher.published < 500
        await until(lambda: publisher.published == 500, "the rest of the backlog", 15)
    assert not dead.backlogs[0].records
    dead.close()


@pytest.mark.asyncio
async def test_a_broker_down_at_start_then_back_with_nothing_to_send_is_resolved(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    told: list[Trouble] = []
    await asyncio.to_thread(mosquitto.stop)
    dead = DeadLetter(tmp_path / "dead-letter.jsonl")
    publisher = Publisher(
        dead, settings(), mqtt_settings(mosquitto.port, tmp_path), None, lambda *a: told.append(a)
    )
    async with running(publisher):
        await until(lambda: bool(told), "the trouble of a broker absent from the start")
        assert told[0][0] == "dead-letter:mqtt" and told[0][1] is not None
        await asyncio.to_thread(mosquitto.start)
        await until(lambda: told[-1][1] is None, "resolved once connected, nothing sent")
    assert publisher.published == 0 and len(told) == 2
    dead.close()


@pytest.mark.asyncio
async def test_a_dead_kafka_never_holds_up_the_mqtt_topic(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    told: list[Trouble] = []
    dead = DeadLetter(tmp_path / "dead-letter.jsonl")
    nobody = KafkaSettings.model_validate({"bootstrap": f"127.0.0.1:{free_port()}"})
    publisher = Publisher(
        dead,
        settings(mqtt=True, kafka=True),
        mqtt_settings(mosquitto.port, tmp_path),
        nobody,
        lambda *a: told.append(a),
    )
    viewer = Subscriber(mosquitto, TOPIC, user="floodwatch").start()
    async with running(publisher):
        dead.write([bad(i) for i in range(3)])
        await until(lambda: len(received(viewer)) == 3, "the records on the MQTT topic")
        await until(lambda: bool(told), "the Kafka topic's trouble")
    viewer.stop()
    mqtt, kafka = dead.backlogs
    assert not mqtt.records and len(kafka.records) == 3  # kept for Kafka's return
    assert {name for name, _, _ in told} == {"dead-letter:kafka"}
    dead.close()


@pytest.mark.asyncio
async def test_beyond_the_backlog_the_oldest_records_are_only_in_the_file(
    mosquitto: Mosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_deadletter, "BACKLOG", 3)
    viewer = persistent(mosquitto, "dead-letter-viewer")
    await asyncio.to_thread(mosquitto.stop)
    dead = DeadLetter(tmp_path / "dead-letter.jsonl")
    publisher = Publisher(dead, settings(), mqtt_settings(mosquitto.port, tmp_path), None)
    async with running(publisher):
        dead.write([bad(i) for i in range(5)])
        assert dead.unpublished == 2
        assert details(list(dead.backlogs[0].records)) == [f"not JSON #{i}" for i in (2, 3, 4)]
        await asyncio.to_thread(mosquitto.start)
        await until(lambda: len(received(viewer)) >= 3, "the three records kept")
        await asyncio.sleep(0.3)
    viewer.stop()
    assert details(received(viewer)) == [f"not JSON #{i}" for i in (2, 3, 4)]
    assert publisher.published == 3 and dead.unpublished == 2
    assert len((tmp_path / "dead-letter.jsonl").read_bytes().splitlines()) == 5  # all of them
    dead.close()


def test_without_topics_nothing_is_published_or_kept(tmp_path: Path) -> None:
    dead = DeadLetter(tmp_path / "dead-letter.jsonl")
    mqtt = mqtt_settings(free_port(), tmp_path)
    assert not Publisher(dead, settings(mqtt=False), mqtt, None).enabled
    assert not Publisher(dead, settings(mqtt=True), None, None).enabled  # no broker given
    assert dead.backlogs == []
    dead.write([bad(0)])
    assert dead.count == 1 and dead.unpublished == 0
    asyncio.run(Publisher(dead, settings(mqtt=False), mqtt, None).run())  # returns at once
    dead.close()
