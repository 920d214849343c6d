"""`floodwatch sl651-gateway`: the SL 651 receiver in a DMZ, forwarding canonical
readings to Kafka (`service.kafka`: the readings topic, keyed by station key,
as `floodwatch bridge` does) or, without Kafka, to MQTT (`service.mqtt`: one
`batch` message per report on `service.sl651.mqtt_topic`, QoS 1).

A report is confirmed to its RTU only once the broker has taken its readings
(Kafka: acknowledged by the leader; MQTT: PUBACK) and the receiver's memory —
the reports forwarded (deduplication) and each station's PT counter — is
written to the gateway's state file (`GatewayState`, `sl651-gateway.db` next
to `service.store`), a batch of acknowledged reports per commit
(`Remembered`). So after a restart a resend of a confirmed report is
confirmed at once and not published again, and the first PT is differenced
against the last one before. A crash between the acknowledgement and the
state write (at-least-once): the RTU resends, the report is published again,
and the engine behind refuses the readings it already has as duplicates.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import aiomqtt
import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from floodwatch.config.loader import LoadedConfig
from floodwatch.config.sl651 import Sl651Settings
from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.ingest.sl651.mapping import Directory
from floodwatch.ingest.sl651.remembered import Remembered, State
from floodwatch.ingest.sl651.server import Receiver
from floodwatch.ingest.source import Incoming
from floodwatch.rules.compile import compile_config

log = logging.getLogger("floodwatch.sl651.gateway")
STATE = "sl651-gateway.db"  # the receiver's memory, next to service.store


class MqttForward:
    """Each report's readings as one QoS 1 message; confirmed after a PUBACK
    that takes it. A PUBACK refusing it (MQTT 5, e.g. "Not authorized": the
    gateway's account may not write the topic) confirms nothing and stops the
    gateway (`refused` says why; exit 1): the broker dropped the readings, and
    an RTU told they arrived would never send them again. aiomqtt waits for
    the PUBACK without looking at its reason code, so paho's callback is read
    beside it, by message id."""

    def __init__(
        self, client: aiomqtt.Client, topic: str, stopping: asyncio.Event | None = None
    ) -> None:
        self.client = client
        self.topic = topic
        self.stopping = asyncio.Event() if stopping is None else stopping  # set on a refusal
        self.forwarded = 0
        self.refused: str | None = None
        self._mids: dict[asyncio.Task[Any] | None, int] = {}  # a publish's id, by its task
        self._failed: dict[int, str] = {}  # refusing PUBACKs' reason, by message id
        paho = client._client
        publish, on_publish = paho.publish, cast(Any, paho.on_publish)  # aiomqtt's: API v2

        def published(*args: Any, **kwargs: Any) -> mqtt.MQTTMessageInfo:
            info = publish(*args, **kwargs)
            self._mids[asyncio.current_task()] = info.mid
            return info

        def acknowledged(
            c: mqtt.Client, userdata: Any, mid: int, code: ReasonCode, properties: Any
        ) -> None:
            if code.is_failure:
                self._failed[mid] = str(code)
            if on_publish is not None:
                on_publish(c, userdata, mid, code, properties)

        paho.publish = published  # type: ignore[method-assign]
        paho.on_publish = acknowledged

    async def put(self, item: Incoming) -> None:
        try:
            await self.client.publish(self.topic, item.payload, qos=1)
        finally:
            mid = self._mids.pop(asyncio.current_task(), None)
        refused = None if mid is None else self._failed.pop(mid, None)
        if refused is not None:
            if self.refused is None:
                log.error(
                    "the broker refused the readings on %s: %s; nothing confirmed, stopping "
                    "(give the gateway an account that may write the topic)",
                    self.topic,
                    refused,
                )
            self.refused = refused
            self.stopping.set()
            return
        self.forwarded += 1
        if item.confirm is not None:
            item.confirm()


async def run_gateway(
    loaded: LoadedConfig, stopping: asyncio.Event, open_state: Callable[[Path], State]
) -> int:
    """Receive until `stopping` is set; the exit code. `open_state` opens the
    state file (`store.sl651.GatewayState`)."""
    from floodwatch.ingest.bridge import Bridge
    from floodwatch.ingest.decode import Decoders
    from floodwatch.ingest.mqtt import client_for
    from floodwatch.ingest.partition import station_keys

    settings = loaded.config.service
    if settings.sl651 is None or (settings.kafka is None and settings.mqtt is None):
        log.error("the gateway needs service.sl651 and service.kafka (or service.mqtt)")
        return 2
    compiled = compile_config(loaded)
    try:
        directory = Directory(compiled.config.stations)
    except ValueError as exc:
        log.error("service.sl651: %s", exc)
        return 2
    dead_letter = DeadLetter(Path(settings.dead_letter.file))
    pictures = Path(settings.sl651.pictures or Path(settings.store).parent / "sl651-pictures")
    try:
        state = open_state(Path(settings.store).parent / STATE)
    except (OSError, sqlite3.Error) as exc:
        log.error("sl651 state: %s", exc)
        dead_letter.close()
        return 2
    try:
        if settings.kafka is not None:
            bridge = Bridge(
                settings.kafka,
                station_keys(compiled),
                Decoders(settings.mappings, settings.max_payload),
                dead_letter,
                stopping,
            )
            await bridge.start()
            remembered = Remembered(state.memory.write, bridge.put, stopping)
            receiver = _receiver(
                settings.sl651, state, directory, remembered, dead_letter, pictures
            )
            target = f"kafka://{settings.kafka.bootstrap}/{settings.kafka.topic}"
            try:
                return await _serve(receiver, remembered, target, stopping)
            finally:
                await bridge.stop()
                remembered.flush()  # what Kafka acknowledged while stopping
        assert settings.mqtt is not None
        client = client_for(settings.mqtt, client_id=f"{settings.mqtt.client_id}-sl651-gateway")
        async with client:
            forward = MqttForward(client, settings.sl651.mqtt_topic, stopping)
            remembered = Remembered(state.memory.write, forward.put, stopping)
            receiver = _receiver(
                settings.sl651, state, directory, remembered, dead_letter, pictures
            )
            target = f"mqtt://{settings.mqtt.host}:{settings.mqtt.port}/{forward.topic}"
            code = await _serve(receiver, remembered, target, stopping)
            return 1 if forward.refused is not None else code
    except (aiomqtt.MqttError, OSError, ConnectionError) as exc:
        log.error("sl651 gateway: %s", exc)
        return 2
    finally:
        dead_letter.close()
        state.close()


def _receiver(
    settings: Sl651Settings,
    state: State,
    directory: Directory,
    remembered: Remembered,
    dead_letter: DeadLetter,
    pictures: Path,
) -> Receiver:
    """The receiver, its memory taken up from the state file."""
    receiver = Receiver(settings, directory, remembered.put, dead_letter.write, pictures=pictures)
    receiver.memory = state.memory
    receiver.restore()
    return receiver


async def _serve(
    receiver: Receiver, remembered: Remembered, target: str, stopping: asyncio.Event
) -> int:
    serving = asyncio.create_task(receiver.run(), name=receiver.name)
    writing = asyncio.create_task(remembered.run(), name="sl651-state")
    stop = asyncio.create_task(stopping.wait())
    waiting = asyncio.create_task(receiver.listening.wait())
    await asyncio.wait([serving, waiting], return_when=asyncio.FIRST_COMPLETED)
    if receiver.listening.is_set():
        log.info("floodwatch sl651-gateway running: %s -> %s", receiver.name, target)
    done, _ = await asyncio.wait([serving, stop], return_when=asyncio.FIRST_COMPLETED)
    for task in (serving, stop, waiting, writing):
        task.cancel()
    log.info(
        "floodwatch sl651-gateway stopped: %d frames, %d confirmed, refused %d, %d state commits",
        receiver.frames,
        receiver.confirmed,
        sum(receiver.refused.values()),
        remembered.commits,
    )
    if serving in done and not serving.cancelled() and serving.exception() is not None:
        log.error("sl651 receiver failed: %s", serving.exception())
        return 1
    if remembered.failed:
        return 1
    return 0
