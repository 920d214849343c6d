"""The intake of `floodwatch run` (service/sources.py): which sources are built
for which config and how they are joined (straight into the queue, or through
the bridge into Kafka), the readiness checks in order, the broker check before
anything is opened — against a real mosquitto and a dead port."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.service.run import Service
from floodwatch.service.sources import Sources
from floodwatch.sim import simulate
from tests.integration.services import Mosquitto, free_port, service_config

READING = simulate("blocked").readings[0]


def _service(tmp_path: Path, **settings: object) -> Service:
    return Service(load_config_dir(service_config(tmp_path, **settings)))  # type: ignore[arg-type]


def _built(service: Service) -> Sources:
    sources = Sources.build(service)
    assert sources is not None
    return sources


def _ready(service: Service) -> list[str]:
    return [name for name, _ in service.readiness]


def test_mqtt_alone_goes_straight_into_the_queue(tmp_path: Path) -> None:
    port = free_port()
    service = _service(tmp_path, mqtt_port=port)
    sources = _built(service)
    assert (sources.kafka, sources.bridge, sources.sl651, sources.remembered) == (None,) * 4
    assert sources.mqtt is not None and sources.mqtt.put == service.put
    assert _ready(service) == ["mqtt"]
    assert service.after_step is None
    assert sources.names() == [f"mqtt://127.0.0.1:{port}"]
    assert sources.exit_code == 0


def test_with_kafka_mqtt_and_sl651_readings_take_one_path_through_the_bridge(
    tmp_path: Path,
) -> None:
    mqtt, kafka, sl651 = free_port(), free_port(), free_port()
    service = _service(
        tmp_path,
        mqtt_port=mqtt,
        kafka=f"127.0.0.1:{kafka}",
        sl651={"listen": f"127.0.0.1:{sl651}"},
    )
    sources = _built(service)  # builds, connects nothing
    assert sources.kafka is not None and sources.bridge is not None
    assert sources.mqtt is not None and sources.mqtt.put == sources.bridge.put
    assert sources.remembered is not None and sources.sl651 is not None
    assert service.sl651 is sources.sl651
    assert _ready(service) == ["mqtt", "sl651", "kafka"]
    assert service.after_step == sources.kafka.commit  # offsets committed after each step
    assert sources.names() == [
        f"mqtt://127.0.0.1:{mqtt} (bridged into readings)",
        f"sl651://127.0.0.1:{sl651}",
        f"kafka://127.0.0.1:{kafka}/readings",
    ]
    sources.bridge.failure = ConnectionError("kafka gone")  # readings lost on the way
    assert sources.exit_code == 1


def test_sl651_alone_goes_into_the_queue_and_its_memory_is_the_store(tmp_path: Path) -> None:
    service = _service(tmp_path, sl651={"listen": f"127.0.0.1:{free_port()}"})
    sources = _built(service)
    assert sources.bridge is None and sources.remembered is None and sources.mqtt is None
    assert _ready(service) == ["sl651"]
    assert sources.sl651 is not None and sources.sl651.memory is None
    service.open()
    try:
        sources.take_up_memory(service)
        assert service.store is not None
        assert sources.sl651.memory is service.store.sl651
    finally:
        service.close()


def test_an_unreachable_mqtt_broker_fails_the_check_and_kafka_is_not_tried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens there
    service = _service(tmp_path, mqtt_port=port, kafka=f"127.0.0.1:{free_port()}")
    sources = _built(service)
    with caplog.at_level(logging.ERROR, "floodwatch.service"):
        assert asyncio.run(sources.check()) is False
    assert f"cannot reach the MQTT broker at mqtt://127.0.0.1:{port}" in caplog.text
    assert "Kafka" not in caplog.text
    assert not service.store_path.exists()  # nothing opened


def test_a_live_broker_and_a_dead_kafka_fail_the_check_naming_kafka(
    tmp_path: Path, mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    kafka = f"127.0.0.1:{free_port()}"
    sources = _built(_service(tmp_path, mqtt_port=mosquitto.port, kafka=kafka))
    with caplog.at_level(logging.ERROR, "floodwatch.service"):
        assert asyncio.run(sources.check()) is False
    assert f"cannot reach Kafka at {kafka}" in caplog.text


def test_mqtt_started_delivers_into_the_service_queue_and_stops(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    service = _service(tmp_path, mqtt_port=mosquitto.port)
    sources = _built(service)

    async def scenario() -> Incoming:
        assert await sources.check() is True
        tasks = await sources.start()
        assert [t.get_name() for t in tasks] == [f"mqtt://127.0.0.1:{mosquitto.port}"]
        assert sources.mqtt is not None
        await asyncio.wait_for(sources.mqtt.connected.wait(), 20)
        assert all(ready() for _, ready in service.readiness)
        payload = json.dumps(READING.to_json())
        topic = f"hydro/{READING.station}/{READING.kind}"  # the station's own account
        await asyncio.to_thread(mosquitto.publish, topic, [payload], READING.station)
        item = await asyncio.wait_for(service.queue.get(), 20)
        assert isinstance(item, Incoming)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await sources.stop_intake()
        await sources.stop_kafka()
        return item

    item = asyncio.run(scenario())
    assert item.source == "mqtt" and item.topic == f"hydro/{READING.station}/{READING.kind}"
    assert json.loads(item.payload) == READING.to_json()
    assert item.confirm is not None  # acknowledged only once the step has stored it
