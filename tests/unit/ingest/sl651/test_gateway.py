"""`ingest.sl651.gateway` (what `floodwatch sl651-gateway` runs) in-process
against a real mosquitto: each report is one QoS 1 `batch` message, the RTU
confirmed only after the broker's PUBACK; its memory (reports forwarded, PT
counters) kept in the state file, so a second run confirms a resent report
without publishing it again and differences PT against the last counter
before; and the exit code 2, with the reason logged, for a config without
SL 651 or a broker, a state file that cannot be opened and a broker that
cannot be reached."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from floodwatch.config.loader import LoadedConfig
from floodwatch.ingest.sl651.body import TIMED, Element
from floodwatch.ingest.sl651.gateway import STATE, MqttForward, run_gateway
from floodwatch.ingest.sl651.rtu import Rtu, RtuIdentity
from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.store.sl651 import GatewayState
from tests.integration.services import (
    KEYS,
    PASSWORD,
    Mosquitto,
    Tansu,
    free_port,
    service_config,
)

pytestmark = pytest.mark.integration
POND = RtuIdentity("0033018201", "1234", "K")
RAIN = RtuIdentity("0033018203", "1234", "P")
T0 = datetime(2026, 7, 6, 16, 0, tzinfo=UTC).replace(tzinfo=None)  # station time (Beijing)
FIVE = timedelta(minutes=5)
TOPIC = "gateway/county-gw"


def gateway_config(tmp_path: Path, mqtt_port: int | None, rtu_port: int, **extra: Any) -> Path:
    cfg = service_config(
        tmp_path, mqtt_port, sl651={"listen": f"127.0.0.1:{rtu_port}", "mqtt_topic": TOPIC}, **extra
    )
    if mqtt_port is not None:  # the gateway's own broker account, as in the DMZ
        text = (cfg / "service.yaml").read_text()
        (cfg / "service.yaml").write_text(
            text.replace("username: floodwatch", "username: county-gw")
        )
    return cfg


class Watch:
    """floodwatch's side of the broker: every message on the gateway's topic."""

    def __init__(self) -> None:
        self.messages: list[list[dict[str, Any]]] = []

    def readings(self) -> list[tuple[str, str, float]]:
        return [(r["station"], r["kind"], r["value"]) for m in self.messages for r in m]


@contextlib.asynccontextmanager
async def watching(port: int) -> AsyncIterator[Watch]:
    watch = Watch()
    async with aiomqtt.Client(
        "127.0.0.1", port, username="floodwatch", password=PASSWORD, identifier="watch"
    ) as client:
        await client.subscribe(TOPIC, qos=1)

        async def take() -> None:
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                watch.messages.append(json.loads(message.payload))

        task = asyncio.create_task(take())
        try:
            yield watch
        finally:
            await asyncio.sleep(0.3)  # what is on its way
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def gateway(loaded: LoadedConfig, rtu_port: int) -> AsyncIterator[asyncio.Task[int]]:
    stopping = asyncio.Event()
    task = asyncio.create_task(run_gateway(loaded, stopping, GatewayState))
    async with asyncio.timeout(15):
        while True:  # listening
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", rtu_port)
            except OSError:
                assert not task.done(), task.result()
                await asyncio.sleep(0.05)
                continue
            writer.close()
            break
    try:
        yield task
    finally:
        stopping.set()
        await asyncio.wait_for(asyncio.shield(task), 15)


def test_reports_are_forwarded_once_confirmed_and_remembered_across_a_restart(
    mosquitto: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    loaded = load_config_dir(gateway_config(tmp_path, mosquitto.port, port))

    async def scenario() -> None:
        resend: list[bytes] = []
        async with watching(mosquitto.port) as watch:
            async with gateway(loaded, port) as task:
                pond, rain = Rtu(POND, "127.0.0.1", port), Rtu(RAIN, "127.0.0.1", port)
                await rain.report(TIMED, [Element("PT", T0, 100.0)], T0)  # no rain yet
                await rain.report(TIMED, [Element("PT", T0 + FIVE, 110.0)], T0 + FIVE)
                resend += pond.build(TIMED, [Element("Z", T0, 310.2)], T0, 77)
                await pond.send(resend, 77)
                await pond.close()
                await rain.close()
                assert (pond.confirmed, rain.confirmed, pond.resent, rain.resent) == (1, 2, 0, 0)
            assert task.result() == 0
        assert watch.readings() == [
            ("maokeng-rain", "rain", 10.0),
            ("maokeng-pond", "level", 310.2),
        ]
        assert (tmp_path / "var" / STATE).exists()

        async with watching(mosquitto.port) as watch:
            async with gateway(loaded, port) as task:
                pond, rain = Rtu(POND, "127.0.0.1", port), Rtu(RAIN, "127.0.0.1", port)
                await pond.send(resend, 77)  # it never heard the first confirmation
                t = T0 + 2 * FIVE
                await rain.report(TIMED, [Element("PT", t, 135.0)], t)
                await pond.close()
                await rain.close()
                assert (pond.confirmed, pond.resent) == (1, 0), "confirmed from the state file"
            assert task.result() == 0
        assert watch.readings() == [("maokeng-rain", "rain", 25.0)], "PT across the restart"

    with caplog.at_level(logging.INFO, logger="floodwatch"):
        asyncio.run(asyncio.wait_for(scenario(), 60))
    log = caplog.text
    assert log.count(f"-> mqtt://127.0.0.1:{mosquitto.port}/{TOPIC}") == 2  # running, twice
    assert "sl651: 3 stored reports and 1 rain counters taken up" in log


def test_into_kafka_each_reading_keyed_by_station_and_remembered(
    kafka: Tansu, tmp_path: Path
) -> None:
    """With `service.kafka`: one message per reading, keyed by the station's key;
    the RTU confirmed once Kafka acknowledged, the memory written at the stop."""
    kafka.create_topic("readings", 1)
    port = free_port()
    cfg = service_config(tmp_path, kafka=kafka.bootstrap, sl651={"listen": f"127.0.0.1:{port}"})
    loaded = load_config_dir(cfg)

    async def scenario() -> None:
        async with gateway(loaded, port) as task:
            rain = Rtu(RAIN, "127.0.0.1", port)
            await rain.report(TIMED, [Element("PT", T0, 100.0)], T0)
            await rain.report(TIMED, [Element("PT", T0 + FIVE, 112.5)], T0 + FIVE)
            await rain.close()
            assert (rain.confirmed, rain.resent) == (2, 0)
        assert task.result() == 0

    asyncio.run(asyncio.wait_for(scenario(), 60))
    [message] = kafka.consume("readings", 1)
    assert message.key == KEYS["maokeng-rain"].encode()
    reading = json.loads(message.value)
    assert (reading["station"], reading["kind"], reading["value"]) == ("maokeng-rain", "rain", 12.5)
    state = GatewayState(tmp_path / "var" / STATE)
    try:
        seen, counters = state.db.execute(
            "SELECT (SELECT count(*) FROM sl651_seen), (SELECT count(*) FROM sl651_counters)"
        ).fetchone()
    finally:
        state.close()
    assert (seen, counters) == (2, 1)


def test_mqtt_forward_confirms_after_the_broker_took_the_message(mosquitto: Mosquitto) -> None:
    async def scenario() -> None:
        async with (
            watching(mosquitto.port) as watch,
            aiomqtt.Client(
                "127.0.0.1", mosquitto.port, username="county-gw", password=PASSWORD
            ) as client,
        ):
            forward = MqttForward(client, TOPIC)
            confirmed: list[int] = []

            def confirm() -> None:
                confirmed.append(forward.forwarded)

            batch = b'[{"station": "maokeng-pond", "kind": "level", "value": 1.0, "ts": "x"}]'
            await forward.put(Incoming(batch, "sl651", "batch", "sl651", confirm=confirm))
            await forward.put(Incoming(batch, "sl651", "batch", "sl651"))  # no confirm
            assert confirmed == [1], "confirmed once, after its publish returned"
            assert forward.forwarded == 2
        assert len(watch.messages) == 2

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_closed_connection_leaves_the_report_unconfirmed(mosquitto: Mosquitto) -> None:
    """No PUBACK, no confirmation: the RTU keeps the report and sends it again."""

    async def scenario() -> None:
        async with aiomqtt.Client(
            "127.0.0.1", mosquitto.port, username="county-gw", password=PASSWORD
        ) as client:
            forward = MqttForward(client, TOPIC)
        confirmed: list[bool] = []
        with pytest.raises(aiomqtt.MqttError):
            await forward.put(
                Incoming(b"[]", "sl651", "batch", "sl651", confirm=lambda: confirmed.append(True))
            )
        assert confirmed == [] and forward.forwarded == 0

    asyncio.run(asyncio.wait_for(scenario(), 30))


def exit_code(loaded: LoadedConfig, open_state: Any = GatewayState) -> int:
    return asyncio.run(asyncio.wait_for(run_gateway(loaded, asyncio.Event(), open_state), 30))


def test_without_sl651_or_a_broker_the_gateway_will_not_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    no_sl651 = load_config_dir(service_config(tmp_path / "a", 1883))
    no_broker = load_config_dir(gateway_config(tmp_path / "b", None, free_port()))
    with caplog.at_level(logging.ERROR):
        assert exit_code(no_sl651) == 2
        assert exit_code(no_broker) == 2
    assert caplog.text.count("the gateway needs service.sl651 and service.kafka") == 2


def test_a_state_file_that_cannot_be_opened_stops_it_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loaded = load_config_dir(gateway_config(tmp_path, free_port(), free_port()))

    def broken(path: Path) -> GatewayState:
        raise sqlite3.OperationalError(f"unable to open database file {path}")

    with caplog.at_level(logging.ERROR):
        assert exit_code(loaded, broken) == 2
    assert f"sl651 state: unable to open database file {tmp_path / 'var' / STATE}" in caplog.text


def test_an_unreachable_broker_stops_it_with_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loaded = load_config_dir(gateway_config(tmp_path, free_port(), free_port()))
    with caplog.at_level(logging.ERROR):
        assert exit_code(loaded) == 2
    assert "sl651 gateway: " in caplog.text
    assert (tmp_path / "var" / STATE).exists()  # opened, and closed again
