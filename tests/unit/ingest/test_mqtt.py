"""`ingest.mqtt` against a real mosquitto (the shipped config and ACL, on a free
port): the source is ready only once every subscription is granted; each
message reaches `put` as received, with the topic's fields and its format;
nothing is acknowledged until `confirm`, so what was not confirmed comes
again after a restart of floodwatch (QoS 1, persistent session, both
protocols) or of the broker; hostile payloads (large, binary, empty) pass
through as bytes and the stream goes on; an unreachable broker or a wrong
password is named at start. (A refused subscription: mosquitto 2.0's ACL file
grants every SUBSCRIBE and filters on delivery, so only `_failures`, which
reads the SUBACK, is tested here.)"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from floodwatch.config.models import MqttSettings
from floodwatch.ingest.mqtt import MqttSource, _failures, client_for
from floodwatch.ingest.source import Incoming
from tests.integration.services import PASSWORD, Mosquitto, free_port

pytestmark = pytest.mark.integration
LEVEL = b'{"kind": "level", "value": 203.8, "ts": "2026-07-07T03:15:00Z"}'


def settings(broker_port: int, tmp_path: Path, **over: Any) -> MqttSettings:
    password = tmp_path / "mqtt-password"
    password.write_text(f"{PASSWORD}\n")  # a trailing newline, as editors leave it
    return MqttSettings.model_validate(
        {
            "port": broker_port,
            "username": "floodwatch",
            "password_file": str(password),
            "client_id": "fw-unit",
            "keepalive": "5s",
            "reconnect_initial": "1s",
            "reconnect_max": "1s",
            "topics": [
                {"pattern": "hydro/{station}/{kind}"},
                {"pattern": "gateway/{gateway}", "format": "batch"},
            ],
            **over,
        }
    )


class Inbox:
    """What the source hands over, in order."""

    def __init__(self) -> None:
        self.items: list[Incoming] = []

    async def put(self, item: Incoming) -> None:
        self.items.append(item)

    async def wait(self, count: int, timeout: float = 10.0) -> list[Incoming]:
        async with asyncio.timeout(timeout):
            while len(self.items) < count:
                await asyncio.sleep(0.02)
        return self.items

    def payloads(self) -> list[bytes]:
        return [i.payload for i in self.items]


@contextlib.asynccontextmanager
async def running(source: MqttSource) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(source.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def ready(source: MqttSource, timeout: float = 10.0) -> None:
    await asyncio.wait_for(source.connected.wait(), timeout)


async def publish(port: int, topic: str, *payloads: bytes, user: str = "maokeng-pond") -> None:
    """QoS 1 from a gauge's own account, each acknowledged by the broker."""
    async with aiomqtt.Client(
        "127.0.0.1", port, username=user, password=PASSWORD, identifier=f"pub-{os.getpid()}"
    ) as client:
        for payload in payloads:
            await client.publish(topic, payload, qos=1)


def run(scenario: Callable[[], Awaitable[None]], timeout: float = 40.0) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout))


def test_readings_arrive_with_the_topic_s_fields_and_format(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async def scenario() -> None:
        inbox = Inbox()
        source = MqttSource(settings(mosquitto.port, tmp_path), inbox.put)
        assert source.name == f"mqtt://127.0.0.1:{mosquitto.port}"
        async with running(source):
            await ready(source)
            await publish(mosquitto.port, "hydro/maokeng-pond/level", LEVEL)
            await publish(
                mosquitto.port, "gateway/county-gw", b"[" + LEVEL + b"]", user="county-gw"
            )
            level, batch = await inbox.wait(2)
        assert (level.payload, level.topic, level.fmt, level.source) == (
            LEVEL,
            "hydro/maokeng-pond/level",
            "canonical",
            "mqtt",
        )
        assert level.fields == {"station": "maokeng-pond", "kind": "level"}
        assert level.origin == "mqtt:hydro/maokeng-pond/level"
        assert (batch.fmt, batch.fields) == ("batch", {"gateway": "county-gw"})
        assert (source.attempts, source.connections) == (1, 1)

    run(scenario)


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_what_was_not_confirmed_comes_again_after_floodwatch_restarts(
    mosquitto: Mosquitto, tmp_path: Path, protocol: str
) -> None:
    """A crash after receipt and before storage: the broker resends (QoS 1,
    persistent session); a confirmed message never comes back."""
    s = settings(mosquitto.port, tmp_path, protocol=protocol)

    async def scenario() -> None:
        first = Inbox()
        source = MqttSource(s, first.put)
        async with running(source):
            await ready(source)
            await publish(mosquitto.port, "hydro/maokeng-pond/level", b"1", b"2", b"3")
            await first.wait(3)
            first.items[1].confirm()  # type: ignore[misc]  # only the second is stored
            await asyncio.sleep(0.3)  # the PUBACK is on its way before the "crash"
        assert first.payloads() == [b"1", b"2", b"3"]

        again = Inbox()
        source = MqttSource(s, again.put)
        async with running(source):
            await ready(source)
            await again.wait(2)
            await asyncio.sleep(0.3)  # and nothing more
            assert again.payloads() == [b"1", b"3"]
            first.items[0].confirm()  # type: ignore[misc]  # of a closed connection: dropped
            for item in again.items:
                item.confirm()  # type: ignore[misc]
            await asyncio.sleep(0.3)

        after = Inbox()
        source = MqttSource(s, after.put)
        async with running(source):
            await ready(source)
            await publish(mosquitto.port, "hydro/maokeng-pond/level", b"4")
            await after.wait(1)
            await asyncio.sleep(0.3)
        assert after.payloads() == [b"4"], "confirmed messages never come back"

    run(scenario)


def test_a_broker_restart_loses_nothing_unconfirmed(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """The broker goes down and comes back (clean restart, persistence written):
    the source is not ready while it is gone, reconnects on its own, and the
    message it had not confirmed is delivered again on the new connection."""

    async def scenario() -> None:
        inbox = Inbox()
        source = MqttSource(settings(mosquitto.port, tmp_path), inbox.put)
        async with running(source) as task:
            await ready(source)
            await publish(mosquitto.port, "hydro/maokeng-pond/level", b"before")
            [before] = await inbox.wait(1)
            down = threading.Event()
            restart = asyncio.create_task(
                asyncio.to_thread(mosquitto.restart, 1.0, during=down.set)
            )
            while not down.is_set():
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            assert not source.connected.is_set(), "not ready while the broker is gone"
            assert not task.done()
            before.confirm()  # type: ignore[misc]  # no connection: must not raise
            await restart
            started = time.monotonic()
            await ready(source, timeout=15)
            assert time.monotonic() - started < 5, "back within reconnect_max of the broker"
            assert source.connections == 2 and source.attempts >= 2
            await publish(mosquitto.port, "hydro/maokeng-pond/level", b"after")
            await inbox.wait(3)
            assert inbox.payloads() == [b"before", b"before", b"after"]
            assert [i.fields["station"] for i in inbox.items] == ["maokeng-pond"] * 3

    run(scenario, timeout=60)


def test_hostile_payloads_pass_through_as_bytes_and_the_stream_goes_on(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The decoder refuses them with a reason (dead-letter); the source must
    neither choke on them nor change them."""
    big = os.urandom(512 * 1024)  # 8 × service.max_payload's default, under the broker's limit
    hostile = [big, b"", b"\xff\xfe\x00garbage\x00", "水位".encode("gbk"), b"{" * 100_000]

    async def scenario() -> None:
        inbox = Inbox()
        source = MqttSource(settings(mosquitto.port, tmp_path), inbox.put)
        async with running(source) as task:
            await ready(source)
            await publish(mosquitto.port, "hydro/maokeng-pond/level", *hostile, LEVEL)
            await inbox.wait(len(hostile) + 1, timeout=20)
            assert not task.done()
        assert inbox.payloads() == [*hostile, LEVEL]
        assert all(isinstance(p, bytes) for p in inbox.payloads())

    run(scenario)


def test_a_packet_over_the_broker_s_limit_never_reaches_floodwatch(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """deploy/mosquitto/mosquitto.conf's max_packet_size: 2 MiB from a gauge
    account is refused by the broker (that client is disconnected), so
    floodwatch never holds it; the stream goes on."""
    huge = os.urandom(2 * 1024 * 1024)

    async def scenario() -> None:
        inbox = Inbox()
        source = MqttSource(settings(mosquitto.port, tmp_path), inbox.put)
        async with running(source) as task:
            await ready(source)
            with pytest.raises(aiomqtt.MqttError):
                await publish(mosquitto.port, "hydro/maokeng-pond/level", huge)
            await publish(mosquitto.port, "hydro/maokeng-pond/level", LEVEL)
            await inbox.wait(1, timeout=20)
            await asyncio.sleep(0.5)  # nothing else arrives
            assert not task.done()
        assert inbox.payloads() == [LEVEL]

    run(scenario)


def test_check_names_an_unreachable_broker_and_a_wrong_password(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async def scenario() -> None:
        await MqttSource(settings(mosquitto.port, tmp_path), Inbox().put).check()
        dead = MqttSource(settings(free_port(), tmp_path), Inbox().put)
        with pytest.raises(ConnectionError, match=r"cannot reach the MQTT broker at mqtt://127"):
            await dead.check(timeout=5)
        (tmp_path / "wrong").write_text("not-the-password")
        wrong = MqttSource(
            settings(mosquitto.port, tmp_path, password_file=str(tmp_path / "wrong")), Inbox().put
        )
        with pytest.raises(ConnectionError, match="cannot reach the MQTT broker"):
            await wrong.check(timeout=5)

    run(scenario)


def test_a_shared_group_subscribes_through_share(mosquitto: Mosquitto, tmp_path: Path) -> None:
    async def scenario() -> None:
        inbox = Inbox()
        source = MqttSource(settings(mosquitto.port, tmp_path, shared_group="fw"), inbox.put)
        assert source._filter(source.patterns[0][0]) == "$share/fw/hydro/+/+"
        async with running(source):
            await ready(source)
            await publish(mosquitto.port, "hydro/maokeng-pond/rain", b"x")
            [item] = await inbox.wait(1)
        assert item.fields == {"station": "maokeng-pond", "kind": "rain"}

    run(scenario)


def test_client_for_reads_the_password_file_and_keeps_the_session(tmp_path: Path) -> None:
    async def scenario() -> None:  # aiomqtt makes its client in a running loop
        s = settings(1883, tmp_path, session_expiry="2h")
        client = client_for(s)
        assert client._client._password == PASSWORD.encode()  # stripped of its newline
        assert client._client._client_id == b"fw-unit"
        assert client_for(s, client_id="other")._client._client_id == b"other"
        props = client._properties
        assert props is not None and props.SessionExpiryInterval == 7200
        assert client._clean_start is False  # MQTT 5: resume the session
        old = client_for(settings(1883, tmp_path, protocol="3.1.1"))
        assert old._client._clean_session is False and old._properties is None

    run(scenario)


def test_failures_are_the_refusals_among_a_suback_s_codes() -> None:
    assert _failures((0, 1, 2)) == []
    assert _failures((1, 0x80)) == ["128"]
    granted = ReasonCode(PacketTypes.SUBACK, "Granted QoS 1")
    refused = ReasonCode(PacketTypes.SUBACK, "Not authorized")
    assert _failures([granted, refused]) == ["Not authorized"]
