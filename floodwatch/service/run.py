"""`floodwatch run`: sources → bounded queue → engine → store → acknowledgements.

One processing task takes the messages waiting in the queue (up to
`batch_max`), decodes them, runs them through the engine, and in one SQLite
transaction logs the MQTT messages to the inbox and records the alert
transitions they caused. Only after that commit are the messages acknowledged
(MQTT) or their offsets committed (Kafka). A crash at any point therefore loses
nothing (unacknowledged messages come again) and repeats nothing (transitions
are recorded idempotently; only new ones are announced).

The engine's state is snapshotted every `snapshot_every` (atomically: temp
file, fsync, rename); the inbox keeps the MQTT messages since. A restart loads
the snapshot and replays the inbox through the engine, step by step as first
processed, so the engine is exactly where it was. A snapshot or database that
cannot be read is reported, moved aside, and the service starts anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from floodwatch.alerts.event import AlertEvent
from floodwatch.config.loader import LoadedConfig
from floodwatch.config.models import ServiceSettings
from floodwatch.ingest.decode import Decoders
from floodwatch.ingest.source import Incoming
from floodwatch.readings import Reading, Rejected, RejectReason, format_ts, ms_to_dt, ts_to_ms
from floodwatch.rules import snapshot
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine, EngineOutput
from floodwatch.service.deadletter import DeadLetter
from floodwatch.service.store import Store

log = logging.getLogger("floodwatch.service")

TICK = "tick"
LINGER = 0.002  # seconds a step waits for more messages after the first
STATS_EVERY = 60.0  # seconds between stats lines (queue depth, counters)


@dataclass
class Stats:
    received: dict[str, int] = field(default_factory=dict)
    readings: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    alerts_new: int = 0
    steps: int = 0
    replayed: int = 0


class Service:
    """The live engine with its store, snapshots and dead-letter."""

    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        store: Path | None = None,
        on_alert: Callable[[AlertEvent], None] | None = None,
    ) -> None:
        self.loaded = loaded
        self.settings: ServiceSettings = loaded.config.service
        self.compiled = compile_config(loaded)
        self.store_path = Path(store or self.settings.store)
        self.snapshot_path = Path(str(self.store_path) + ".snapshot")
        self.decoders = Decoders(self.settings.mappings, self.settings.max_payload)
        self.dead_letter = DeadLetter(Path(self.settings.dead_letter.file))
        self.on_alert = on_alert or _log_alert
        self.queue: asyncio.Queue[Incoming] = asyncio.Queue(self.settings.queue_size)
        self.stats = Stats()
        self.engine = Engine(self.compiled)
        self.store: Store | None = None
        self.inbox_seq = 0  # last inbox row fed to the engine
        self.kafka_positions: dict[str, int] = {}  # "topic/partition" -> next offset fed
        # Per partition, (offset, latest event time in it) of messages fed but whose
        # readings the watermark has not released yet; and what may be committed.
        self._kafka_pending: dict[str, deque[tuple[int, int]]] = {}
        self._kafka_ready: dict[str, int] = {}
        self.last_input = time.monotonic()
        self.clock_at_input: int | None = None
        self.last_snapshot = time.monotonic()
        self.last_stats = time.monotonic()
        self.stopping = asyncio.Event()
        # Called with each step's messages once they are stored (benchmarks, metrics).
        self.on_stored: Callable[[list[Incoming]], None] | None = None

    # -- start-up ----------------------------------------------------------------

    def open(self) -> None:
        """Open the store, restore the engine (snapshot + inbox). Synchronous."""
        self.store = Store(self.store_path)
        if self.store.moved_aside:
            log.error("store was unreadable: moved aside to %s", self.store.moved_aside)
        self._restore()

    def _restore(self) -> None:
        assert self.store is not None
        state = None
        if self.snapshot_path.exists():
            try:
                state = snapshot.loads(self.snapshot_path.read_bytes())
                snapshot.restore(self.engine, state["engine"])
            except (snapshot.SnapshotError, KeyError, OSError) as exc:
                aside = self.snapshot_path.with_name(
                    f"{self.snapshot_path.name}.bad-{int(time.time())}"
                )
                self.snapshot_path.rename(aside)
                log.error("snapshot unusable (%s): moved aside to %s", exc, aside)
                self.engine = Engine(self.compiled)
                state = None
        if state is not None:
            self.inbox_seq = int(state["inbox_seq"])
            self.kafka_positions = dict(state.get("kafka", {}))
            log.info("engine restored from snapshot (clock %s)", self._clock_text())
        replayed = self._replay_inbox()
        self.stats.replayed = replayed
        if replayed:
            log.info("replayed %d inbox messages on top of the snapshot", replayed)

    def _replay_inbox(self) -> int:
        """Feed the engine the inbox rows after the snapshot, step by step."""
        assert self.store is not None
        count = 0
        batch: list[Incoming] = []
        batch_id = None
        for row in self.store.inbox_after(self.inbox_seq):
            if batch_id is not None and row.batch != batch_id:
                self._replay_step(batch)
                batch = []
            batch_id = row.batch
            if row.source == TICK:
                batch.append(Incoming(row.payload, TICK, TICK, TICK))
            else:
                batch.append(Incoming(row.payload, row.topic, row.format, row.source))
            self.inbox_seq = row.seq
            count += 1
        if batch:
            self._replay_step(batch)
        return count

    def _replay_step(self, batch: list[Incoming]) -> None:
        assert self.store is not None
        readings, _ = self._decode(batch)
        out = self._feed(batch, readings)
        with self.store.transaction():
            new = self.store.record(out.alerts)
        for event in new:  # stored before a crash? then not new; else announce now
            self.on_alert(event)

    # -- the processing step -------------------------------------------------------

    def _decode(self, items: list[Incoming]) -> tuple[list[Reading], list[Rejected]]:
        readings: list[Reading] = []
        rejected: list[Rejected] = []
        for item in items:
            item.latest = -(2**62)
            if item.source == TICK:
                continue
            self.stats.received[item.source] = self.stats.received.get(item.source, 0) + 1
            if "_unmatched" in item.fields:
                rejected.append(
                    Rejected(
                        RejectReason.BAD_TOPIC,
                        f"topic {item.topic!r} matches no configured pattern",
                        raw=item.payload[:200].decode("utf-8", "replace"),
                        source=item.origin,
                    )
                )
                continue
            got, bad = item.decoded or self.decoders.decode(
                item.payload, item.fmt, item.fields, item.origin
            )
            if got:
                item.latest = max(ts_to_ms(r.ts) for r in got)
            readings.extend(got)
            rejected.extend(bad)
        return readings, rejected

    def _feed(self, items: list[Incoming], readings: list[Reading]) -> EngineOutput:
        out = self.engine.process(readings)
        for item in items:
            if item.source == TICK:
                out.extend(self.engine.advance(ms_to_dt(int(item.payload))))
        return out

    def step(self, items: list[Incoming]) -> list[AlertEvent]:
        """Process one batch durably; return the transitions not stored before."""
        assert self.store is not None
        readings, rejected = self._decode(items)
        self.stats.readings += len(readings)
        with self.store.transaction():
            logged = [
                (i.source, i.topic, i.fmt, i.payload) for i in items if i.source in ("mqtt", TICK)
            ]
            if logged:
                self.inbox_seq = self.store.log_inbox(logged)
            out = self._feed(items, readings)
            rejected.extend(out.rejected)
            if rejected:
                self.dead_letter.write(rejected)
            new = self.store.record(out.alerts)
        for r in rejected:
            self.stats.rejected[r.reason.value] = self.stats.rejected.get(r.reason.value, 0) + 1
        for item in items:
            if item.confirm is not None:
                item.confirm()
            if item.source == "kafka":
                key = f"{item.topic}/{item.partition}"
                self.kafka_positions[key] = max(self.kafka_positions.get(key, 0), item.offset + 1)
                self._kafka_pending.setdefault(key, deque()).append((item.offset, item.latest))
        released = self.engine_watermark()
        for key, pending in self._kafka_pending.items():
            while pending and pending[0][1] < released:
                self._kafka_ready[key] = pending.popleft()[0] + 1
        self.stats.steps += 1
        self.stats.alerts_new += len(new)
        if self.on_stored is not None:
            self.on_stored(items)
        for event in new:
            self.on_alert(event)
        if readings:
            self.last_input = time.monotonic()
            self.clock_at_input = self._clock_ms()
        return new

    def engine_watermark(self) -> int:
        """Event time below which every reading has been evaluated (and stored)."""
        return int(self.engine._released_before)

    def kafka_committable(self) -> dict[str, int]:
        return dict(self._kafka_ready)

    def _clock_ms(self) -> int | None:
        return self.engine._clock

    def _clock_text(self) -> str:
        clock = self._clock_ms()
        return "not started" if clock is None else format_ts(clock)

    def idle_tick(self) -> list[AlertEvent]:
        """With no input for `idle_advance_after`, move event time with the wall clock."""
        after = self.settings.idle_advance_after
        if after is None or self.clock_at_input is None:
            return []
        idle = time.monotonic() - self.last_input
        if idle < after.total_seconds():
            return []
        target = self.clock_at_input + int(idle * 1000)
        clock = self._clock_ms()
        if clock is not None and target <= clock + 999:
            return []
        return self.step([Incoming(str(target).encode(), TICK, TICK, TICK)])

    # -- snapshots ---------------------------------------------------------------

    def write_snapshot(self) -> None:
        assert self.store is not None
        state = {
            "engine": snapshot.capture(self.engine),
            "inbox_seq": self.inbox_seq,
            "kafka": dict(self.kafka_positions),
            "written_at": time.time(),
        }
        data = snapshot.dumps(state)
        tmp = self.snapshot_path.with_name(self.snapshot_path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.snapshot_path)
        _fsync_dir(self.snapshot_path.parent)
        self.store.prune_inbox(self.inbox_seq)
        self.last_snapshot = time.monotonic()

    def stats_line(self) -> str:
        """One line of counters; logged every `STATS_EVERY` seconds while running."""
        st = self.stats
        return (
            f"stats: queue {self.queue.qsize()}/{self.queue.maxsize}; received {st.received}; "
            f"readings {st.readings}; rejected {st.rejected}; steps {st.steps}; "
            f"new alerts {st.alerts_new}; event clock {self._clock_text()}; "
            f"{len(self.engine.active_alerts())} alerts active"
        )

    def maybe_log_stats(self) -> None:
        if time.monotonic() - self.last_stats >= STATS_EVERY:
            self.last_stats = time.monotonic()
            log.info("%s", self.stats_line())

    def maybe_snapshot(self) -> None:
        if time.monotonic() - self.last_snapshot >= self.settings.snapshot_every.total_seconds():
            self.write_snapshot()

    # -- the loop ----------------------------------------------------------------

    async def put(self, item: Incoming) -> None:
        await self.queue.put(item)

    async def process_forever(self) -> None:
        limit = self.settings.batch_max
        while not self.stopping.is_set():
            try:
                first = await asyncio.wait_for(self.queue.get(), timeout=0.5)
            except TimeoutError:
                self.idle_tick()
                self.maybe_snapshot()
                self.maybe_log_stats()
                continue
            # Let the sources hand over what has arrived meanwhile (a step costs a
            # commit: one message per step would cap the rate at commits/s).
            await asyncio.sleep(LINGER)
            items = [first]
            while len(items) < limit and not self.queue.empty():
                items.append(self.queue.get_nowait())
            self.step(items)
            self.maybe_snapshot()
            self.maybe_log_stats()

    def close(self) -> None:
        if self.store is not None:
            self.write_snapshot()
            self.store.close()
            self.store = None
        self.dead_letter.close()

    def summary(self, sources: list[str]) -> str:
        c = self.compiled
        return (
            f"floodwatch running: sources {', '.join(sources) or 'none'}; "
            f"{len(c.stations)} stations, {len(c.config.rules)} rules, "
            f"{len(c.bindings)} bindings; store {self.store_path}; "
            f"snapshot every {self.settings.snapshot_every.total_seconds():g}s; "
            f"event clock {self._clock_text()}; {len(self.engine.active_alerts())} alerts active"
        )


async def run_service(service: Service) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code."""
    from floodwatch.ingest.mqtt import MqttSource

    settings = service.settings
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.stopping.set)
    sources: list[MqttSource] = []
    if settings.mqtt is not None:
        sources.append(MqttSource(settings.mqtt, service.put))
    kafka = None
    if settings.kafka is not None:
        from floodwatch.ingest.kafka import KafkaSource

        kafka = KafkaSource(settings.kafka, service)
    try:
        for source in sources:
            await source.check()
        if kafka is not None:
            await kafka.check()
    except ConnectionError as exc:
        log.error("%s", exc)
        return 2
    service.open()
    if service.stopping.is_set():  # asked to stop while starting
        service.close()
        return 0
    names = [s.name for s in sources] + ([kafka.name] if kafka else [])
    log.info("%s", service.summary(names))
    tasks: list[asyncio.Task[object]] = [asyncio.create_task(s.run(), name=s.name) for s in sources]
    if kafka is not None:
        tasks.append(asyncio.create_task(kafka.run(), name=kafka.name))
    processor = asyncio.create_task(service.process_forever(), name="engine")
    stop: asyncio.Task[object] = asyncio.create_task(_wait(service.stopping))
    done, _ = await asyncio.wait([processor, stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
    service.stopping.set()
    # Stop intake, let the processor finish the batch in hand, then close.
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(processor, timeout=8)
    if kafka is not None:
        await kafka.stop()
    service.close()
    log.info("%s", service.stats_line())
    log.info("floodwatch stopped")
    for task in done:
        error = None if task is stop else task.exception()
        if error is not None:
            raise error
    return 0


async def _wait(event: asyncio.Event) -> object:
    return await event.wait()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _log_alert(event: AlertEvent) -> None:
    log.warning(
        "alert %s %s %s %s: %s",
        event.severity.value,
        event.transition.value,
        event.rule,
        event.station,
        event.message_en,
    )
