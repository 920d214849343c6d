"""Recording destinations (`record: true` on an `sms` or `broadcast` destination).

What a person's phone or a village's loudspeaker would receive, kept in the
process instead of sent: the SMS gateway and the MQTT broker are replaced by a
`Recorder`, nothing else is. The rows still go through the outbox and the
destination's worker (attempts, states, `done_at`), an SMS still waits
`group_wait`, is grouped per person, cut into parts and carries its reply
code; a broadcast is still the CAP message and its JSON twin with the
sentence to speak, Alert → Update → Cancel with references, kept as the
retained truth of its topics (the store's `retained` table, as over MQTT).
`floodwatch demo` routes its SMS and broadcasts here; the command center
shows them (`GET /api/notifications`).

The record lives in memory (a restart forgets it; the outbox and the
retained table, in the store, do not). Recording never fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from floodwatch.notify.broadcast import DEFAULT_TOPIC, BroadcastChannel, BroadcastDestination
from floodwatch.notify.cap import Broadcast, Village
from floodwatch.notify.channel import Channel, Wiring
from floodwatch.notify.outcome import Outcome
from floodwatch.notify.sms import SmsChannel, SmsDestination
from floodwatch.rules.compile import CompiledConfig

log = logging.getLogger(__name__)
PART_NUMBER = re.compile(r"^(【演练】)?\((\d+)/(\d+)\)")  # "(1/3)" (after a drill's mark)


@dataclass(frozen=True)
class SmsPart:
    """One SMS part as the gateway would have received it."""

    destination: str
    phone: str
    text: str
    key: str  # the message's key, or `<key>-<n>` for part n of several
    at: float  # wall clock, seconds


@dataclass(frozen=True)
class BoxMessage:
    """One message to a village's broadcast box: the CAP XML and its JSON twin."""

    destination: str
    village: str  # administrative code
    village_name: str
    cap: str
    twin: dict[str, Any]  # identifier, msgType, severity, responseType, text (to speak) …
    at: float
    expires: float


Listener = Callable[[SmsPart | BoxMessage], None]


@dataclass
class Recorder:
    """Everything the recording destinations of one process received, in order.
    `listeners` are called with each new part or box message (the demo prints
    them)."""

    sms: dict[str, SmsPart] = field(default_factory=dict)  # by part key (a resend: once)
    boxes: list[BoxMessage] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)

    def add(self, item: SmsPart | BoxMessage) -> None:
        if isinstance(item, SmsPart):
            if item.key in self.sms:
                return
            self.sms[item.key] = item
        else:
            self.boxes.append(item)
        for listener in self.listeners:
            listener(item)

    def parts(self, message: str) -> list[SmsPart]:
        """The parts of one message (its key, as the outbox's batch), in order."""
        one = self.sms.get(message)
        if one is not None:
            return [one]
        found = []
        n = 1
        while (part := self.sms.get(f"{message}-{n}")) is not None:
            found.append(part)
            n += 1
        return found

    def current(self, destination: str, village: str) -> BoxMessage | None:
        """The village box's current message (the last one it received)."""
        for box in reversed(self.boxes):
            if box.destination == destination and box.village == village:
                return box
        return None


def whole_text(parts: list[str]) -> str:
    """One message as read: its parts joined without their "(n/m)" numbers."""
    out = []
    for i, part in enumerate(parts):
        match = PART_NUMBER.match(part)
        if match is None:
            out.append(part)
        else:
            out.append(("" if i else match.group(1) or "") + part[match.end() :])
    return "".join(out)


class RecordingGateway:
    """An SMS provider that records each part (`sms.Provider`)."""

    def __init__(self, destination: str, recorder: Recorder) -> None:
        self.destination = destination
        self.recorder = recorder

    async def send(self, phone: str, text: str, key: str) -> Outcome:
        self.recorder.add(SmsPart(self.destination, phone, text, key, time.time()))
        return Outcome(True)


class RecordingBroadcast(BroadcastChannel):
    """The village broadcast with the broker replaced by the recorder: the
    messages built, referenced, restored and refreshed as over MQTT."""

    def __init__(
        self,
        name: str,
        dest: BroadcastDestination,
        ledger: Any,
        compiled: CompiledConfig,
        recorder: Recorder,
    ) -> None:
        # No broker, so no connection: only what the shared methods use.
        self.name = name
        self.dest = dest
        self.ledger = ledger
        self.compiled = compiled
        self.topic = dest.topic or DEFAULT_TOPIC
        self.recorder = recorder

    async def run(self) -> None:
        """Until cancelled: standing warnings published again before they expire."""
        while True:
            await asyncio.sleep(min(60.0, self.dest.expiry.total_seconds() / 4))
            await self._refresh()

    async def _publish(self, village: Village, message: Broadcast) -> None:
        now = time.time()
        expires = now + self.dest.expiry.total_seconds()
        for topic, payload in (
            (self.topic, message.xml.encode()),
            (self.dest.json_topic, json.dumps(message.json, ensure_ascii=False).encode()),
        ):
            self.ledger.retained_sent(topic.format(village_code=village.code), payload, expires)
        box = BoxMessage(
            self.name, village.code, village.name, message.xml, message.json, now, expires
        )
        self.recorder.add(box)


def channel(wiring: Wiring[SmsDestination | BroadcastDestination], recorder: Recorder) -> Channel:
    """The channel of a recorded `sms` or `broadcast` destination (the only
    two that can be recorded: `DestinationBase.problems`)."""
    dest = wiring.dest
    if isinstance(dest, SmsDestination):
        via = wiring.settings.answer.via if wiring.settings.answer else []
        gateway = RecordingGateway(wiring.name, recorder)
        return SmsChannel(
            wiring.name,
            dest,
            wiring.store,
            wiring.client,
            wiring.config_dir,
            via,
            gateway=gateway,
        )
    assert wiring.compiled is not None  # the service always gives it
    return RecordingBroadcast(wiring.name, dest, wiring.store.people, wiring.compiled, recorder)
