"""The live service: sources → bounded queue → engine → store → acknowledgements.

One processing task takes the messages waiting in the queue (up to
`batch_max`), decodes them, runs them through the engine, and in one SQLite
transaction logs the MQTT messages to the inbox and records the alert
transitions they caused. Only after that commit are the messages acknowledged
(MQTT) or their offsets committed (Kafka). A crash at any point therefore loses
nothing (unacknowledged messages come again) and repeats nothing (transitions
are recorded idempotently; only new ones are announced).

The engine state lives in shards. Over MQTT alone there is one, `local`,
watching every station. With Kafka there is one per assigned partition,
watching that partition's stations with its own event-time clock (a partition
is an independent, ordered stream); MQTT readings are then bridged into the
Kafka topic, so every reading takes one path. Shards come and go with the
partitions (see `floodwatch.ingest.kafka`).

The shards' state is snapshotted every `snapshot_every` (captured between two
steps, written in a thread: temp file, fsync, rename); the inbox keeps the
MQTT messages since, each with its topic fields and the definition of the
decoder it was decoded with (`service/inbox.py`). A restart loads the snapshot and replays the inbox
through the engine, step by step as first processed and each message decoded
as it was live, so the engine is exactly where it was; a replayed message
that now decodes differently is logged and its rejects dead-lettered. Kafka
shards resume from the offset in the snapshot. A snapshot or database that cannot be read is
reported, moved aside, and the service starts anyway.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.operations import OperationsAlerts
from floodwatch.config import load_config_dir
from floodwatch.config.errors import ConfigError, ConfigIssue
from floodwatch.config.loader import LoadedConfig
from floodwatch.config.models import ServiceSettings
from floodwatch.config.topics import TopicPattern, compile_topic
from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.ingest.decode import Decoders
from floodwatch.ingest.source import Incoming
from floodwatch.notify.deadletter import Publisher
from floodwatch.notify.dispatch import Dispatcher
from floodwatch.notify.routing import Router
from floodwatch.readings import Reading, Rejected, RejectReason, format_ts, ms_to_dt
from floodwatch.rules import snapshot
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.rules.engine import Engine, EngineOutput, Figures
from floodwatch.rules.incidents.tracker import IncidentTracker
from floodwatch.rules.reload import carry_over, changes
from floodwatch.service import inbox, operations, private
from floodwatch.service.incidents import record_step
from floodwatch.service.incidents import restore as restore_incidents
from floodwatch.store import Store

if TYPE_CHECKING:
    from floodwatch.ingest.sl651.server import Receiver
    from floodwatch.notify.deliver import Deliverer

log = logging.getLogger("floodwatch.service")

TICK = inbox.TICK
WALL = inbox.WALL
LOCAL = "local"  # the shard of an MQTT-only service
LOGGED = ("mqtt", "sl651", TICK)  # sources whose messages the inbox keeps (not Kafka's)
_STATION = attrgetter("station")
LINGER = 0.002  # seconds a step waits for more messages after the first …
LINGER_MAX = 0.010  # … and again while more keep coming, up to this in all
STATS_EVERY = 60.0  # seconds between stats lines (queue depth, counters)


@dataclass
class Stats:
    received: dict[str, int] = field(default_factory=dict)
    readings: int = 0
    readings_by_source: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    alerts_new: int = 0
    steps: int = 0
    replayed: int = 0
    reloads: int = 0
    reload_failures: int = 0


@dataclass
class Shard:
    """An engine and where its input stands."""

    name: str  # LOCAL, or the Kafka "topic/partition"
    engine: Engine
    stations: frozenset[str] | None = None  # None: every configured station
    partitions: int = 0  # Kafka: how many partitions the topic had (stations depend on it)
    next_offset: int = 0  # Kafka: the next offset to feed
    quiet_until: int = 0  # Kafka: offsets below were fed before (dead-lettered already)
    clock_at_input: int | None = None  # event clock when input last arrived


class Service:
    """The live engine shards with their store, snapshots and dead-letter."""

    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        store: Path | None = None,
        on_alert: Callable[[AlertEvent], None] | None = None,
        config_dir: Path | None = None,
    ) -> None:
        self.loaded = loaded
        self.config_dir = config_dir  # reloaded from here (hot reload)
        self.operations = OperationsAlerts()  # open `info` alerts about floodwatch itself
        self.settings: ServiceSettings = loaded.config.service
        self.compiled = compile_config(loaded)
        self.store_path = Path(store or self.settings.store)
        self.snapshot_path = Path(str(self.store_path) + ".snapshot")
        self.decoders = Decoders(
            self.settings.mappings,
            self.settings.max_payload,
            self.settings.mqtt.gateways if self.settings.mqtt else None,
        )
        self.dead_letter = DeadLetter(Path(self.settings.dead_letter.file))
        self.dead_letter_topics = Publisher(
            self.dead_letter, self.settings.dead_letter, self.settings.mqtt, self.settings.kafka
        )
        self.on_alert = on_alert or _log_alert
        self.queue: asyncio.Queue[Incoming] = asyncio.Queue(self.settings.queue_size)
        self.stats = Stats()
        self.shards: dict[str, Shard] = {}
        if self.settings.kafka is None:
            self.shards[LOCAL] = Shard(LOCAL, Engine(self.compiled))
        # Kafka shards not assigned now (from the snapshot, or revoked): a shard is
        # taken up again only if nobody committed its partition since (see kafka.py).
        self.parked: dict[str, Shard] = {}
        self._committable: dict[str, int] = {}  # Kafka shard -> offset that may be committed
        self.store: Store | None = None
        self.inbox_seq = 0  # last inbox row fed to the engine
        # Replayed inbox rows: the decoders they were decoded with live, by id.
        self.replay_decoders: dict[str, Decoders] = {}
        self.last_input = time.monotonic()
        self.last_snapshot = time.monotonic()
        # A snapshot being written in the background: (inbox row it covers, the write).
        self._writing: tuple[int, Future[None]] | None = None
        self._snapshot_thread = ThreadPoolExecutor(1, thread_name_prefix="snapshot")
        self.last_stats = time.monotonic()
        self.stopping = asyncio.Event()
        self.dispatcher: Dispatcher | None = None  # with the store (open)
        # The open incidents (pure; taken up from the store on open and reload).
        self.incidents = self._tracker(self.compiled)
        self.deliverer: Deliverer | None = None  # started by run_service
        # Called with every new transition once stored (the command center's stream).
        self.alert_listeners: list[Callable[[AlertEvent], None]] = []
        # Called with the notice of every incident change once stored (the stream).
        self.incident_listeners: list[Callable[[AlertEvent], None]] = []
        self._notices: list[AlertEvent] = []  # incident notices stored, not yet announced
        # Called with each stored step's readings (the command center's stations).
        self.reading_listeners: list[Callable[[list[Reading]], None]] = []
        # What must be true to be ready (sources connected), as (name, check).
        self.readiness: list[tuple[str, Callable[[], bool]]] = []
        # Called with each step's messages once they are stored (benchmarks, metrics).
        self.on_stored: Callable[[list[Incoming]], None] | None = None
        self.sl651: Receiver | None = None  # the SL 651 receiver, when configured
        # Awaited after each stored step (Kafka: commit the offsets it covers at once).
        self.after_step: Callable[[], Awaitable[None]] | None = None

    # -- start-up ----------------------------------------------------------------

    def open(self) -> None:
        """Open the store, restore the engine (snapshot + inbox). Synchronous."""
        private.tighten(self.store_path, self.snapshot_path, self.dead_letter.path)
        self.store = Store(self.store_path)
        if self.settings.notify is not None:
            self.dispatcher = Dispatcher(Router(self.settings.notify, self.compiled), self.store)
        if self.store.moved_aside:
            log.error("store was unreadable: moved aside to %s", self.store.moved_aside)
        restore_incidents(self.incidents, self.store.incidents)
        self._restore()

    def _restore(self) -> None:
        assert self.store is not None
        state = None
        if self.snapshot_path.exists():
            try:
                state = snapshot.loads(self.snapshot_path.read_bytes())
                self._restore_shards(state["shards"])
            except (snapshot.SnapshotError, KeyError, TypeError, OSError) as exc:
                aside = self.snapshot_path.with_name(
                    f"{self.snapshot_path.name}.bad-{int(time.time())}"
                )
                self.snapshot_path.rename(aside)
                log.error("snapshot unusable (%s): moved aside to %s", exc, aside)
                if LOCAL in self.shards:
                    self.shards[LOCAL] = Shard(LOCAL, Engine(self.compiled))
                self.parked = {}
                state = None
        if state is not None:
            self.inbox_seq = int(state["inbox_seq"])
            log.info("engine restored from snapshot (clock %s)", self._clock_text())
        replayed = self._replay_inbox()
        self.stats.replayed = replayed
        if replayed:
            log.info("replayed %d inbox messages on top of the snapshot", replayed)

    def _restore_shards(self, saved: dict[str, dict[str, object]]) -> None:
        for name, entry in saved.items():
            if name == LOCAL:
                if LOCAL in self.shards:
                    snapshot.restore(self.shards[LOCAL].engine, entry["engine"])  # type: ignore[arg-type]
                continue
            if self.settings.kafka is None:
                continue
            stations = frozenset(entry["stations"])  # type: ignore[call-overload]
            shard = self.new_shard(name, stations, int(entry.get("partitions", 0)))  # type: ignore[call-overload]
            snapshot.restore(shard.engine, entry["engine"])  # type: ignore[arg-type]
            shard.next_offset = int(entry["next_offset"])  # type: ignore[call-overload]
            self.parked[name] = shard

    # -- Kafka shards ------------------------------------------------------------

    def new_shard(self, name: str, stations: frozenset[str], partitions: int = 0) -> Shard:
        """A fresh engine watching only `stations` (one partition's share)."""
        return Shard(name, Engine(self.compiled.subset(stations)), stations, partitions)

    def take_shard(self, shard: Shard) -> None:
        """Start feeding `shard` (its partition was assigned to this process)."""
        self.parked.pop(shard.name, None)
        self.shards[shard.name] = shard

    def park_shard(self, name: str) -> Shard | None:
        """Stop feeding a shard (its partition was revoked); keep its state aside."""
        shard = self.shards.pop(name, None)
        self._committable.pop(name, None)
        if shard is not None:
            self.parked[name] = shard
        return shard

    def committable(self) -> dict[str, int]:
        """Kafka shard -> the offset up to which every message's alerts are stored."""
        return dict(self._committable)

    def last_commit(self, name: str) -> int | None:
        """The offset this process last committed for a partition (None: never)."""
        assert self.store is not None
        value = self.store.meta(f"kafka-committed:{name}")
        return None if value is None else int(value)

    def record_commits(self, offsets: dict[str, int]) -> None:
        assert self.store is not None
        with self.store.transaction():
            for name, offset in offsets.items():
                self.store.set_meta(f"kafka-committed:{name}", str(offset))

    def _replay_inbox(self) -> int:
        """Feed the engine the inbox rows after the snapshot, step by step."""
        assert self.store is not None
        mqtt = self.settings.mqtt
        patterns: list[tuple[TopicPattern, str]] = (
            [(compile_topic(t.pattern), t.format) for t in mqtt.topics] if mqtt else []
        )
        count = 0
        batch: list[tuple[Incoming, tuple[int, int] | None]] = []
        batch_id = None
        for row in self.store.inbox.after(self.inbox_seq):
            if batch_id is not None and row.batch != batch_id:
                self._replay_step(batch)
                batch = []
            batch_id = row.batch
            if row.source == WALL:  # the step ran under this wall clock
                self._bound(int(row.payload))
                self.inbox_seq = row.seq
                continue
            item, decoders = inbox.incoming(row, patterns)
            if decoders is not None:
                self.replay_decoders[item.decoder] = decoders
            batch.append((item, row.outcome))
            self.inbox_seq = row.seq
            count += 1
        if batch:
            self._replay_step(batch)
        self.replay_decoders.clear()
        return count

    @staticmethod
    def _tracker(compiled: CompiledConfig) -> IncidentTracker:
        config = compiled.config
        return IncidentTracker(config.stations, config.engine.incidents)

    def _store_alerts(
        self, alerts: list[AlertEvent], figures: list[Figures] | None = None
    ) -> list[AlertEvent]:
        """Record transitions not stored before with their incidents and their
        deliveries (inside the caller's transaction); return the new ones."""
        assert self.store is not None
        now = time.time()
        step = record_step(
            self.store.incidents,
            self.store.record,
            self.incidents,
            self.compiled.config,
            alerts,
            now,
            figures or [],
        )
        if self.dispatcher is not None and (step.alerts or step.changes):
            self.dispatcher.dispatch(step.alerts, now, step.changes, step.notices)
        self._notices.extend(step.notices)  # announced with the alerts, once committed
        return step.alerts

    def _replay_step(self, batch: list[tuple[Incoming, tuple[int, int] | None]]) -> None:
        assert self.store is not None
        rejected = [
            r
            for item, outcome in batch
            if item.source != TICK
            for r in inbox.replay_rejects(item, self._decoders_for(item), outcome)
        ]
        out, _, _ = self._feed([item for item, _ in batch])
        with self.store.transaction():
            if rejected:
                self.dead_letter.write(rejected)
            new = self._store_alerts(out.alerts, out.figures)
        self._announce(new)  # stored before a crash? then not new; else announce now

    # -- the processing step -------------------------------------------------------

    def _route(self, item: Incoming) -> str:
        if item.source == "kafka":
            return f"{item.topic}/{item.partition}"
        if item.source == TICK:
            return item.fields.get("shard", LOCAL)
        return LOCAL

    def _decode(
        self, item: Incoming, shard: Shard, count: bool = True
    ) -> tuple[list[Reading], list[Rejected]]:
        if count:
            self.stats.received[item.source] = self.stats.received.get(item.source, 0) + 1
        got, bad = self._decoders_for(item).decode_incoming(item)
        item.decoded = (len(got), len(bad))
        if shard.stations is not None and any(r.station not in shard.stations for r in got):
            mine = [r for r in got if r.station in shard.stations]
            bad = bad + [
                Rejected(
                    RejectReason.WRONG_PARTITION,
                    f"station {r.station!r} is keyed to another partition than "
                    f"{shard.name} (use `floodwatch keys` and Kafka's default partitioner)",
                    r,
                    source=item.origin,
                )
                for r in got
                if r.station not in shard.stations
            ]
            got = mine
        return got, bad

    def _decoders_for(self, item: Incoming) -> Decoders:
        """The decoders of a message: today's, or for a replayed one those it was
        decoded with when it was received."""
        return self.replay_decoders.get(item.decoder, self.decoders)

    def _feed_batch(
        self, item: Incoming, shard: Shard, readings: list[Reading], rejected: list[Rejected]
    ) -> bool:
        """Decode a fetched Kafka batch (skipping what the shard was fed before);
        False when none of it was new."""
        assert item.batch is not None
        pairs = [(o, p) for o, p in item.batch if o >= shard.next_offset]
        if not pairs:
            return False
        self.stats.received["kafka"] = self.stats.received.get("kafka", 0) + len(pairs)
        got = self.decoders.decode_many([p for _, p in pairs], item.fmt)
        if got is not None and not self._misplaced(got, shard):
            readings.extend(got)
            return True
        for offset, payload in pairs:
            one = Incoming(payload, item.topic, item.fmt, "kafka", partition=item.partition)
            one.offset = offset
            got, bad = self._decode(one, shard, count=False)
            readings.extend(got)
            if offset >= shard.quiet_until:
                rejected.extend(bad)
        return True

    @staticmethod
    def _misplaced(readings: list[Reading], shard: Shard) -> bool:
        if shard.stations is None:
            return False
        return not shard.stations.issuperset(map(_STATION, readings))

    def _feed(self, items: list[Incoming]) -> tuple[EngineOutput, list[Incoming], list[Reading]]:
        """Run the items through their shards' engines; return what that produced
        (alerts, and every rejected reading or payload), the items fed and their
        readings."""
        out = EngineOutput()
        fed_readings: list[Reading] = []
        groups: dict[str, list[Incoming]] = {}
        for item in items:
            groups.setdefault(self._route(item), []).append(item)
        fed: list[Incoming] = []
        for name, group in groups.items():
            shard = self.shards.get(name)
            if shard is None:
                continue  # revoked meanwhile: the partition's next owner reads these
            readings: list[Reading] = []
            ticks: list[int] = []
            for item in group:
                if item.source == TICK:
                    ticks.append(int(item.payload))
                elif item.batch is not None:
                    if self._feed_batch(item, shard, readings, out.rejected):
                        fed.append(item)
                elif item.source != "kafka" or item.offset >= shard.next_offset:
                    got, bad = self._decode(item, shard)
                    readings.extend(got)
                    if item.source != "kafka" or item.offset >= shard.quiet_until:
                        out.rejected.extend(bad)
                    fed.append(item)
            fed_readings.extend(readings)
            shard_out = shard.engine.process(readings)
            for target in ticks:
                shard_out.extend(shard.engine.advance(ms_to_dt(target)))
            out.alerts.extend(shard_out.alerts)
            out.figures.extend(shard_out.figures)
            if not all(i.source == "kafka" and i.last_offset < shard.quiet_until for i in group):
                out.rejected.extend(shard_out.rejected)
            if readings:
                shard.clock_at_input = shard.engine._clock
                self.stats.readings += len(readings)
                source = next((i.source for i in group if i.source != TICK), TICK)
                by = self.stats.readings_by_source
                by[source] = by.get(source, 0) + len(readings)
        return out, fed, fed_readings

    def _bound(self, wall_ms: int) -> None:
        """Give every engine the wall clock (its event clock never runs past it)."""
        for shard in self.shards.values():
            shard.engine.bound(wall_ms)

    def step(self, items: list[Incoming]) -> list[AlertEvent]:
        """Process one batch durably; return the transitions not stored before."""
        assert self.store is not None
        wall = round(time.time() * 1000)
        self._bound(wall)
        with self.store.transaction():
            out, fed, readings = self._feed(items)  # decoded: each message's outcome known
            for item in fed:
                if item.stored is not None:
                    item.stored()
            logged = [inbox.entry(i, self.decoders) for i in items if i.source in LOGGED]
            if logged and LOCAL in self.shards:
                logged.insert(0, inbox.wall_entry(wall))
                self.inbox_seq = self.store.inbox.log(logged)
            if out.rejected:
                self.dead_letter.write(out.rejected)
            new = self._store_alerts(out.alerts, out.figures)
        for r in out.rejected:
            self.stats.rejected[r.reason.value] = self.stats.rejected.get(r.reason.value, 0) + 1
        for item in items:
            if item.confirm is not None:
                item.confirm()
        for item in fed:
            if item.source == "kafka":
                name = self._route(item)
                shard = self.shards[name]
                shard.next_offset = max(shard.next_offset, item.last_offset + 1)
                self._committable[name] = shard.next_offset
        self.stats.steps += 1
        self.stats.alerts_new += len(new)
        if self.deliverer is not None:
            if readings:
                self.deliverer.readings(readings)
            if new:
                self.deliverer.wake()
        if self.on_stored is not None:
            self.on_stored(items)
        if readings:
            for listener in self.reading_listeners:
                listener(readings)
        self._announce(new)
        if any(i.source != TICK for i in fed):
            self.last_input = time.monotonic()
        return new

    @property
    def engine(self) -> Engine:
        """The engine of an MQTT-only service (its one shard)."""
        return self.shards[LOCAL].engine

    def forecasts(self) -> dict[tuple[str, str], tuple[int, dict[str, float]]]:
        """The latest time-to-crest forecasts of every shard (`Engine.forecasts`)."""
        out: dict[tuple[str, str], tuple[int, dict[str, float]]] = {}
        for shard in self.shards.values():
            out.update(shard.engine.forecasts())
        return out

    def clock_ms(self) -> int | None:
        """The event clock (the latest of the shards'), epoch ms."""
        clocks = [s.engine._clock for s in self.shards.values() if s.engine._clock is not None]
        return max(clocks, default=None)

    def _clock_text(self) -> str:
        clock = self.clock_ms()
        return "not started" if clock is None else format_ts(clock)

    def active_alerts(self) -> int:
        return sum(len(s.engine.active_alerts()) for s in self.shards.values())

    def idle_tick(self) -> list[AlertEvent]:
        """With no input for `idle_advance_after`, move each shard's event time on
        with the wall clock (so a silent network still raises stale alerts)."""
        after = self.settings.idle_advance_after
        if after is None:
            return []
        idle = time.monotonic() - self.last_input
        if idle < after.total_seconds():
            return []
        ticks = []
        for name, shard in self.shards.items():
            if shard.clock_at_input is None:
                continue
            target = shard.clock_at_input + int(idle * 1000)
            clock = shard.engine._clock
            if clock is not None and target <= clock + 999:
                continue
            ticks.append(Incoming(str(target).encode(), TICK, TICK, TICK, {"shard": name}))
        return self.step(ticks) if ticks else []

    # -- hot reload ----------------------------------------------------------------

    def reload(self) -> bool:
        """Load the config directory again; if valid, swap it in with every shard's
        state carried over (`rules/reload.py`); if not, keep running on the current
        one and raise an operations alert naming file and line. True when swapped."""
        assert self.config_dir is not None and self.store is not None
        try:
            loaded = load_config_dir(self.config_dir)
            compiled = compile_config(loaded)
            if self.settings.kafka is not None:
                from floodwatch.ingest.partition import station_keys

                keys = station_keys(compiled)
                if any(keys.get(s, k) != k for s, k in station_keys(self.compiled).items()):
                    raise ConfigError(
                        [
                            ConfigIssue(
                                self.config_dir,
                                None,
                                None,
                                (),
                                "the change links stations differently (their Kafka keys "
                                "change): restart with re-keyed producers to apply it",
                            )
                        ]
                    )
        except ConfigError as exc:
            self.stats.reload_failures += 1
            log.error(
                "config reload failed; still running on the previous config:\n%s", exc.report()
            )
            operations.config_alert(self, exc.issues)
            return False
        active = [a for shard in self.shards.values() for a in shard.engine.active_alerts()]
        report = changes(self.compiled, compiled, active)
        for shard in (*self.shards.values(), *self.parked.values()):
            if shard.partitions:  # a station added to the config may land in this partition
                from floodwatch.ingest.partition import station_keys, stations_of

                partition = int(shard.name.rpartition("/")[2])
                mine = stations_of(station_keys(compiled), shard.partitions, partition)
                shard.stations = frozenset(mine)
            fresh = Engine(compiled if shard.stations is None else compiled.subset(shard.stations))
            carry_over(shard.engine, fresh)
            shard.engine = fresh
        if loaded.config.service != self.settings:
            log.warning("the service: section changed; restart floodwatch to apply that part")
        self.loaded, self.compiled = loaded, compiled
        self.incidents = self._tracker(compiled)
        restore_incidents(self.incidents, self.store.incidents)
        if self.dispatcher is not None and self.settings.notify is not None:
            self.dispatcher.router = Router(self.settings.notify, compiled)
        if self.deliverer is not None:
            self.deliverer.reconfigure(compiled)
        self.stats.reloads += 1
        log.info(
            "config reloaded from %s: %s",
            self.config_dir,
            "; ".join(report) if report else "no change to rules, stations or thresholds",
        )
        operations.config_alert(self, [])
        self.write_snapshot()
        return True

    def record_and_announce(self, event: AlertEvent | None) -> None:
        """Store an alert made outside the engine (operations, drills) with its
        deliveries, and announce it if it is new."""
        if event is None:
            return
        assert self.store is not None
        with self.store.transaction():
            new = self._store_alerts([event])
        if new and self.deliverer is not None:
            self.deliverer.wake()
        self._announce(new)

    def _announce(self, new: list[AlertEvent]) -> None:
        for event in new:
            self.on_alert(event)
            for listener in self.alert_listeners:
                listener(event)
        notices, self._notices = self._notices, []
        for notice in notices:
            for incident_listener in self.incident_listeners:
                incident_listener(notice)

    def not_ready(self) -> list[str]:
        """Why the service is not ready (empty: ready): a source not connected,
        the store not writable."""
        problems = [f"{name} not connected" for name, ready in self.readiness if not ready()]
        if self.store is None or not self.store.writable():
            problems.append("store not writable")
        return problems

    @property
    def reload_problem(self) -> AlertEvent | None:
        """The open config operations alert."""
        return self.operations.open.get((operations.CONFIG_RULE, "config"))

    # -- snapshots ---------------------------------------------------------------

    def write_snapshot(self) -> None:
        """Capture and write a snapshot now, then prune the inbox it covers
        (start-up, reload, shutdown). One being written on the timer is
        finished first."""
        assert self.store is not None
        self._snapshot_written(wait=True)
        seq, data = self._capture()
        _write_durably(self.snapshot_path, data)
        with self.store.transaction():
            self.store.inbox.prune(seq)
        self.last_snapshot = time.monotonic()

    def _capture(self) -> tuple[int, bytes]:
        """The state of every shard now, as bytes, and the inbox row it covers."""
        shards = {
            shard.name: {
                "engine": snapshot.capture(shard.engine),
                "stations": sorted(shard.stations) if shard.stations is not None else None,
                "partitions": shard.partitions,
                "next_offset": shard.next_offset,
            }
            for shard in (*self.parked.values(), *self.shards.values())
        }
        state = {"shards": shards, "inbox_seq": self.inbox_seq, "written_at": time.time()}
        return self.inbox_seq, snapshot.dumps(state)

    def _snapshot_written(self, *, wait: bool = False) -> bool:
        """Finish a snapshot written in the background: once its file is
        durable, prune the inbox it covers. False while it is still being
        written (and not `wait`)."""
        if self._writing is None:
            return True
        seq, future = self._writing
        if not wait and not future.done():
            return False
        self._writing = None
        try:
            future.result()
        except OSError as exc:
            log.error("snapshot not written (%s): the inbox is kept", exc)
            return True
        assert self.store is not None
        with self.store.transaction():
            self.store.inbox.prune(seq)
        return True

    def stats_line(self) -> str:
        """One line of counters; logged every `STATS_EVERY` seconds while running."""
        st = self.stats
        return (
            f"stats: queue {self.queue.qsize()}/{self.queue.maxsize}; received {st.received}; "
            f"readings {st.readings}; rejected {st.rejected}; steps {st.steps}; "
            f"new alerts {st.alerts_new}; event clock {self._clock_text()}; "
            f"{self.active_alerts()} alerts active; config reloads {st.reloads}, "
            f"failed {st.reload_failures}"
        )

    def maybe_log_stats(self) -> None:
        if time.monotonic() - self.last_stats >= STATS_EVERY:
            self.last_stats = time.monotonic()
            log.info("%s", self.stats_line())

    def maybe_snapshot(self) -> None:
        """On the timer: the state is captured here (a few ms), the file written
        and fsync'd in a thread while steps and sources go on (its fsyncs would
        otherwise hold up every confirmation), the inbox pruned once it is
        durable (a later call)."""
        if not self._snapshot_written():
            return
        if time.monotonic() - self.last_snapshot >= self.settings.snapshot_every.total_seconds():
            seq, data = self._capture()
            future = self._snapshot_thread.submit(_write_durably, self.snapshot_path, data)
            self._writing = (seq, future)
            self.last_snapshot = time.monotonic()

    # -- the loop ----------------------------------------------------------------

    async def put(self, item: Incoming) -> None:
        await self.queue.put(item)

    def reject(self, rejected: list[Rejected]) -> None:
        """Dead-letter input a source refused before decoding (SL 651 frames)."""
        self.dead_letter.write(rejected)
        for r in rejected:
            self.stats.rejected[r.reason.value] = self.stats.rejected.get(r.reason.value, 0) + 1

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
            # Each step ends in an fsync, so while messages keep arriving wait a
            # little longer (up to LINGER_MAX) to store more with one commit.
            started = time.monotonic()
            waiting = 0
            await asyncio.sleep(LINGER)
            while (
                self.queue.qsize() > waiting
                and self.queue.qsize() < limit
                and time.monotonic() - started < LINGER_MAX
            ):
                waiting = self.queue.qsize()
                await asyncio.sleep(LINGER)
            items = [first]
            while len(items) < limit and not self.queue.empty():
                items.append(self.queue.get_nowait())
            self.step(items)
            if self.after_step is not None:
                await self.after_step()
            self.maybe_snapshot()
            self.maybe_log_stats()

    def close(self) -> None:
        if self.store is not None:
            self.write_snapshot()
            self.store.close()
            self.store = None
        self._snapshot_thread.shutdown()
        self.dead_letter.close()

    def summary(self, sources: list[str]) -> str:
        c = self.compiled
        return (
            f"floodwatch running: sources {', '.join(sources) or 'none'}; "
            f"{len(c.stations)} stations, {len(c.config.rules)} rules, "
            f"{len(c.bindings)} bindings; store {self.store_path}; "
            f"snapshot every {self.settings.snapshot_every.total_seconds():g}s; "
            f"event clock {self._clock_text()}; {self.active_alerts()} alerts active"
        )


def _write_durably(path: Path, data: bytes) -> None:
    """Atomically replace `path` by `data`: temp file, fsync, rename, fsync the folder."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    _fsync_dir(path.parent)


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
