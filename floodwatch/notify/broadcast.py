"""Village broadcast over MQTT: CAP 1.2 XML and its JSON twin, retained.

One outbox row per (alert transition, village), the village code as its
recipient. Each is published with QoS 1, retained, with an MQTT 5 message
expiry (the destination's `expiry`, also the CAP `<expires>`), to
`topic` (CAP XML) and `json_topic` (the JSON twin with the sentence to speak).

The retained message of a village is its current state:
- a Cancel (all-clear) replaces the retained warning, so a box that connects
  after a warning was cancelled hears the all-clear, never the stale warning;
- if another warning still stands in the village when one is cancelled, that
  warning is published again (an Update), so the retained message stays true;
- a warning still standing after half its expiry is published again (an
  Update), so it never expires from the broker while it is in force; an
  expired warning is never replayed (the broker drops it).

`references` of an Update or Cancel name the previous message of the same
alert in the same village (kept in the store's `broadcasts` table).

The client is a supervised `MqttConnection` (`notify/connection.py`). Rows go
out oldest first and a failed one holds back the rest, so a warning sent late
never lands after its all-clear. Every message published is also kept as the
retained truth of its topic (the store's `retained` table); after every
(re)connect the broker's retained messages are read back (subscribe, then a
marker message round trip on `floodwatch/sync/<client id>`) and each topic
whose retained message is not the truth — lost or left stale by a broker
restart — is published again with the rest of its expiry, before the backlog
goes out. A topic that already holds the truth is not published again, so a
box connected throughout hears each message once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Literal

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import Field

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Transition
from floodwatch.config.base import Problems
from floodwatch.config.destinations import DestinationBase
from floodwatch.config.models import MqttSettings
from floodwatch.config.values import Duration
from floodwatch.notify.cap import Broadcast, Previous, Village, build
from floodwatch.notify.channel import BaseChannel, Channel, Sink, Wiring
from floodwatch.notify.connection import MqttConnection
from floodwatch.notify.health import Health
from floodwatch.notify.outcome import Outcome, Sent
from floodwatch.notify.ports import BroadcastLog
from floodwatch.notify.records import Delivery, decode_alert
from floodwatch.rules.compile import CompiledConfig


class BroadcastDestination(DestinationBase):
    people = True
    recordable = True

    type: Literal["broadcast"]
    topic: str | None = Field(
        None,
        description="the CAP topic with {village_code} "
        "(default floodwatch/broadcast/{village_code})",
    )
    json_topic: str = Field(
        "floodwatch/broadcast/{village_code}/json",
        description="the JSON twin with the sentence to speak",
    )
    expiry: Duration = Field(
        timedelta(hours=6),
        description="MQTT message expiry and CAP <expires>; a warning still "
        "active is published again after half of it",
    )
    sender: str = Field("floodwatch@example.gov.cn", description="CAP <sender>")

    def problems(self) -> Problems:
        yield from super().problems()
        for key, topic in (("topic", self.topic), ("json_topic", self.json_topic)):
            if topic is not None and (
                "{village_code}" not in topic or any(c in topic for c in "+#")
            ):
                yield (key,), "a topic with {village_code} and no wildcards"


log = logging.getLogger(__name__)

DEFAULT_TOPIC = "floodwatch/broadcast/{village_code}"


class BroadcastChannel(BaseChannel):
    def __init__(
        self,
        name: str,
        dest: BroadcastDestination,
        mqtt: MqttSettings,
        ledger: BroadcastLog,
        compiled: CompiledConfig,
        health: Health | None = None,
    ) -> None:
        self.name = name
        self.dest = dest
        self.mqtt = mqtt.model_copy(update={"protocol": "5"})  # message expiry needs MQTT 5
        self.ledger = ledger
        self.compiled = compiled
        self.topic = dest.topic or DEFAULT_TOPIC
        self.connection: MqttConnection = MqttConnection(
            f"broadcast {name}",
            self.mqtt,
            client_id=f"{self.mqtt.client_id}-{name}",
            health=health,
        )
        self.connection.on_connected.append(self._reassert)

    def reconfigure(self, compiled: CompiledConfig) -> None:
        """A reloaded config: village names and crests may have changed."""
        self.compiled = compiled

    async def run(self) -> None:
        """Until cancelled: publish standing warnings again before they expire."""
        while True:
            await asyncio.sleep(min(60.0, self.dest.expiry.total_seconds() / 4))
            if self.connection.ready.is_set():
                await self._refresh()

    async def deliver(self, due: list[Delivery]) -> list[Sent]:
        """Oldest first; stops at the first failure (the rest wait their turn)."""
        out = []
        for row in due:
            try:
                await self._publish_row(row)
            except (aiomqtt.MqttError, TimeoutError) as exc:
                error = f"mqtt: {exc or type(exc).__name__}"
                self.connection.lost(error)
                out.append(Sent([row], Outcome(False, retry=True, error=error)))
                break
            out.append(Sent([row], Outcome(True)))
        return out

    async def _publish_row(self, row: Delivery) -> None:
        event = row.alert
        village = self._village(row.village.code)
        previous = self.ledger.broadcast_previous(village.code, event.id)
        made = datetime.fromtimestamp(row.created, UTC)  # CAP `sent`: when the row was made
        message = self._build(event, village, previous, made)
        if previous is not None and previous[0] == message.identifier:
            # sent already before a crash: the same message again, same references
            stored = self.ledger.broadcast_reference(village.code, event.id)
            message = self._build(event, village, stored, made)
        await self._publish(village, message)
        resolved = event.transition is Transition.RESOLVED
        self.ledger.broadcast_sent(
            village.code,
            event.id,
            message.identifier,
            message.sent,
            event.severity.value,
            row.event,
            active=not resolved,
            reference=previous,
        )
        if resolved:
            await self._restore(village)

    def _build(
        self,
        event: AlertEvent,
        village: Village,
        previous: tuple[str, str] | None,
        sent_at: datetime,
    ) -> Broadcast:
        station = self.compiled.stations.get(event.station)
        levels = station.model.levels if station is not None else None
        return build(
            event,
            village,
            sender=self.dest.sender,
            zone=self.compiled.zone,
            expiry=self.dest.expiry,
            previous=Previous(*previous) if previous is not None else None,
            crest=levels.crest if levels is not None else None,
            sent_at=sent_at,
        )

    async def _publish(self, village: Village, message: Broadcast) -> None:
        client = self.connection.client
        if client is None or not self.connection.ready.is_set():
            raise TimeoutError("not connected")
        expiry = self.dest.expiry.total_seconds()
        for topic, payload in (
            (self.topic, message.xml.encode()),
            (self.dest.json_topic, json.dumps(message.json, ensure_ascii=False).encode()),
        ):
            name = topic.format(village_code=village.code)
            await self._retain(client, name, payload, int(expiry))
            self.ledger.retained_sent(name, payload, time.time() + expiry)

    async def _retain(
        self, client: aiomqtt.Client, topic: str, payload: bytes, expiry: int
    ) -> None:
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if payload:
            properties.MessageExpiryInterval = expiry
        await client.publish(
            topic,
            payload,
            qos=1,
            retain=True,
            properties=properties,
            timeout=self.dest.timeout.total_seconds(),
        )

    async def _reassert(self) -> None:
        """After a (re)connect: make every retained topic the truth again."""
        truth = self.ledger.retained()
        client = self.connection.client
        if not truth or client is None:
            return
        held = await self._held(client, list(truth))
        now, again, cleared = time.time(), 0, 0
        for topic, (payload, expires) in truth.items():
            current = None if held is None else held.get(topic)
            if expires - now >= 1:
                if current != payload:
                    await self._retain(client, topic, payload, int(expires - now))
                    again += 1
            elif current is not None:  # expired here, yet the broker holds something
                await self._retain(client, topic, b"", 0)  # an empty retained message clears
                cleared += 1
        if again or cleared:
            log.warning(
                "broadcast %s: the broker's retained state was not current: %d topics "
                "published again, %d cleared",
                self.name,
                again,
                cleared,
            )

    async def _held(self, client: aiomqtt.Client, topics: list[str]) -> dict[str, bytes] | None:
        """The retained message the broker holds on each topic (absent: none), or
        None if that cannot be told (then every topic is published again)."""
        marker = f"floodwatch/sync/{self.connection.client_id}"
        held: dict[str, bytes] = {}
        try:
            async with asyncio.timeout(self.dest.timeout.total_seconds()):
                await client.subscribe(marker, qos=1)
                await client.subscribe([(t, 1) for t in topics])
                await client.publish(marker, b"sync", qos=1)
                async for message in client.messages:
                    name = message.topic.value
                    if name == marker:
                        break
                    if message.retain and isinstance(message.payload, bytes | bytearray):
                        held[name] = bytes(message.payload)
                await client.unsubscribe([marker, *topics])
        except TimeoutError:  # e.g. the marker topic not allowed by the broker's ACL
            log.warning(
                "broadcast %s: cannot read the retained state back; publishing it all again",
                self.name,
            )
            return None
        return held

    async def _restore(self, village: Village) -> None:
        """After a Cancel: the most severe warning still standing, again."""
        standing = self.ledger.broadcast_active(village.code)
        if not standing:
            return
        decoded = [(body, decode_alert(body)) for _, body in standing]
        body, event = max(decoded, key=lambda item: item[1].severity.rank)
        await self._again(village, event, body)

    async def _refresh(self) -> None:
        """Warnings standing for more than half their expiry: published again."""
        horizon = time.time() - self.dest.expiry.total_seconds() / 2
        for village_code in self.ledger.broadcast_stale(horizon):
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await self._restore(self._village(village_code))

    async def _again(self, village: Village, event: AlertEvent, body: str) -> None:
        previous = self.ledger.broadcast_previous(village.code, event.id)
        message = self._build(event, village, previous, datetime.now(UTC))
        await self._publish(village, message)
        self.ledger.broadcast_sent(
            village.code,
            event.id,
            message.identifier,
            message.sent,
            event.severity.value,
            body,
            active=True,
            reference=previous,
        )

    def _village(self, code: str) -> Village:
        for info in self.compiled.stations.values():
            model = info.model
            if model.village is not None and model.village.code == code:
                return Village(code, model.village.name)
        return Village(code, code)


def channel(wiring: Wiring[BroadcastDestination]) -> Channel:
    assert wiring.mqtt is not None and wiring.compiled is not None  # the service gives both
    return BroadcastChannel(
        wiring.name, wiring.dest, wiring.mqtt, wiring.store.people, wiring.compiled, wiring.health
    )


SINK = Sink(BroadcastDestination, channel)
