"""Kafka source (aiokafka): a consumer group, one engine shard per partition.

Auto-commit is off. The service feeds each message to its partition's shard
and stores the alerts it caused; right after that SQLite commit, before the
next step, the offset after it is committed. Between the two commits (a few
milliseconds) a kill -9 leaves stored but uncommitted messages: the same
process finds their transitions in its ledger when it comes back, but another
instance taking the partition over cannot see that ledger and announces them
again — deliveries carry idempotency keys for that case.
A rebalance — including a `CommitFailedError` when the group moved on — never
stops the process.

A partition is an independent, ordered stream of the readings of its stations
(linked stations share a key, see `floodwatch.ingest.partition`), so each
assigned partition gets its own engine shard with its own event-time clock,
watching only that partition's stations: a station owned by another instance
is never taken for a silent gauge here.

When a partition is assigned:
- If this process made the partition's last commit (recorded in its store)
  and still has the shard's state (live, or from its snapshot), it carries on
  from the shard's position; messages fed again after a crash produce
  transitions the ledger already holds, and they are not announced again.
- If nobody ever committed it, a fresh shard reads it from the beginning.
- Otherwise another instance processed it since: a fresh shard rebuilds its
  state by re-reading the input from (event time of the last committed
  message − the engine's history horizon) up to the committed offset, with a
  separate group-less reader, emitting nothing: the alerts of those messages
  were stored and announced by the instance that committed them. The engine
  is deterministic and batching does not change its output, so the rebuilt
  shard is where the previous owner's was, and it goes on from the committed
  offset — before it emits anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata

from floodwatch.config.models import KafkaSettings
from floodwatch.ingest.decode import Decoders
from floodwatch.ingest.source import Incoming
from floodwatch.readings import ts_to_ms
from floodwatch.rules.engine import Engine

log = logging.getLogger(__name__)


class PartitionShard(Protocol):
    """One partition's engine and where its input stands, as this source sees it."""

    name: str  # "topic/partition"
    engine: Engine
    stations: frozenset[str] | None
    next_offset: int  # the next offset to feed
    quiet_until: int  # offsets below were fed before (their rejects dead-lettered already)


S = TypeVar("S", bound=PartitionShard)


class Shards(Protocol[S]):
    """What the Kafka source is given of the service: the shards of its partitions.

    Called from the rebalance listener (between two processing steps, on the
    event loop) and after each step (`commit`); nothing here blocks."""

    def stations_of(self, partitions: int, partition: int) -> frozenset[str]:
        """The stations keyed to `partition` of a topic with `partitions`, under
        the config in force."""

    def fed(self, name: str) -> S | None:
        """The shard being fed for a partition, if any."""

    def parked_shard(self, name: str) -> S | None:
        """The state kept of a partition not fed now (revoked, or from the snapshot)."""

    def new_shard(self, name: str, stations: frozenset[str], partitions: int) -> S:
        """A fresh shard watching `stations`; not fed until `take_shard`."""

    def take_shard(self, shard: S) -> None:
        """Start feeding `shard`: the messages of its partition go to it from now."""

    def park_shard(self, name: str) -> S | None:
        """Stop feeding a partition's shard (revoked), keeping its state aside."""

    def committable(self) -> dict[str, int]:
        """Partition -> the offset up to which every message's alerts are stored."""

    def last_commit(self, name: str) -> int | None:
        """The offset this process last committed for a partition (None: never)."""

    def record_commits(self, offsets: dict[str, int]) -> None:
        """Remember (durably) the offsets this process committed."""


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


async def check_kafka(settings: KafkaSettings, timeout: float = 10.0) -> None:
    """Connect once (to name an unreachable broker at start); raises ConnectionError."""
    probe = AIOKafkaConsumer(request_timeout_ms=int(timeout * 1000), **client_options(settings))
    try:
        async with asyncio.timeout(timeout):
            await probe.start()
            await probe.topics()
    except (KafkaError, TimeoutError, OSError) as exc:
        raise ConnectionError(f"cannot reach Kafka at {settings.bootstrap}: {exc}") from exc
    finally:
        await probe.stop()


def shard_name(tp: TopicPartition) -> str:
    return f"{tp.topic}/{tp.partition}"


class _Listener(ConsumerRebalanceListener, Generic[S]):  # type: ignore[misc]
    def __init__(self, source: KafkaSource[S]) -> None:
        self.source = source

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # Stop feeding first, then commit where each shard stopped: nothing fed
        # after the commit, so the next owner starts exactly where this one ended.
        final = {}
        for tp in revoked:
            shard = self.source.shards.park_shard(shard_name(tp))
            if shard is not None and shard.next_offset:
                final[shard_name(tp)] = shard.next_offset
        await self.source.commit(final)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.source.assign(sorted(assigned))


class KafkaSource(Generic[S]):
    """Feeds `put` one item per partition and fetch; the shards are the
    service's, given as `shards` (see `Shards`). `commit` is to be awaited
    right after each stored step."""

    def __init__(
        self,
        settings: KafkaSettings,
        shards: Shards[S],
        decoders: Decoders,
        put: Callable[[Incoming], Awaitable[None]],
        max_poll_records: int,
    ) -> None:
        self.settings = settings
        self.shards = shards
        self.decoders = decoders
        self.put = put
        self.max_poll_records = max_poll_records
        self.consumer: AIOKafkaConsumer | None = None
        self.committed: dict[str, int] = {}
        self.assigning = False  # a rebalance listener is preparing shards
        self.consuming = False  # in the group, fetching
        self.joined = False  # the group assigned this member its partitions once (readiness)

    @property
    def name(self) -> str:
        return f"kafka://{self.settings.bootstrap}/{self.settings.topic}"

    async def check(self, timeout: float = 10.0) -> None:
        await check_kafka(self.settings, timeout)

    # -- assignment --------------------------------------------------------------

    async def assign(self, assigned: list[TopicPartition]) -> None:
        """Give each assigned partition its shard, resumed or rebuilt (see module doc)."""
        assert self.consumer is not None
        shards = self.shards
        # The consumer keeps fetching while this (awaiting) listener runs: what it
        # returns meanwhile is dropped (see run), and every partition is sought
        # again at the end, so it is fetched again from where its shard stands.
        self.assigning = True
        for tp in assigned:
            name = shard_name(tp)
            if shards.fed(name) is not None:
                continue  # kept through the rebalance
            partitions = len(self.consumer.partitions_for_topic(tp.topic) or {tp.partition})
            stations = shards.stations_of(partitions, tp.partition)
            committed = await self.consumer.committed(tp)
            parked = shards.parked_shard(name)
            if (
                parked is not None
                and parked.stations == stations
                and committed == shards.last_commit(name)
            ):
                parked.quiet_until = committed or 0
                shards.take_shard(parked)
                how = f"resumed at offset {parked.next_offset}"
            elif committed is None:
                shard = shards.new_shard(name, stations, partitions)
                shard.next_offset = (await self.consumer.beginning_offsets([tp]))[tp]
                shards.take_shard(shard)
                how = "new: reading from the beginning"
            else:
                shard = shards.new_shard(name, stations, partitions)
                how = await self._rebuild(tp, shard, committed)
                shards.take_shard(shard)
            log.info("kafka partition %s assigned (%d stations): %s", name, len(stations), how)
        for tp in assigned:
            fed = shards.fed(shard_name(tp))
            assert fed is not None
            self.consumer.seek(tp, fed.next_offset)
        self.assigning = False
        self.joined = True
        log.info("kafka partitions assigned: %s", [tp.partition for tp in assigned])

    async def _rebuild(self, tp: TopicPartition, shard: S, committed: int) -> str:
        """Feed the shard the input before `committed` that its state depends on."""
        started = time.monotonic()
        reader = AIOKafkaConsumer(enable_auto_commit=False, **client_options(self.settings))
        await reader.start()
        fed = 0
        try:
            reader.assign([tp])
            first = (await reader.beginning_offsets([tp]))[tp]
            start = first
            reader.seek(tp, max(first, committed - 1))
            last = await self._read(reader, tp, committed, limit=1)
            if last:
                begin = max(ts_to_ms(r.ts) for r in last) - shard.engine.history_ms()
                found = (await reader.offsets_for_times({tp: max(0, begin)}))[tp]
                start = first if found is None else max(first, min(found.offset, committed - 1))
            reader.seek(tp, start)
            # Under the wall clock, as live: what was beyond it is refused again.
            shard.engine.bound(round(time.time() * 1000))
            while True:
                readings = await self._read(reader, tp, committed)
                if readings is None:
                    break
                fed += len(readings)
                shard.engine.process(readings)  # the previous owner announced these
        finally:
            await reader.stop()
        shard.next_offset = shard.quiet_until = committed
        return (
            f"rebuilt from offsets {start}–{committed - 1} ({fed} readings, "
            f"{time.monotonic() - started:.1f} s); alerts before offset {committed} "
            "were the previous owner's"
        )

    async def _read(
        self, reader: AIOKafkaConsumer, tp: TopicPartition, end: int, limit: int | None = None
    ) -> list[Any] | None:
        """The next readings before offset `end` (None once `end` is reached)."""
        if await reader.position(tp) >= end:
            return None
        batch = await reader.getmany(tp, timeout_ms=5000, max_records=limit)
        payloads = [m.value or b"" for m in batch.get(tp, []) if m.offset < end]
        return self.decoders.decode_each(payloads, self.settings.format)[0]

    # -- consuming ---------------------------------------------------------------

    async def run(self) -> None:
        s = self.settings
        session_ms = int(s.session_timeout.total_seconds() * 1000)
        self.consumer = AIOKafkaConsumer(
            group_id=s.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(100, session_ms // 3),
            max_poll_records=self.max_poll_records,
            **client_options(s),
        )
        self.consumer.subscribe([s.topic], listener=_Listener(self))
        await self.consumer.start()
        log.info("kafka consuming %s as group %s", self.name, s.group)
        self.consuming = True
        while True:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=2000)
            if self.assigning:
                continue  # fetched before the shards were ready: fetched again after
            for tp, messages in batches.items():
                if messages:  # one item per partition and fetch: decoded in one go
                    item = Incoming(
                        b"",
                        tp.topic,
                        s.format,
                        "kafka",
                        partition=tp.partition,
                        offset=messages[0].offset,
                        batch=[(m.offset, m.value or b"") for m in messages],
                    )
                    await self.put(item)

    async def commit(self, final: dict[str, int] | None = None) -> None:
        """Commit, per assigned partition, the offset up to which alerts are stored
        (and the `final` offsets of partitions being revoked)."""
        if self.consumer is None:
            return
        assigned = self.consumer.assignment()
        offsets = {}
        for name, offset in {**self.shards.committable(), **(final or {})}.items():
            topic, _, partition = name.rpartition("/")
            tp = TopicPartition(topic, int(partition))
            if tp in assigned and self.committed.get(name) != offset:
                offsets[tp] = OffsetAndMetadata(offset, "")
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
        done = {shard_name(tp): meta.offset for tp, meta in offsets.items()}
        self.committed.update(done)
        self.shards.record_commits(done)

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.commit()
            await self.consumer.stop()
            self.consumer = None
