"""MQTT source (aiomqtt): QoS 1, a persistent session, acknowledgement after storage.

The client id is fixed and the session persistent (MQTT 3.1.1 clean session off,
or MQTT 5 clean start off with a session expiry), so the broker keeps readings
published while floodwatch is down. aiomqtt acknowledges on receipt by default;
here paho's manual acknowledgement is switched on before connecting, and each
message is acknowledged by the service only after the alerts it caused are
stored. Until then the broker's in-flight window (`max_inflight_messages`)
holds the rest back: that is the backpressure. After a reconnect the broker
resends what was not acknowledged; acknowledgements from an old connection are
dropped (their packet ids mean nothing on the new one).

`subscribed` is set once the broker has acknowledged (SUBACK) every
subscription of the current connection with a granted QoS, and cleared when
the connection is lost. On a first-ever start the broker keeps nothing for
the session before that moment, so the service reports itself running and
ready only after it (`service/lifecycle.py`, `/readyz`). A subscription the
broker refuses (an ACL) is logged as an error and leaves the source not ready.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiomqtt
from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from floodwatch.config.models import MqttSettings
from floodwatch.config.topics import TopicPattern, compile_topic, route
from floodwatch.ingest.source import Backoff, Incoming

log = logging.getLogger(__name__)


def client_for(settings: MqttSettings, *, client_id: str | None = None) -> aiomqtt.Client:
    """An aiomqtt client configured from the settings (session, auth, TLS)."""
    password = None
    if settings.password_file:
        password = Path(settings.password_file).read_text(encoding="utf-8").strip()
    tls = None
    if settings.tls is not None:
        tls = aiomqtt.TLSParameters(
            ca_certs=settings.tls.ca_file,
            certfile=settings.tls.cert_file,
            keyfile=settings.tls.key_file,
        )
    v5 = settings.protocol == "5"
    properties = None
    if v5:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = int(settings.session_expiry.total_seconds())
    return aiomqtt.Client(
        settings.host,
        settings.port,
        identifier=client_id or settings.client_id,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        clean_session=None if v5 else False,
        clean_start=False if v5 else MQTT_CLEAN_START_FIRST_ONLY,
        properties=properties,
        keepalive=int(settings.keepalive.total_seconds()),
        username=settings.username,
        password=password,
        tls_params=tls,
        tls_insecure=settings.tls.insecure if settings.tls else None,
        timeout=10,
    )


class MqttSource:
    def __init__(
        self,
        settings: MqttSettings,
        put: Callable[[Incoming], Awaitable[None]],
    ) -> None:
        self.settings = settings
        self.put = put
        self.patterns: list[tuple[TopicPattern, str, int]] = [
            (compile_topic(t.pattern), t.format, t.qos) for t in settings.topics
        ]
        self.formats = [(pattern, fmt) for pattern, fmt, _ in self.patterns]
        self.connected = asyncio.Event()  # connected, every subscription granted
        self.connections = 0
        self.attempts = 0

    @property
    def name(self) -> str:
        return f"mqtt://{self.settings.host}:{self.settings.port}"

    def _filter(self, pattern: TopicPattern) -> str:
        group = self.settings.shared_group
        return f"$share/{group}/{pattern.filter}" if group else pattern.filter

    async def check(self, timeout: float = 10.0) -> None:
        """Connect once (to name an unreachable broker at start); raises ConnectionError."""
        probe = client_for(self.settings, client_id=f"{self.settings.client_id}-check")
        try:
            async with asyncio.timeout(timeout), probe:
                pass
        except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
            raise ConnectionError(f"cannot reach the MQTT broker at {self.name}: {exc}") from exc

    async def run(self) -> None:
        """Receive until cancelled; reconnect with capped, jittered backoff."""
        s = self.settings
        backoff = Backoff(s.reconnect_initial.total_seconds(), s.reconnect_max.total_seconds())
        while True:
            client = client_for(s)
            client._client.manual_ack_set(True)
            try:
                self.attempts += 1
                async with client:
                    self.connections += 1
                    generation = self.connections
                    refused = []
                    for pattern, _, qos in self.patterns:
                        codes = await client.subscribe(self._filter(pattern), qos=qos)
                        refused += [f"{self._filter(pattern)} ({c})" for c in _failures(codes)]
                    backoff.reset()
                    if refused:
                        log.error(
                            "mqtt broker %s refused the subscription to %s: readings there "
                            "are not received (check the broker's ACL for %s); not ready",
                            self.name,
                            ", ".join(refused),
                            s.username or s.client_id,
                        )
                    else:
                        log.info(
                            "mqtt connected to %s (session %s), subscribed to %s",
                            self.name,
                            s.client_id,
                            ", ".join(self._filter(p) for p, _, _ in self.patterns),
                        )
                        self.connected.set()
                    async for message in client.messages:
                        await self._received(client, generation, message)
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                delay = backoff.next_delay()
                log.warning(
                    "mqtt %s unavailable (%s); attempt %d, retrying in %.1fs",
                    self.name,
                    exc,
                    backoff.attempt,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _received(
        self, client: aiomqtt.Client, generation: int, message: aiomqtt.Message
    ) -> None:
        topic = message.topic.value
        payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
        mid, qos = message.mid, message.qos

        def confirm() -> None:
            if qos > 0 and generation == self.connections and client._client.is_connected():
                client._client.ack(mid, qos)

        fmt, fields = route(self.formats, topic)
        await self.put(Incoming(bytes(payload), topic, fmt, "mqtt", fields, confirm))


def _failures(codes: tuple[int, ...] | list[ReasonCode]) -> list[str]:
    """The refusals among a SUBACK's codes (a granted QoS, or a code ≥ 0x80)."""
    return [str(c) for c in codes if (c >= 0x80 if isinstance(c, int) else c.is_failure)]
