"""Kafka source (aiokafka): a consumer group, offsets committed after storage.

Auto-commit is off. The service feeds each message to the engine and stores
the alerts it caused; an offset is committed only once every reading of every
message before it has been released by the engine's watermark (its alerts are
computed and stored), with that watermark in the commit metadata. A rebalance —
including a `CommitFailedError` when the group moved on — never stops the
process: the next owner re-reads from the last committed offset, and recording
alerts is idempotent.

After a restart, partitions this process snapshotted resume from the position
in the snapshot (the engine state already holds everything before it).

Event time across partitions: the engine tolerates disorder only within the
allowed lateness, but a consumer catching up on a backlog fetches partitions
in large uneven chunks. So messages are merged across partitions by event time
before they reach the engine: a message goes on only when every assigned
partition has a later one waiting or has nothing more to read (its position is
at its high-water mark) — per-partition watermark alignment.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata

from floodwatch.config.models import KafkaSettings
from floodwatch.ingest.source import Incoming
from floodwatch.readings import ts_to_ms

if TYPE_CHECKING:
    from floodwatch.service.run import Service

log = logging.getLogger(__name__)


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap,
        "security_protocol": settings.security_protocol,
    }
    if settings.sasl_mechanism:
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.username
        if settings.password_file:
            password = Path(settings.password_file).read_text(encoding="utf-8").strip()
            options["sasl_plain_password"] = password
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        options["ssl_context"] = create_ssl_context(cafile=settings.ca_file)
    return options


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, source: KafkaSource) -> None:
        self.source = source

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.source.commit()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self.source.resume(list(assigned))


class KafkaSource:
    def __init__(self, settings: KafkaSettings, service: Service) -> None:
        self.settings = settings
        self.service = service
        self.consumer: AIOKafkaConsumer | None = None
        self.committed: dict[str, int] = {}

    @property
    def name(self) -> str:
        return f"kafka://{self.settings.bootstrap}/{self.settings.topic}"

    async def check(self, timeout: float = 10.0) -> None:
        probe = AIOKafkaConsumer(
            request_timeout_ms=int(timeout * 1000), **client_options(self.settings)
        )
        try:
            async with asyncio.timeout(timeout):
                await probe.start()
                await probe.topics()
        except (KafkaError, TimeoutError, OSError) as exc:
            raise ConnectionError(
                f"cannot reach Kafka at {self.settings.bootstrap}: {exc}"
            ) from exc
        finally:
            await probe.stop()

    def resume(self, assigned: list[TopicPartition]) -> None:
        """Partitions this process has fed before continue where they were fed to."""
        assert self.consumer is not None
        for tp in assigned:
            position = self.service.kafka_positions.get(f"{tp.topic}/{tp.partition}")
            if position is not None:
                self.consumer.seek(tp, position)
        log.info("kafka partitions assigned: %s", sorted(tp.partition for tp in assigned))

    async def run(self) -> None:
        s = self.settings
        session_ms = int(s.session_timeout.total_seconds() * 1000)
        self.consumer = AIOKafkaConsumer(
            group_id=s.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(100, session_ms // 3),
            max_poll_records=self.service.settings.batch_max,
            **client_options(s),
        )
        self.consumer.subscribe([s.topic], listener=_Listener(self))
        await self.consumer.start()
        log.info("kafka consuming %s as group %s", self.name, s.group)
        waiting: dict[TopicPartition, list[tuple[int, Incoming]]] = {}
        while True:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=2000)
            for tp, messages in batches.items():
                queue = waiting.setdefault(tp, [])
                for m in messages:
                    item = Incoming(
                        m.value or b"",
                        tp.topic,
                        s.format,
                        "kafka",
                        partition=tp.partition,
                        offset=m.offset,
                    )
                    queue.append((self._event_time(item), item))
            for item in self._merge(waiting):
                await self.service.put(item)
            await self.commit()

    def _event_time(self, item: Incoming) -> int:
        """Decode once (the service reuses it) and return the latest event time."""
        item.decoded = self.service.decoders.decode(item.payload, item.fmt, source=item.origin)
        return max((ts_to_ms(r.ts) for r in item.decoded[0]), default=-(2**62))

    def _merge(self, waiting: dict[TopicPartition, list[tuple[int, Incoming]]]) -> list[Incoming]:
        """Messages every partition has caught up to, in event-time order."""
        assert self.consumer is not None
        assigned = self.consumer.assignment()
        for tp in [tp for tp in waiting if tp not in assigned]:
            del waiting[tp]  # revoked: the next owner reads them
        # A partition with more to read bounds how far the others may go: up to
        # the latest event time it has delivered. One with nothing more to read
        # bounds nothing.
        horizon = None
        for tp in assigned:
            if self._caught_up(tp):
                continue
            queue = waiting.get(tp)
            if not queue:
                return []  # it may still hold older readings
            head = max(ts for ts, _ in queue)
            horizon = head if horizon is None else min(horizon, head)
        out: list[tuple[int, int, int, Incoming]] = []
        for tp, queue in waiting.items():
            keep = []
            for ts, item in queue:
                if horizon is None or ts <= horizon:
                    out.append((ts, item.partition, item.offset, item))
                else:
                    keep.append((ts, item))
            waiting[tp] = keep
        out.sort(key=lambda x: (x[0], x[1], x[2]))
        return [item for *_, item in out]

    def _caught_up(self, tp: TopicPartition) -> bool:
        assert self.consumer is not None
        subscription = self.consumer._subscription.subscription
        if subscription is None or subscription.assignment is None:
            return False
        state = subscription.assignment.state_value(tp)
        if state is None or not state.has_valid_position or state.highwater is None:
            return False
        return bool(state.position >= state.highwater)

    async def commit(self) -> None:
        """Commit every offset whose readings the engine has released and stored."""
        if self.consumer is None:
            return
        ready = self.service.kafka_committable()
        offsets = {}
        assigned = self.consumer.assignment()
        watermark = json.dumps({"watermark": self.service.engine_watermark()})
        for key, offset in ready.items():
            topic, _, partition = key.rpartition("/")
            tp = TopicPartition(topic, int(partition))
            if tp in assigned and self.committed.get(key) != offset:
                offsets[tp] = OffsetAndMetadata(offset, watermark)
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except CommitFailedError as exc:
            log.warning("kafka commit refused (group rebalanced): %s; the next owner re-reads", exc)
            return
        except KafkaError as exc:
            log.warning("kafka commit failed: %s; will retry", exc)
            return
        for tp, meta in offsets.items():
            self.committed[f"{tp.topic}/{tp.partition}"] = meta.offset

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.commit()
            await self.consumer.stop()
            self.consumer = None
