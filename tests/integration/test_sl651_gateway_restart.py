"""`floodwatch sl651-gateway` into Kafka (tansu), killed with -9 in the middle
of a storm and restarted: its state file keeps the receiver's memory, so the
cumulative rain counter (PT) is differenced across the restart (no interval
lost) and a report confirmed before the kill and sent again after it is
confirmed at once, not published a second time. Reports in flight at the kill
may be published twice (at-least-once: the engine's duplicate check removes
them); none is lost. The same for `floodwatch run` with `service.kafka`,
whose receiver hands its readings to Kafka too and keeps its memory in the
store. And the same for the gateway over MQTT (mosquitto; one QoS 1 batch
message per report, confirmed after the PUBACK)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from floodwatch.ingest.sl651.body import TIMED, Element
from floodwatch.ingest.sl651.rtu import Rtu, RtuIdentity
from tests.integration.services import (
    Floodwatch,
    Mosquitto,
    Subscriber,
    Tansu,
    free_port,
    service_config,
    wait_for,
    wait_port,
)

pytestmark = pytest.mark.integration
POND = RtuIdentity("0033018201", "1234", "K")
RAIN = RtuIdentity("0033018203", "1234", "P")
T0 = datetime(2026, 7, 6, 16, 0, tzinfo=UTC).replace(tzinfo=None)  # station time (Beijing)
STORM = 60  # level reports, one a minute


def _readings(kafka: Tansu, last: tuple[str, str, float]) -> list[tuple[str, str, float, str]]:
    """Every reading in the topic, once `last` (station, kind, value) is there."""
    from aiokafka import AIOKafkaConsumer

    async def read() -> list[tuple[str, str, float, str]]:
        consumer = AIOKafkaConsumer(
            "readings", bootstrap_servers=kafka.bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        got: list[tuple[str, str, float, str]] = []
        try:
            async with asyncio.timeout(30):
                while True:
                    fetched = await consumer.getmany(timeout_ms=500)
                    if not fetched and last in {g[:3] for g in got}:
                        break  # published last, and nothing after it
                    for messages in fetched.values():
                        for m in messages:
                            r: dict[str, Any] = json.loads(m.value)
                            got.append((r["station"], r["kind"], r["value"], r["ts"]))
        finally:
            await consumer.stop()
        return got

    return asyncio.run(read())


@pytest.mark.parametrize("command", ["sl651-gateway", "run"])
def test_memory_survives_a_kill_mid_storm(tmp_path: Path, kafka: Tansu, command: str) -> None:
    kafka.create_topic("readings", 1)  # one partition: the topic's order is the publish order
    port = free_port()
    cfg = service_config(tmp_path, kafka=kafka.bootstrap, sl651={"listen": f"127.0.0.1:{port}"})
    gateway = Floodwatch(cfg, tmp_path, command=command)
    gateway.start()
    try:
        wait_port(port, timeout=30)
        five = timedelta(minutes=5)
        resend: list[bytes] = []

        async def before() -> None:
            pond = Rtu(POND, "127.0.0.1", port)
            rain = Rtu(RAIN, "127.0.0.1", port)
            await rain.report(TIMED, [Element("PT", T0, 100.0)], T0)  # the first: no rain yet
            await rain.report(TIMED, [Element("PT", T0 + five, 110.0)], T0 + five)  # 10 mm
            frames = pond.build(TIMED, [Element("Z", T0, 310.2)], T0, 77)
            resend.extend(frames)
            await pond.send(frames, 77)
            await pond.close()
            await rain.close()

        asyncio.run(asyncio.wait_for(before(), 30))

        storm = Rtu(POND, "127.0.0.1", port, confirm_timeout=3, reconnect_delay=0.1)

        async def levels() -> None:
            for i in range(1, STORM + 1):
                at = T0 + timedelta(minutes=i)
                await storm.report(TIMED, [Element("Z", at, round(310.2 + i / 1000, 3))], at)
            await storm.close()

        thread = threading.Thread(target=lambda: asyncio.run(levels()), daemon=True)
        thread.start()
        wait_for(lambda: storm.confirmed >= STORM // 3, 20, "a third of the storm confirmed")
        gateway.kill()  # mid-storm: reports in flight, some published, not all confirmed
        killed_at = storm.confirmed
        gateway.start()
        wait_port(port, timeout=30)

        async def after() -> tuple[int, int]:
            pond = Rtu(POND, "127.0.0.1", port)
            rain = Rtu(RAIN, "127.0.0.1", port)
            await pond.send(resend, 77)  # the RTU never heard the first confirmation
            t = T0 + 2 * five
            await rain.report(TIMED, [Element("PT", t, 135.0)], t)  # 25 mm since 110
            end = T0 + timedelta(hours=3)
            await pond.report(TIMED, [Element("Z", end, 311.0)], end)  # published last
            await pond.close()
            await rain.close()
            return pond.resent, rain.resent

        assert asyncio.run(asyncio.wait_for(after(), 30)) == (0, 0)
        thread.join(timeout=30)
        assert storm.confirmed == STORM, "the storm's reports all confirmed after the restart"
        assert killed_at < STORM, "the kill came in the middle of the storm"
        got = _readings(kafka, ("maokeng-pond", "level", 311.0))
        rain = [value for station, kind, value, _ in got if kind == "rain"]
        assert rain == [10.0, 25.0], "PT differenced across the restart, each interval once"
        first = [r for r in got if r[0] == "maokeng-pond" and r[2] == 310.2]
        assert len(first) == 1, "the resent report was confirmed from the state, not published"
        levels_got = {(v, ts) for station, kind, v, ts in got if kind == "level"}
        assert len(levels_got) == STORM + 2, "no level report lost"
        taken = re.search(
            r"sl651: (\d+) stored reports and 1 rain counters taken up", gateway.log.read_text()
        )
        assert taken is not None and int(taken[1]) >= 3 + killed_at, "every confirmed report kept"
        assert gateway.stop() == 0
    finally:
        gateway.kill()  # still running only when the test failed


def test_the_gateway_over_mqtt_survives_a_kill_mid_storm(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """`floodwatch sl651-gateway` with `service.mqtt`, killed with -9 mid-storm and
    restarted: what floodwatch would read on the gateway's topic has each
    interval's rain once (PT differenced across the restart), the report the
    RTU resends after the restart once, and every level report."""
    port = free_port()
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        sl651={"listen": f"127.0.0.1:{port}", "mqtt_topic": "gateway/county-gw"},
    )
    service_yaml = cfg / "service.yaml"
    doc = yaml.safe_load(service_yaml.read_text())
    doc["service"]["mqtt"].update(username="county-gw", client_id="county-gw")
    service_yaml.write_text(yaml.safe_dump(doc))
    watch = Subscriber(mosquitto, "gateway/county-gw", user="floodwatch").start()
    gateway = Floodwatch(cfg, tmp_path, command="sl651-gateway")
    gateway.start()
    try:
        gateway.wait_log("floodwatch sl651-gateway running", timeout=30)
        resend: list[bytes] = []

        async def before() -> None:
            pond = Rtu(POND, "127.0.0.1", port)
            rain = Rtu(RAIN, "127.0.0.1", port)
            await rain.report(TIMED, [Element("PT", T0, 100.0)], T0)  # the first: no rain yet
            five = timedelta(minutes=5)
            await rain.report(TIMED, [Element("PT", T0 + five, 110.0)], T0 + five)  # 10 mm
            frames = pond.build(TIMED, [Element("Z", T0, 310.2)], T0, 77)
            resend.extend(frames)
            await pond.send(frames, 77)
            await pond.close()
            await rain.close()

        asyncio.run(asyncio.wait_for(before(), 30))
        storm = Rtu(POND, "127.0.0.1", port, confirm_timeout=3, reconnect_delay=0.1)

        async def levels() -> None:
            for i in range(1, STORM + 1):
                at = T0 + timedelta(minutes=i)
                await storm.report(TIMED, [Element("Z", at, round(310.2 + i / 1000, 3))], at)
                await asyncio.sleep(0.03)  # paced: over MQTT a report takes ~2 ms
            await storm.close()

        thread = threading.Thread(target=lambda: asyncio.run(levels()), daemon=True)
        thread.start()
        wait_for(lambda: storm.confirmed >= STORM // 3, 20, "a third of the storm confirmed")
        gateway.kill()  # mid-storm: reports in flight, some published, not all confirmed
        killed_at = storm.confirmed
        gateway.start()
        wait_port(port, timeout=30)

        async def after() -> tuple[int, int]:
            pond = Rtu(POND, "127.0.0.1", port)
            rain = Rtu(RAIN, "127.0.0.1", port)
            await pond.send(resend, 77)  # the RTU never heard the first confirmation
            t = T0 + timedelta(minutes=10)
            await rain.report(TIMED, [Element("PT", t, 135.0)], t)  # 25 mm since 110
            end = T0 + timedelta(hours=3)
            await pond.report(TIMED, [Element("Z", end, 311.0)], end)  # published last
            await pond.close()
            await rain.close()
            return pond.resent, rain.resent

        assert asyncio.run(asyncio.wait_for(after(), 30)) == (0, 0)
        thread.join(timeout=30)
        assert storm.confirmed == STORM, "the storm's reports all confirmed after the restart"
        assert killed_at < STORM, "the kill came in the middle of the storm"

        def published() -> list[tuple[str, str, float, str]]:
            return [
                (r["station"], r["kind"], r["value"], r["ts"])
                for _, _, payload in watch.messages()
                for r in json.loads(payload)
            ]

        wait_for(lambda: any(r[2] == 311.0 for r in published()), 10, "the last report")
        got = published()
        rain = [value for _, kind, value, _ in got if kind == "rain"]
        assert rain == [10.0, 25.0], "PT differenced across the restart, each interval once"
        first = [r for r in got if r[0] == "maokeng-pond" and r[2] == 310.2]
        assert len(first) == 1, "the resent report was confirmed from the state, not published"
        levels_got = {(v, ts) for _, kind, v, ts in got if kind == "level"}
        assert len(levels_got) == STORM + 2, "no level report lost"
        taken = re.search(
            r"sl651: (\d+) stored reports and 1 rain counters taken up", gateway.log.read_text()
        )
        assert taken is not None and int(taken[1]) >= 3 + killed_at, "every confirmed report kept"
        assert gateway.stop() == 0
    finally:
        gateway.kill()  # still running only when the test failed
        watch.stop()
