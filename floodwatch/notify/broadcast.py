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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from floodwatch.alerts.state import Severity
from floodwatch.config.models import MqttSettings
from floodwatch.config.notify import Destination
from floodwatch.notify.cap import Broadcast, Previous, Village, build
from floodwatch.notify.outcome import Outcome, Sent
from floodwatch.rules.compile import CompiledConfig
from floodwatch.store import Delivery
from floodwatch.store.ledger import Ledger

log = logging.getLogger(__name__)

DEFAULT_TOPIC = "floodwatch/broadcast/{village_code}"


class BroadcastChannel:
    def __init__(
        self,
        name: str,
        dest: Destination,
        mqtt: MqttSettings,
        ledger: Ledger,
        compiled: CompiledConfig,
    ) -> None:
        self.name = name
        self.dest = dest
        self.mqtt = mqtt.model_copy(update={"protocol": "5"})  # message expiry needs MQTT 5
        self.ledger = ledger
        self.compiled = compiled
        self.topic = dest.topic or DEFAULT_TOPIC
        self.client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Keep a connection to the broker (reconnecting every 2 s), and publish
        standing warnings again before they expire."""
        from floodwatch.ingest.mqtt import client_for

        while True:
            client = client_for(self.mqtt, client_id=f"{self.mqtt.client_id}-{self.name}")
            try:
                async with client:
                    self.client = client
                    self.connected.set()
                    while True:
                        await asyncio.sleep(min(60.0, self.dest.expiry.total_seconds() / 4))
                        await self._refresh()
            except aiomqtt.MqttError as exc:
                log.warning("broadcast %s: broker unavailable (%s); retrying", self.name, exc)
            finally:
                self.connected.clear()
                self.client = None
            await asyncio.sleep(2)

    async def deliver(self, due: list[Delivery]) -> list[Sent]:
        out = []
        for row in due:
            try:
                await self._publish_row(row)
            except (aiomqtt.MqttError, TimeoutError) as exc:
                out.append(Sent([row], Outcome(False, retry=True, error=f"mqtt: {exc}")))
                continue
            out.append(Sent([row], Outcome(True)))
        return out

    async def _publish_row(self, row: Delivery) -> None:
        event = json.loads(row.event)
        village = self._village(row.recipient)
        previous = self.ledger.broadcast_previous(village.code, event["id"])
        made = datetime.fromtimestamp(row.created, UTC)  # CAP `sent`: when the row was made
        message = self._build(event, village, previous, made)
        if previous is not None and previous[0] == message.identifier:
            # sent already before a crash: the same message again, same references
            stored = self.ledger.broadcast_reference(village.code, event["id"])
            message = self._build(event, village, stored, made)
        await self._publish(village, message)
        resolved = event["transition"] == "resolved"
        self.ledger.broadcast_sent(
            village.code,
            event["id"],
            message.identifier,
            message.sent,
            event["severity"],
            row.event,
            active=not resolved,
            reference=previous,
        )
        if resolved:
            await self._restore(village)

    def _build(
        self,
        event: dict[str, Any],
        village: Village,
        previous: tuple[str, str] | None,
        sent_at: datetime,
    ) -> Broadcast:
        station = self.compiled.stations.get(event["station"])
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
        await asyncio.wait_for(self.connected.wait(), timeout=self.dest.timeout.total_seconds())
        client = self.client
        if client is None:
            raise TimeoutError("not connected")
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.MessageExpiryInterval = int(self.dest.expiry.total_seconds())
        timeout = self.dest.timeout.total_seconds()
        for topic, payload in (
            (self.topic, message.xml.encode()),
            (self.dest.json_topic, json.dumps(message.json, ensure_ascii=False).encode()),
        ):
            await client.publish(
                topic.format(village_code=village.code),
                payload,
                qos=1,
                retain=True,
                properties=properties,
                timeout=timeout,
            )

    async def _restore(self, village: Village) -> None:
        """After a Cancel: the most severe warning still standing, again."""
        standing = self.ledger.broadcast_active(village.code)
        if not standing:
            return
        alert, body = max(standing, key=lambda item: Severity(json.loads(item[1])["severity"]).rank)
        await self._again(village, alert, body)

    async def _refresh(self) -> None:
        """Warnings standing for more than half their expiry: published again."""
        horizon = time.time() - self.dest.expiry.total_seconds() / 2
        for village_code in self.ledger.broadcast_stale(horizon):
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await self._restore(self._village(village_code))

    async def _again(self, village: Village, alert: str, body: str) -> None:
        event = json.loads(body)
        previous = self.ledger.broadcast_previous(village.code, alert)
        message = self._build(event, village, previous, datetime.now(UTC))
        await self._publish(village, message)
        self.ledger.broadcast_sent(
            village.code,
            alert,
            message.identifier,
            message.sent,
            event["severity"],
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
