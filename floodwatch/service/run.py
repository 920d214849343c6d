"""The live service: sources → bounded queue → the step → store → acknowledgements.

`Service` composes the parts, each with one job, and runs the queue loop:

- `service/shards.py` — `ShardRegistry`: the engine shards (one `local` over
  MQTT alone; one per assigned Kafka partition) and where each input stands;
  the Kafka source is given it behind the narrow `ingest.kafka.Shards`.
- `service/step.py` — `Pipeline`: one step, decode → engine → store (inbox,
  dead-letter, transitions, incidents, deliveries in one transaction) →
  acknowledge / move Kafka on → announce; the inbox replay after a restart.
- `service/tick.py` — `Tick`: event time moved on with no input (idle advance).
- `service/snapshots.py` — `Snapshotter`: every shard's state to disk
  (fsynced) and back.
- `service/reloader.py` — `Reloader`: a new config checked and swapped in
  under every shard, state carried over.

One processing task takes the messages waiting in the queue (up to
`batch_max`) and runs a step; after the step's commit the Kafka offsets it
covers are committed (`after_step`). The shards' state is snapshotted every
`snapshot_every` (captured between two steps, written in a thread); the inbox
keeps the MQTT and SL 651 messages since, so a restart loads the snapshot and
replays the inbox step by step, exactly. Kafka shards resume from the offset
in the snapshot. A snapshot or database that cannot be read is reported,
moved aside, and the service starts anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.operations import OperationsAlerts
from floodwatch.config.errors import ConfigError
from floodwatch.config.loader import LoadedConfig
from floodwatch.config.models import ServiceSettings
from floodwatch.config.topics import TopicPattern, compile_topic
from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.ingest.decode import Decoders
from floodwatch.ingest.source import Incoming
from floodwatch.notify.deadletter import Publisher
from floodwatch.notify.dispatch import Dispatcher
from floodwatch.notify.routing import Router
from floodwatch.readings import Rejected, format_ts
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.rules.engine import Engine
from floodwatch.rules.incidents.tracker import IncidentTracker
from floodwatch.service import operations, private
from floodwatch.service.incidents import restore as restore_incidents
from floodwatch.service.reloader import Reloader
from floodwatch.service.shards import LOCAL, ShardRegistry
from floodwatch.service.snapshots import Snapshotter
from floodwatch.service.step import Item, Pipeline, Stats
from floodwatch.store import Store

if TYPE_CHECKING:
    from floodwatch.ingest.sl651.server import Receiver
    from floodwatch.notify.deliver import Deliverer

log = logging.getLogger("floodwatch.service")

__all__ = ["LOCAL", "Service", "Stats"]

LINGER = 0.002  # seconds a step waits for more messages after the first …
LINGER_MAX = 0.010  # … and again while more keep coming, up to this in all
STATS_EVERY = 60.0  # seconds between stats lines (queue depth, counters)


class Service:
    """The parts of the live service, composed; the queue loop."""

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
        compiled = compile_config(loaded)
        self.store_path = Path(store or self.settings.store)
        self.decoders = Decoders(
            self.settings.mappings,
            self.settings.max_payload,
            self.settings.mqtt.gateways if self.settings.mqtt else None,
        )
        self.dead_letter = DeadLetter(Path(self.settings.dead_letter.file))
        self.dead_letter_topics = Publisher(
            self.dead_letter, self.settings.dead_letter, self.settings.mqtt, self.settings.kafka
        )
        self.queue: asyncio.Queue[Item] = asyncio.Queue(self.settings.queue_size)
        self.shards = ShardRegistry(compiled, kafka=self.settings.kafka is not None)
        self.pipeline = Pipeline(
            self.shards,
            self.decoders,
            self.dead_letter,
            _tracker(compiled),
            on_alert or _log_alert,
        )
        self.snapshots = Snapshotter(
            Path(str(self.store_path) + ".snapshot"),
            self.shards,
            self.settings.snapshot_every.total_seconds(),
        )
        self.reloader = Reloader(config_dir, self.shards) if config_dir is not None else None
        self.last_stats = time.monotonic()
        self.stopping = asyncio.Event()
        # The pipeline's outlets, wired by the program and the command center.
        self.alert_listeners = self.pipeline.alert_listeners
        self.incident_listeners = self.pipeline.incident_listeners
        self.reading_listeners = self.pipeline.reading_listeners
        # What must be true to be ready (sources connected), as (name, check).
        self.readiness: list[tuple[str, Callable[[], bool]]] = []
        self.sl651: Receiver | None = None  # the SL 651 receiver, when configured
        # Awaited after each stored step (Kafka: commit the offsets it covers at once).
        self.after_step: Callable[[], Awaitable[None]] | None = None

    # -- the parts, as the rest of the program sees them ------------------------------

    @property
    def compiled(self) -> CompiledConfig:
        """The config in force."""
        return self.shards.compiled

    @property
    def store(self) -> Store | None:
        return self.pipeline.store

    @property
    def stats(self) -> Stats:
        return self.pipeline.stats

    @property
    def dispatcher(self) -> Dispatcher | None:
        return self.pipeline.dispatcher

    @property
    def incidents(self) -> IncidentTracker:
        return self.pipeline.incidents

    @property
    def deliverer(self) -> Deliverer | None:
        return self.pipeline.deliverer

    @deliverer.setter
    def deliverer(self, deliverer: Deliverer | None) -> None:
        self.pipeline.deliverer = deliverer

    @property
    def on_stored(self) -> Callable[[Sequence[Item]], None] | None:
        return self.pipeline.on_stored

    @on_stored.setter
    def on_stored(self, callback: Callable[[Sequence[Item]], None] | None) -> None:
        self.pipeline.on_stored = callback

    @property
    def snapshot_path(self) -> Path:
        return self.snapshots.path

    @property
    def engine(self) -> Engine:
        """The engine of an MQTT-only service (its one shard)."""
        return self.shards.live[LOCAL].engine

    def forecasts(self) -> dict[tuple[str, str], tuple[int, dict[str, float]]]:
        """The latest time-to-crest forecasts of every shard (`Engine.forecasts`)."""
        return self.shards.forecasts()

    def clock_ms(self) -> int | None:
        """The event clock (the latest of the shards'), epoch ms."""
        return self.shards.clock_ms()

    def active_alerts(self) -> int:
        return len(self.shards.active_alerts())

    def step(self, items: list[Item]) -> list[AlertEvent]:
        """Process one batch durably; return the transitions not stored before."""
        return self.pipeline.step(items)

    def record_and_announce(self, event: AlertEvent | None) -> None:
        """Store an alert made outside the engine (operations, drills) with its
        deliveries, and announce it if it is new."""
        self.pipeline.record_and_announce(event)

    def reject(self, rejected: list[Rejected]) -> None:
        """Dead-letter input a source refused before decoding (SL 651 frames)."""
        self.pipeline.reject(rejected)

    async def put(self, item: Incoming) -> None:
        await self.queue.put(item)

    # -- start-up and shutdown ----------------------------------------------------------

    def open(self) -> None:
        """Open the store, restore the engine (snapshot + inbox). Synchronous."""
        private.tighten(self.store_path, self.snapshot_path, self.dead_letter.path)
        store = Store(self.store_path)
        self.pipeline.store = self.shards.store = store
        if self.settings.notify is not None:
            self.pipeline.dispatcher = Dispatcher(
                Router(self.settings.notify, self.compiled), store
            )
        if store.moved_aside:
            log.error("store was unreadable: moved aside to %s", store.moved_aside)
        restore_incidents(self.incidents, store.incidents)
        inbox_seq = self.snapshots.load()
        if inbox_seq is not None:
            self.pipeline.inbox_seq = inbox_seq
            log.info("engine restored from snapshot (clock %s)", self._clock_text())
        mqtt = self.settings.mqtt
        patterns: list[tuple[TopicPattern, str]] = (
            [(compile_topic(t.pattern), t.format) for t in mqtt.topics] if mqtt else []
        )
        replayed = self.pipeline.replay_inbox(patterns)
        self.stats.replayed = replayed
        if replayed:
            log.info("replayed %d inbox messages on top of the snapshot", replayed)
        operations.take_back(self)

    @property
    def inbox_seq(self) -> int:
        """The last inbox row fed to the engines."""
        return self.pipeline.inbox_seq

    def write_snapshot(self) -> None:
        """Write a snapshot now (start-up, reload, shutdown), then prune the inbox."""
        assert self.store is not None
        self.snapshots.write(self.pipeline.inbox_seq, self.store)

    def close(self) -> None:
        if self.store is not None:
            self.write_snapshot()
            self.store.close()
            self.pipeline.store = self.shards.store = None
        self.snapshots.close()
        self.dead_letter.close()

    # -- hot reload -------------------------------------------------------------------

    def reload(self) -> bool:
        """Load the config directory again; if valid, swap it in with every shard's
        state carried over (`service/reloader.py`); if not, keep running on the
        current one and raise an operations alert naming file and line. True when
        swapped."""
        assert self.reloader is not None and self.store is not None
        try:
            loaded, compiled = self.reloader.load()
        except ConfigError as exc:
            self.stats.reload_failures += 1
            log.error(
                "config reload failed; still running on the previous config:\n%s", exc.report()
            )
            operations.config_alert(self, exc.issues)
            return False
        report = self.reloader.swap(compiled)
        if loaded.config.service != self.settings:
            log.warning("the service: section changed; restart floodwatch to apply that part")
        self.loaded = loaded
        self.pipeline.incidents = _tracker(compiled)
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

    @property
    def reload_problem(self) -> AlertEvent | None:
        """The open config operations alert."""
        return self.operations.open.get((operations.CONFIG_RULE, "config"))

    # -- the loop ---------------------------------------------------------------------

    def idle_tick(self) -> list[AlertEvent]:
        """With no input for `idle_advance_after`, move each shard's event time on
        with the wall clock (so a silent network still raises stale alerts)."""
        after = self.settings.idle_advance_after
        if after is None:
            return []
        idle = time.monotonic() - self.pipeline.last_input
        if idle < after.total_seconds():
            return []
        ticks: list[Item] = list(self.shards.idle_ticks(int(idle * 1000)))
        return self.step(ticks) if ticks else []

    async def process_forever(self) -> None:
        limit = self.settings.batch_max
        while not self.stopping.is_set():
            try:
                first = await asyncio.wait_for(self.queue.get(), timeout=0.5)
            except TimeoutError:
                self.idle_tick()
                self.maybe_snapshot()
                self._maybe_log_stats()
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
            self._maybe_log_stats()

    def maybe_snapshot(self) -> None:
        """On the timer: captured now, written in a thread (`Snapshotter.tick`)."""
        if self.store is not None:
            self.snapshots.tick(self.pipeline.inbox_seq, self.store)

    def _maybe_log_stats(self) -> None:
        if time.monotonic() - self.last_stats >= STATS_EVERY:
            self.last_stats = time.monotonic()
            log.info("%s", self.stats_line())

    # -- what it says ---------------------------------------------------------------

    def not_ready(self) -> list[str]:
        """Why the service is not ready (empty: ready): a source not connected,
        the store not writable."""
        problems = [f"{name} not connected" for name, ready in self.readiness if not ready()]
        if self.store is None or not self.store.writable():
            problems.append("store not writable")
        return problems

    def _clock_text(self) -> str:
        clock = self.clock_ms()
        return "not started" if clock is None else format_ts(clock)

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

    def summary(self, sources: list[str]) -> str:
        c = self.compiled
        return (
            f"floodwatch running: sources {', '.join(sources) or 'none'}; "
            f"{len(c.stations)} stations, {len(c.config.rules)} rules, "
            f"{len(c.bindings)} bindings; store {self.store_path}; "
            f"snapshot every {self.settings.snapshot_every.total_seconds():g}s; "
            f"event clock {self._clock_text()}; {self.active_alerts()} alerts active"
        )


def _tracker(compiled: CompiledConfig) -> IncidentTracker:
    config = compiled.config
    return IncidentTracker(config.stations, config.engine.incidents)


def _log_alert(event: AlertEvent) -> None:
    log.warning(
        "alert %s %s %s %s: %s",
        event.severity.value,
        event.transition.value,
        event.rule,
        event.station,
        event.message_en,
    )
