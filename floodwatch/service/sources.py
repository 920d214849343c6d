"""The intake of `floodwatch run`: the MQTT, Kafka and SL 651 sources that
`service.mqtt`, `service.kafka` and `service.sl651` configure, and the bridge
that sends MQTT and SL 651 readings through Kafka when Kafka is configured too
(every reading takes one path). `Sources` is built, checked, started and
stopped by `run_service` (`service/lifecycle.py`), which owns the order of the
whole process; this module decides only what is built and how it is joined."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from floodwatch.ingest.bridge import Bridge
    from floodwatch.ingest.kafka import KafkaSource
    from floodwatch.ingest.mqtt import MqttSource
    from floodwatch.ingest.sl651.remembered import Remembered
    from floodwatch.ingest.sl651.server import Receiver
    from floodwatch.service.run import Service
    from floodwatch.service.shards import Shard

log = logging.getLogger("floodwatch.service")


@dataclass
class Sources:
    """The configured sources of one `floodwatch run`, each None when not
    configured. `bridge` is set only when Kafka and MQTT or SL 651 are both
    configured; `remembered` only when SL 651 readings go through the bridge."""

    kafka: KafkaSource[Shard] | None = None
    mqtt: MqttSource | None = None
    bridge: Bridge | None = None
    sl651: Receiver | None = None
    remembered: Remembered | None = None

    @classmethod
    def build(cls, service: Service) -> Sources | None:
        """Called once, after the signal handlers are installed and before
        anything connects or the store is opened. Builds the configured sources
        without touching the network; sets `service.after_step` to the Kafka
        commit, hands `service.sl651` the receiver and adds the readiness checks
        in the order mqtt, sl651, kafka. None (logged) when the stations cannot
        be given their SL 651 addresses: the process exits 2."""
        sources = cls()
        settings = service.settings
        if settings.kafka is not None:
            from floodwatch.ingest.kafka import KafkaSource

            sources.kafka = KafkaSource(
                settings.kafka, service.shards, service.decoders, service.put, settings.batch_max
            )
            service.after_step = sources.kafka.commit  # right after each step is stored
        if settings.mqtt is not None:
            sources._add_mqtt(service)
        if settings.sl651 is not None and not sources._add_sl651(service):
            return None
        if (kafka := sources.kafka) is not None:
            service.readiness.append(("kafka", lambda: kafka.joined))  # partitions assigned
        return sources

    def _add_mqtt(self, service: Service) -> None:
        """The MQTT source, into the bridge when Kafka is configured, else into
        the service's queue; ready once its subscriptions are granted."""
        from floodwatch.ingest.mqtt import MqttSource

        assert service.settings.mqtt is not None
        put = service.put
        if service.settings.kafka is not None:  # every reading takes one path: through Kafka
            self.bridge = _bridge(service)
            put = self.bridge.put
        self.mqtt = MqttSource(service.settings.mqtt, put)
        service.readiness.append(("mqtt", self.mqtt.connected.is_set))  # subscriptions granted

    def _add_sl651(self, service: Service) -> bool:
        """The SL 651 receiver: into the bridge when Kafka is configured (its
        memory then written by `remembered` once Kafka has the readings), else
        into the service's queue. False (logged) when the station directory is
        refused."""
        from floodwatch.ingest.sl651.mapping import Directory
        from floodwatch.ingest.sl651.remembered import Remembered
        from floodwatch.ingest.sl651.server import Receiver

        settings = service.settings.sl651
        assert settings is not None
        if self.bridge is None and service.settings.kafka is not None:
            self.bridge = _bridge(service)
        try:
            directory = Directory(service.compiled.config.stations)
        except ValueError as exc:
            log.error("service.sl651: %s", exc)
            return False
        pictures = settings.pictures or service.store_path.parent / "sl651-pictures"
        if self.bridge is not None:  # into Kafka: remembered once Kafka has the readings
            self.remembered = Remembered(
                functools.partial(_remember_sl651, service), self.bridge.put, service.stopping
            )
        self.sl651 = Receiver(
            settings,
            directory,
            self.remembered.put if self.remembered is not None else service.put,
            service.reject,
            pictures=Path(pictures),
        )
        service.sl651 = self.sl651
        service.readiness.append(("sl651", self.sl651.listening.is_set))
        return True

    async def check(self) -> bool:
        """Called once, after `build` and before the store is opened: the MQTT
        broker, then Kafka, must answer. False (logged) when one cannot be
        reached: the process exits 2 having opened nothing."""
        try:
            if self.mqtt is not None:
                await self.mqtt.check()
            if self.kafka is not None:
                await self.kafka.check()
        except ConnectionError as exc:
            log.error("%s", exc)
            return False
        return True

    def take_up_memory(self, service: Service) -> None:
        """Called right after `service.open()`, before any source runs: the SL
        651 receiver's stored reports and rain counters, written in the step's
        transaction or (into Kafka) by `remembered`, taken up from the store."""
        if self.sl651 is not None and service.store is not None:
            self.sl651.memory = service.store.sl651
            self.sl651.restore()

    async def start(self) -> list[asyncio.Task[object]]:
        """Called once the store is open and no stop was asked while starting:
        the bridge's producer started first (nothing is read before it can
        forward), then one task per source — MQTT, SL 651, Kafka — and the SL
        651 memory writer. The tasks are the caller's to cancel."""
        if self.bridge is not None:
            await self.bridge.start()
        tasks: list[asyncio.Task[object]] = [
            asyncio.create_task(s.run(), name=s.name)
            for s in (self.mqtt, self.sl651, self.kafka)
            if s is not None
        ]
        if self.remembered is not None:
            tasks.append(asyncio.create_task(self.remembered.run(), name="sl651-memory"))
        return tasks

    def names(self) -> list[str]:
        """The sources for the "floodwatch running" line, the first marked as
        bridged into the Kafka topic when there is a bridge."""
        names = [s.name for s in (self.mqtt, self.sl651, self.kafka) if s is not None]
        if self.bridge is not None:
            names[0] += f" (bridged into {self.bridge.settings.topic})"
        return names

    async def stop_intake(self) -> None:
        """Called once the source tasks are cancelled and before the engine
        finishes the batch in hand: the bridge waits (up to 5 s) for Kafka to
        acknowledge the readings it sent and stops its producer, then the SL 651
        reports Kafka acknowledged meanwhile are remembered and confirmed."""
        if self.bridge is not None:
            await self.bridge.stop()
        if self.remembered is not None:
            self.remembered.flush()

    async def stop_kafka(self) -> None:
        """Called after the engine has finished its batch (or was given up
        on) and before the store is closed: the offsets of the stored steps
        committed once more, then the Kafka consumer stopped."""
        if self.kafka is not None:
            await self.kafka.stop()

    @property
    def exit_code(self) -> int:
        """1 when the bridge lost readings to a Kafka failure, else 0."""
        return 1 if self.bridge is not None and self.bridge.failure is not None else 0


def _remember_sl651(service: Service, hooks: Iterable[Callable[[], None]]) -> None:
    """SL 651 reports Kafka acknowledged, remembered in the store (`Remembered`)."""
    if service.store is None:
        raise OSError("the store is not open")
    service.store.sl651.write(hooks)


def _bridge(service: Service) -> Bridge:
    """The MQTT/SL 651 → Kafka bridge: every reading takes one path, through Kafka."""
    from floodwatch.ingest.bridge import Bridge
    from floodwatch.ingest.partition import station_keys

    assert service.settings.kafka is not None
    return Bridge(
        service.settings.kafka,
        station_keys(service.compiled),
        service.decoders,
        service.dead_letter,
        service.stopping,
    )
