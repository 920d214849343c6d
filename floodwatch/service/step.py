"""The processing step: decode → engine → store → acknowledge/commit → announce.

`Pipeline.step` takes the messages (and ticks) waiting in the queue, decodes
them, runs them through their shards' engines, and in one SQLite transaction
logs the MQTT and SL 651 messages (and the local shard's ticks) to the inbox,
dead-letters what was rejected, and records the alert transitions with their
incidents and deliveries. Only after that commit are the messages
acknowledged (MQTT, SL 651) and the Kafka shards moved on past them (their
offsets may then be committed: the caller's `after_step`). Only then is
anything announced (listeners, the deliverer woken). A crash at any point
therefore loses nothing (unacknowledged messages come again) and repeats
nothing (transitions are recorded idempotently; only new ones are announced).

`Pipeline.replay_inbox` repeats, after a restart, the steps logged since the
snapshot: step by step as first processed, each under the wall clock it ran
at and each message decoded with the decoder it was decoded with live; a
replayed message that now decodes differently is logged and its rejects
dead-lettered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING

from floodwatch.alerts.event import AlertEvent
from floodwatch.config.topics import TopicPattern
from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.ingest.decode import Decoders
from floodwatch.ingest.source import Incoming
from floodwatch.notify.dispatch import Dispatcher
from floodwatch.readings import Reading, Rejected, RejectReason, ms_to_dt
from floodwatch.rules.engine import EngineOutput, Figures
from floodwatch.rules.incidents.tracker import IncidentTracker
from floodwatch.service import inbox
from floodwatch.service.incidents import record_step
from floodwatch.service.shards import LOCAL, Shard, ShardRegistry
from floodwatch.service.tick import Tick
from floodwatch.store import Store

if TYPE_CHECKING:
    from floodwatch.notify.deliver import Deliverer

log = logging.getLogger("floodwatch.service")

LOGGED = ("mqtt", "sl651")  # sources whose messages the inbox keeps (not Kafka's)
_STATION = attrgetter("station")

Item = Incoming | Tick


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

    def count_rejects(self, rejected: list[Rejected]) -> None:
        for r in rejected:
            self.rejected[r.reason.value] = self.rejected.get(r.reason.value, 0) + 1


class Pipeline:
    """The step and its outlets. `store` is set when the service opens it."""

    def __init__(
        self,
        shards: ShardRegistry,
        decoders: Decoders,
        dead_letter: DeadLetter,
        incidents: IncidentTracker,
        on_alert: Callable[[AlertEvent], None],
    ) -> None:
        self.shards = shards
        self.decoders = decoders
        self.dead_letter = dead_letter
        self.incidents = incidents  # the open incidents (pure; replaced on reload)
        self.on_alert = on_alert
        self.stats = Stats()
        self.store: Store | None = None
        self.dispatcher: Dispatcher | None = None  # with the store, when notify is configured
        self.deliverer: Deliverer | None = None  # started by run_service
        self.inbox_seq = 0  # last inbox row fed to the engine
        # Replayed inbox rows: the decoders they were decoded with live, by id.
        self.replay_decoders: dict[str, Decoders] = {}
        self.last_input = time.monotonic()
        # Called with every new transition once stored (the command center's stream).
        self.alert_listeners: list[Callable[[AlertEvent], None]] = []
        # Called with the notice of every incident change once stored (the stream).
        self.incident_listeners: list[Callable[[AlertEvent], None]] = []
        # Called with each stored step's readings (the command center's stations).
        self.reading_listeners: list[Callable[[list[Reading]], None]] = []
        # Called with each step's messages once they are stored (benchmarks, metrics).
        self.on_stored: Callable[[Sequence[Item]], None] | None = None
        self._notices: list[AlertEvent] = []  # incident notices stored, not yet announced

    # -- the step ----------------------------------------------------------------------

    def step(self, items: Sequence[Item]) -> list[AlertEvent]:
        """Process one batch durably; return the transitions not stored before."""
        assert self.store is not None
        wall = round(time.time() * 1000)
        self.shards.bound(wall)
        with self.store.transaction():
            out, fed, readings = self._feed(items)  # decoded: each message's outcome known
            for message in fed:
                if message.stored is not None:
                    message.stored()
            self._log(items, wall)
            if out.rejected:
                self.dead_letter.write(out.rejected)
            new = self._store_alerts(out.alerts, out.figures)
        self.stats.count_rejects(out.rejected)
        for item in items:
            if isinstance(item, Incoming) and item.confirm is not None:
                item.confirm()
        for message in fed:
            if message.source == "kafka":
                self.shards.stored(message)
        self.stats.steps += 1
        self.stats.alerts_new += len(new)
        self._tell(items, readings, new)
        if fed:
            self.last_input = time.monotonic()
        return new

    def _log(self, items: Sequence[Item], wall: int) -> None:
        """Inside the step's transaction: the local shard's MQTT and SL 651
        messages and ticks to the inbox, after the wall clock they ran under."""
        assert self.store is not None
        logged = [
            inbox.entry(i, self.decoders)
            for i in items
            if isinstance(i, Tick) or i.source in LOGGED
        ]
        if logged and LOCAL in self.shards.live:
            logged.insert(0, inbox.wall_entry(wall))
            self.inbox_seq = self.store.inbox.log(logged)

    def _tell(self, items: Sequence[Item], readings: list[Reading], new: list[AlertEvent]) -> None:
        """After the commit: the deliverer, the listeners, the announcement."""
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

    def reject(self, rejected: list[Rejected]) -> None:
        """Dead-letter input a source refused before decoding (SL 651 frames)."""
        self.dead_letter.write(rejected)
        self.stats.count_rejects(rejected)

    # -- a restart -----------------------------------------------------------------

    def replay_inbox(self, patterns: Sequence[tuple[TopicPattern, str]]) -> int:
        """Feed the engine the inbox rows after `inbox_seq`, step by step."""
        assert self.store is not None
        count = 0
        batch: list[tuple[Item, tuple[int, int] | None]] = []
        batch_id = None
        for row in self.store.inbox.after(self.inbox_seq):
            if batch_id is not None and row.batch != batch_id:
                self._replay_step(batch)
                batch = []
            batch_id = row.batch
            self.inbox_seq = row.seq
            if row.source == inbox.WALL:  # the step ran under this wall clock
                self.shards.bound(int(row.payload))
                continue
            if row.source == inbox.TICK:
                batch.append((inbox.tick(row), None))
            else:
                item, decoders = inbox.incoming(row, patterns)
                if decoders is not None:
                    self.replay_decoders[item.decoder] = decoders
                batch.append((item, row.outcome))
            count += 1
        if batch:
            self._replay_step(batch)
        self.replay_decoders.clear()
        return count

    def _replay_step(self, batch: list[tuple[Item, tuple[int, int] | None]]) -> None:
        assert self.store is not None
        rejected = [
            r
            for item, outcome in batch
            if isinstance(item, Incoming)
            for r in inbox.replay_rejects(item, self._decoders_for(item), outcome)
        ]
        out, _, _ = self._feed([item for item, _ in batch])
        with self.store.transaction():
            if rejected:
                self.dead_letter.write(rejected)
            new = self._store_alerts(out.alerts, out.figures)
        self._announce(new)  # stored before a crash? then not new; else announce now

    # -- storing and announcing ------------------------------------------------------

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
            self.shards.compiled.config,
            alerts,
            now,
            figures or [],
        )
        if self.dispatcher is not None and (step.alerts or step.changes):
            self.dispatcher.dispatch(step.alerts, now, step.changes, step.notices)
        self._notices.extend(step.notices)  # announced with the alerts, once committed
        return step.alerts

    def _announce(self, new: list[AlertEvent]) -> None:
        for event in new:
            self.on_alert(event)
            for listener in self.alert_listeners:
                listener(event)
        notices, self._notices = self._notices, []
        for notice in notices:
            for incident_listener in self.incident_listeners:
                incident_listener(notice)

    # -- decoding and feeding the engines ----------------------------------------------

    def _feed(self, items: Sequence[Item]) -> tuple[EngineOutput, list[Incoming], list[Reading]]:
        """Run the items through their shards' engines; return what that produced
        (alerts, and every rejected reading or payload), the messages fed and
        their readings. A shard's ticks move its clock after its readings."""
        out = EngineOutput()
        fed_readings: list[Reading] = []
        groups: dict[str, list[Item]] = {}
        for item in items:
            groups.setdefault(self.shards.route(item), []).append(item)
        fed: list[Incoming] = []
        for name, group in groups.items():
            shard = self.shards.live.get(name)
            if shard is None:
                continue  # revoked meanwhile: the partition's next owner reads these
            readings: list[Reading] = []
            ticks: list[int] = []
            messages: list[Incoming] = []
            by = self.stats.readings_by_source  # the local shard takes MQTT and SL 651 alike
            for item in group:
                if isinstance(item, Tick):
                    ticks.append(item.target_ms)
                    continue
                messages.append(item)
                before = len(readings)
                if item.batch is not None:
                    if self._feed_batch(item, shard, readings, out.rejected):
                        fed.append(item)
                elif item.source != "kafka" or item.offset >= shard.next_offset:
                    got, bad = self._decode(item, shard)
                    readings.extend(got)
                    if item.source != "kafka" or item.offset >= shard.quiet_until:
                        out.rejected.extend(bad)
                    fed.append(item)
                if len(readings) > before:
                    by[item.source] = by.get(item.source, 0) + len(readings) - before
            fed_readings.extend(readings)
            shard_out = shard.engine.process(readings)
            for target in ticks:
                shard_out.extend(shard.engine.advance(ms_to_dt(target)))
            out.alerts.extend(shard_out.alerts)
            out.figures.extend(shard_out.figures)
            refed = all(i.source == "kafka" and i.last_offset < shard.quiet_until for i in messages)
            if len(messages) < len(group) or not refed:  # a tick, or input not fed before
                out.rejected.extend(shard_out.rejected)
            if readings:
                shard.clock_at_input = shard.engine.clock_ms
                self.stats.readings += len(readings)
        return out, fed, fed_readings

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
        if got is not None and not _misplaced(got, shard):
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


def _misplaced(readings: list[Reading], shard: Shard) -> bool:
    if shard.stations is None:
        return False
    return not shard.stations.issuperset(map(_STATION, readings))
