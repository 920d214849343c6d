"""The processing step (service/step.py) on a real store and dead-letter file,
without a broker: commit before acknowledgement, rejects dead-lettered with
their reason, nothing announced before the commit, a store failure mid-step
acknowledging nothing, Kafka shards moved on only once stored, ticks, and the
inbox replay repeating each step under its logged wall clock and decoder
without announcing twice. (The shard registry: test_shards.py.)"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.config.models import FieldMapping
from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.ingest.decode import Decoders
from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading, Rejected, RejectReason, ts_to_ms
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine
from floodwatch.rules.incidents.tracker import IncidentTracker
from floodwatch.service.incidents import restore as restore_incidents
from floodwatch.service.run import Service
from floodwatch.service.shards import LOCAL, ShardRegistry
from floodwatch.service.step import Pipeline
from floodwatch.service.tick import Tick
from floodwatch.sim import simulate
from floodwatch.store import Store
from tests.integration.services import ROOT, service_config

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings


def _message(i: int) -> Incoming:
    return Incoming(json.dumps(STORM[i].to_json()).encode(), "hydro/x/y", "canonical", "mqtt")


def test_a_tick_moves_its_shard_on_and_a_restart_repeats_it_from_the_inbox(
    tmp_path: Path,
) -> None:
    cfg = service_config(tmp_path)
    live = Service(load_config_dir(cfg))
    live.open()
    live.step([_message(i) for i in range(200)])
    clock = live.clock_ms()
    assert clock is not None
    target = clock + 6 * 3600 * 1000  # six hours of silence: the gauges go stale
    new = live.step([Tick(LOCAL, target)])
    assert live.clock_ms() == target
    assert {e.rule for e in new} == {"sensor-health/stale"}, new
    assert live.stats.readings == 200
    # A crash (no snapshot since): the next start replays the readings and the tick.
    again = Service(load_config_dir(cfg))
    again.open()
    assert again.stats.replayed == 201
    assert again.clock_ms() == target
    assert [a.id for a in again.engine.active_alerts()] == [
        a.id for a in live.engine.active_alerts()
    ]
    again.close()
    live.close()


# -- Pipeline on its own: a real store, a real dead-letter file, no service ------------

CONFIG = compile_config(load_config_dir(ROOT / "config"))
FIRES = 400  # the storm's first alerts come between its 200th and 400th reading
CM = {
    "cm": FieldMapping(station="id", kind="k", value="v", ts="t", ts_format="epoch_ms", scale=0.01)
}


class Rig:
    """A `Pipeline` over a store and a dead-letter file in `workdir`, as
    `Service.open` wires it (incidents taken up from the store), recording what
    it announced. A second `Rig` on the same folder is a restart."""

    opened: list[Rig] = []  # closed after each test, passed or failed  # noqa: RUF012

    def __init__(self, workdir: Path, decoders: Decoders | None = None, kafka: bool = False):
        self.db = workdir / "floodwatch.db"
        self.dead_letter = DeadLetter(workdir / "dead-letter.jsonl")
        self.shards = ShardRegistry(CONFIG, kafka=kafka)
        self.announced: list[AlertEvent] = []
        tracker = IncidentTracker(CONFIG.config.stations, CONFIG.config.engine.incidents)
        self.pipeline = Pipeline(
            self.shards, decoders or Decoders(), self.dead_letter, tracker, self.announced.append
        )
        self.store = Store(self.db)
        self.pipeline.store = self.shards.store = self.store
        restore_incidents(tracker, self.store.incidents)
        Rig.opened.append(self)

    def committed(self, sql: str) -> int:
        """What another connection sees: only what the step has committed."""
        with contextlib.closing(sqlite3.connect(self.db)) as other:
            return int(other.execute(sql).fetchone()[0])

    def dead_lettered(self) -> list[dict[str, object]]:
        path = self.dead_letter.path
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def close(self) -> None:
        self.store.close()
        self.dead_letter.close()


@pytest.fixture(autouse=True)
def _close_rigs() -> Iterator[None]:
    yield
    while Rig.opened:
        Rig.opened.pop().close()


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def _messages(n: int, start: int = 0) -> list[Incoming]:
    return [_message(i) for i in range(start, start + n)]


def _keys(events: Sequence[AlertEvent]) -> list[tuple[str, str, str]]:
    return [(e.id, e.transition.value, e.severity.value) for e in events]


def _active(shards: ShardRegistry) -> list[tuple[str, str, int]]:
    return [(a.id, a.severity.value, ts_to_ms(a.since)) for a in shards.active_alerts()]


def test_a_message_is_acknowledged_only_after_its_step_is_committed(rig: Rig) -> None:
    seen: list[tuple[str, int]] = []
    logged = "SELECT count(*) FROM inbox WHERE source = 'mqtt'"
    items = _messages(3)
    for item in items:  # the source's own state goes in the transaction; the ack after it
        item.stored = lambda: seen.append(("stored", rig.committed(logged)))
        item.confirm = lambda: seen.append(("confirm", rig.committed(logged)))
    assert rig.pipeline.step(items) == []
    assert seen == [("stored", 0)] * 3 + [("confirm", 3)] * 3
    assert rig.pipeline.stats.readings == 3 and rig.pipeline.stats.steps == 1


def test_new_transitions_are_announced_after_the_commit_and_only_once(rig: Rig) -> None:
    durable: list[int] = []
    readings: list[int] = []
    rig.pipeline.alert_listeners.append(
        lambda e: durable.append(
            rig.committed(
                f"SELECT count(*) FROM transitions WHERE id = '{e.id}' "
                f"AND transition = '{e.transition.value}' AND ts = {ts_to_ms(e.ts)}"
            )
        )
    )
    rig.pipeline.reading_listeners.append(lambda got: readings.append(len(got)))
    new = rig.pipeline.step(_messages(FIRES))
    assert new and rig.announced == new
    assert durable == [1] * len(new)  # each was in the store when it was announced
    assert readings == [FIRES]
    assert rig.pipeline.stats.alerts_new == len(new)
    stored = rig.committed("SELECT count(*) FROM transitions")
    # A restart with no snapshot replays the whole inbox: the same transitions are
    # computed again, stored already, and announced to nobody.
    rig.close()
    again = Rig(rig.db.parent)
    assert again.pipeline.replay_inbox([]) == FIRES
    assert again.announced == []
    assert again.committed("SELECT count(*) FROM transitions") == stored
    assert _active(again.shards) == _active(rig.shards)
    again.close()


def test_rejects_are_dead_lettered_with_their_reason_and_the_message_acknowledged(
    rig: Rig,
) -> None:
    acked: list[str] = []
    good = _message(0)
    bad = [
        Incoming(b"{not json", "hydro/x/y", "canonical", "mqtt"),
        Incoming(
            json.dumps({**STORM[1].to_json(), "station": "nowhere"}).encode(),
            "hydro/x/y",
            "canonical",
            "mqtt",
        ),
        Incoming(json.dumps(STORM[2].to_json()).encode(), "hydro/x/y", "no-such-format", "mqtt"),
    ]
    for item in (good, *bad):
        item.confirm = lambda item=item: acked.append(item.origin)
    rig.pipeline.step([good, *bad])
    reasons = [str(r["reason"]) for r in rig.dead_lettered()]
    assert sorted(reasons) == ["decode_error", "schema_error", "unknown_station"], reasons
    # a payload refused by the decoder names where it came from; a reading the
    # engine refuses carries the reading itself
    by = {str(r["reason"]): r for r in rig.dead_lettered()}
    assert by["decode_error"]["source"] == by["schema_error"]["source"] == "mqtt:hydro/x/y"
    assert by["unknown_station"]["reading"] == {**STORM[1].to_json(), "station": "nowhere"}
    assert len(acked) == 4  # a reject is recorded: its message is done with
    assert rig.pipeline.stats.rejected == {
        "decode_error": 1,
        "schema_error": 1,
        "unknown_station": 1,
    }
    assert rig.pipeline.stats.readings == 2  # decoded, then refused by the engine
    # each message's live outcome is logged with it (what a replay compares against)
    with contextlib.closing(sqlite3.connect(rig.db)) as db:
        outcomes = db.execute("SELECT readings, rejected FROM inbox WHERE source='mqtt'").fetchall()
    assert outcomes == [(1, 0), (0, 1), (1, 0), (0, 1)]


def test_a_reject_refused_before_decoding_is_dead_lettered_and_counted(rig: Rig) -> None:
    frame = Rejected(RejectReason.BAD_FRAME, "CRC mismatch", raw="7e7e", source="sl651:1.2.3.4")
    rig.pipeline.reject([frame])
    assert [r["reason"] for r in rig.dead_lettered()] == ["bad_frame"]
    assert rig.pipeline.stats.rejected == {"bad_frame": 1}


def test_a_store_failure_mid_step_acknowledges_announces_and_logs_nothing(rig: Rig) -> None:
    """The transitions cannot be written (disk full, I/O error: here a trigger makes
    SQLite refuse them): the step raises, its transaction is rolled back, no message
    is acknowledged and nothing announced. The broker delivers the messages again
    after the restart, and then they are stored and announced."""
    with contextlib.closing(sqlite3.connect(rig.db)) as db:
        db.execute(
            "CREATE TRIGGER full BEFORE INSERT ON transitions "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
        db.commit()
    acked: list[int] = []
    items = _messages(FIRES)
    for item in items:
        item.confirm = lambda: acked.append(1)
    with pytest.raises(sqlite3.DatabaseError, match="disk is full"):
        rig.pipeline.step(items)
    assert acked == [] and rig.announced == []
    assert rig.committed("SELECT count(*) FROM inbox") == 0
    assert rig.pipeline.stats.steps == 0
    # the restart: the disk has room again, the messages come again
    rig.close()
    with contextlib.closing(sqlite3.connect(rig.db)) as db:
        db.execute("DROP TRIGGER full")
        db.commit()
    again = Rig(rig.db.parent)
    assert again.pipeline.replay_inbox([]) == 0
    redelivered = _messages(FIRES)
    for item in redelivered:
        item.confirm = lambda: acked.append(1)
    new = again.pipeline.step(redelivered)
    assert new and again.announced == new and len(acked) == FIRES
    assert again.committed("SELECT count(*) FROM transitions") == len(new)
    again.close()


def test_a_store_failure_mid_step_does_not_move_a_kafka_shard_on(tmp_path: Path) -> None:
    rig = Rig(tmp_path, kafka=True)
    rig.shards.take_shard(rig.shards.new_shard("readings/0", frozenset(CONFIG.stations), 1))
    with contextlib.closing(sqlite3.connect(rig.db)) as db:
        db.execute(
            "CREATE TRIGGER full BEFORE INSERT ON transitions "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
        db.commit()
    with pytest.raises(sqlite3.DatabaseError):
        rig.pipeline.step(_kafka(range(FIRES)))
    assert rig.shards.committable() == {}
    assert rig.shards.live["readings/0"].next_offset == 0
    rig.close()


def _kafka(
    offsets: Iterable[int], partition: int = 0, readings: Sequence[Reading] = STORM
) -> list[Incoming]:
    return [
        Incoming(
            json.dumps(readings[o].to_json()).encode(),
            "readings",
            "canonical",
            "kafka",
            partition=partition,
            offset=o,
        )
        for o in offsets
    ]


def test_kafka_messages_move_their_shard_on_once_stored_and_are_not_fed_twice(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, kafka=True)
    shard = rig.shards.new_shard("readings/0", frozenset(CONFIG.stations), 1)
    rig.shards.take_shard(shard)
    new = rig.pipeline.step(_kafka(range(FIRES)))
    assert new and rig.shards.committable() == {"readings/0": FIRES}
    assert shard.next_offset == FIRES
    assert rig.committed("SELECT count(*) FROM inbox") == 0  # Kafka keeps its own log
    # the same offsets fetched again (a rebalance, a retried fetch): not fed again
    assert rig.pipeline.step(_kafka(range(FIRES - 10, FIRES + 5))) == []
    assert rig.pipeline.stats.readings == FIRES + 5
    assert shard.next_offset == FIRES + 5
    # a batch fetched together: only the part after next_offset is decoded
    batch = Incoming(b"", "readings", "canonical", "kafka", partition=0, offset=FIRES)
    batch.batch = [(o, json.dumps(STORM[o].to_json()).encode()) for o in range(FIRES, FIRES + 20)]
    rig.pipeline.step([batch])
    assert rig.pipeline.stats.readings == FIRES + 20
    assert rig.shards.committable() == {"readings/0": FIRES + 20}
    assert rig.dead_lettered() == []
    rig.close()


def test_a_kafka_message_of_a_revoked_partition_is_left_for_its_next_owner(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, kafka=True)
    rig.shards.take_shard(rig.shards.new_shard("readings/0", frozenset(CONFIG.stations), 2))
    assert rig.pipeline.step(_kafka(range(5), partition=1)) == []
    assert rig.pipeline.stats.readings == 0
    assert rig.shards.committable() == {}
    rig.close()


def test_a_station_keyed_to_another_partition_is_dead_lettered_as_such(tmp_path: Path) -> None:
    rig = Rig(tmp_path, kafka=True)
    mine = frozenset(s for s in CONFIG.stations if s != "xiawu-pond")
    shard = rig.shards.new_shard("readings/0", mine, 2)
    rig.shards.take_shard(shard)
    stray = [i for i, r in enumerate(STORM[:50]) if r.station == "xiawu-pond"]
    assert stray
    rig.pipeline.step(_kafka(range(50)))
    dead = rig.dead_lettered()
    assert [d["reason"] for d in dead] == ["wrong_partition"] * len(stray)
    assert all("xiawu-pond" in str(d["detail"]) for d in dead)
    assert rig.pipeline.stats.readings == 50 - len(stray)
    # the same in a fetched batch: the fast path notices and decodes one by one
    batch = Incoming(b"", "readings", "canonical", "kafka", partition=0, offset=50)
    batch.batch = [(o, json.dumps(STORM[o].to_json()).encode()) for o in range(50, 100)]
    rig.pipeline.step([batch])
    more = sum(1 for r in STORM[50:100] if r.station == "xiawu-pond")
    assert len(rig.dead_lettered()) == len(stray) + more
    # a restart resumes from a snapshot taken before all that (offset 0) with 100
    # committed: offsets below quiet_until were fed (and dead-lettered) already
    resumed = rig.shards.new_shard("readings/0", mine, 2)
    resumed.quiet_until = 100
    rig.shards.take_shard(resumed)
    rig.pipeline.step(_kafka(range(50)))
    batch.batch = [(o, json.dumps(STORM[o].to_json()).encode()) for o in range(50, 110)]
    rig.pipeline.step([batch])
    beyond = sum(1 for r in STORM[100:110] if r.station == "xiawu-pond")
    assert beyond
    assert len(rig.dead_lettered()) == len(stray) + more + beyond
    rig.close()


def test_an_alert_made_outside_the_engine_is_stored_and_announced_once(rig: Rig) -> None:
    rig.pipeline.record_and_announce(None)
    assert rig.announced == []
    events = Engine(CONFIG).process(STORM[:FIRES]).alerts
    drill = events[0]
    rig.pipeline.record_and_announce(drill)
    assert _keys(rig.announced) == _keys([drill])
    assert rig.announced[0].incident is not None  # grouped into an incident as it was stored
    assert rig.committed("SELECT count(*) FROM transitions") == 1
    rig.pipeline.record_and_announce(drill)  # stored already: not announced again
    assert len(rig.announced) == 1


def test_a_replay_runs_each_step_under_the_wall_clock_it_ran_at(tmp_path: Path) -> None:
    live = Rig(tmp_path / "a")
    live.pipeline.step(_messages(FIRES))
    live.close()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    # b: the step is logged as run a day before the readings were taken
    first = int(STORM[0].ts.timestamp() * 1000)
    with contextlib.closing(sqlite3.connect(tmp_path / "b" / "floodwatch.db")) as db:
        db.execute(
            "UPDATE inbox SET payload = ? WHERE source = 'wall'",
            (str(first - 86_400_000).encode(),),
        )
        db.commit()
    same = Rig(tmp_path / "a")
    assert same.pipeline.replay_inbox([]) == FIRES
    assert same.shards.clock_ms() == live.shards.clock_ms()
    assert _active(same.shards) == _active(live.shards)
    earlier = Rig(tmp_path / "b")
    earlier.pipeline.replay_inbox([])
    # under that wall clock every reading was from the future: refused, nothing active
    assert earlier.shards.clock_ms() is None
    assert earlier.shards.active_alerts() == []
    same.close()
    earlier.close()


def test_a_replay_decodes_each_message_with_the_decoder_it_was_decoded_with_live(
    tmp_path: Path,
) -> None:
    def cm(i: int) -> Incoming:
        r = STORM[i]
        doc = {"id": r.station, "k": r.kind, "v": r.value * 100, "t": int(r.ts.timestamp() * 1000)}
        return Incoming(json.dumps(doc).encode(), "vendor/x", "cm", "mqtt")

    live = Rig(tmp_path, Decoders(CM))
    new = live.pipeline.step([cm(i) for i in range(FIRES)])
    assert new
    live.close()
    # the mapping changed meanwhile (metres now): the logged messages still read as cm
    metres = {"cm": CM["cm"].model_copy(update={"scale": 1.0})}
    again = Rig(tmp_path, Decoders(metres))
    assert again.pipeline.replay_inbox([]) == FIRES
    assert _active(again.shards) == _active(live.shards)
    assert again.dead_lettered() == []
    assert again.pipeline.replay_decoders == {}  # cleared once the replay is done
    again.close()


def test_a_replayed_message_that_decodes_differently_is_dead_lettered_as_replayed(
    tmp_path: Path,
) -> None:
    live = Rig(tmp_path)
    live.pipeline.step([_message(0), Incoming(b"{oops", "hydro/x/y", "canonical", "mqtt")])
    assert len(live.dead_lettered()) == 1
    live.close()
    # replayed as logged: its reject was dead-lettered live, not again
    again = Rig(tmp_path)
    again.pipeline.replay_inbox([])
    assert len(again.dead_lettered()) == 1
    again.close()
    # a row whose live outcome says otherwise (written by a release that decoded it)
    with contextlib.closing(sqlite3.connect(tmp_path / "floodwatch.db")) as db:
        db.execute("UPDATE inbox SET readings = 1, rejected = 0 WHERE payload = ?", (b"{oops",))
        db.commit()
    third = Rig(tmp_path)
    third.pipeline.replay_inbox([])
    dead = third.dead_lettered()
    assert len(dead) == 2
    assert dead[1]["reason"] == "decode_error"
    assert dead[1]["source"] == "inbox:mqtt:hydro/x/y"
    assert str(dead[1]["detail"]).endswith("(replayed from the inbox)")
    third.close()


def test_a_replay_repeats_the_steps_as_they_were_batched(tmp_path: Path) -> None:
    """Steps are repeated one by one: the engine sees the same batches, so the
    same transitions come out in the same order."""
    live = Rig(tmp_path)
    new: list[AlertEvent] = []
    for start in range(0, 600, 37):
        new += live.pipeline.step(_messages(min(37, 600 - start), start))
    live.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "floodwatch.db")) as db:
        batches = db.execute("SELECT count(DISTINCT batch) FROM inbox").fetchone()[0]
        db.execute("DELETE FROM transitions")
        db.execute("DELETE FROM active")
        db.execute("DELETE FROM incidents")
        db.execute("DELETE FROM incident_changes")
        db.commit()
    assert batches == len(range(0, 600, 37))
    again = Rig(tmp_path)
    again.pipeline.replay_inbox([])  # stored before the crash? no: announced now
    assert _keys(again.announced) == _keys(new)
    again.close()


def test_readings_are_counted_by_the_source_that_brought_them(rig: Rig) -> None:
    """One step takes MQTT and SL 651 messages together (both feed the local
    shard): `floodwatch_readings_total{source}` counts each source's own."""
    sl651 = Incoming(
        json.dumps([r.to_json() for r in STORM[1:4]]).encode(), "sl651/0033018201", "batch", "sl651"
    )
    rig.pipeline.step([_message(0), sl651, _message(4)])
    assert rig.pipeline.stats.readings_by_source == {"mqtt": 2, "sl651": 3}
    assert rig.pipeline.stats.received == {"mqtt": 2, "sl651": 1}
    assert rig.pipeline.stats.readings == 5


def test_a_tick_moves_the_clock_after_the_readings_of_its_step_and_is_no_input(
    rig: Rig,
) -> None:
    rig.pipeline.step(_messages(100))
    clock = rig.shards.clock_ms()
    assert clock is not None
    quiet_since = rig.pipeline.last_input
    # readings and a tick in one step: the readings first, then the clock to the tick
    target = clock + 6 * 3600_000
    rig.pipeline.step([*_messages(5, 100), Tick(LOCAL, target)])
    assert rig.shards.clock_ms() == target
    assert rig.dead_lettered() == []  # not one of them late against the tick's clock
    assert rig.pipeline.last_input > quiet_since
    with contextlib.closing(sqlite3.connect(rig.db)) as db:
        last = db.execute("SELECT source, payload FROM inbox ORDER BY seq DESC LIMIT 1").fetchone()
    assert last == ("tick", str(target).encode())
    # a tick alone is no input: the idle timer keeps running from the last reading
    quiet_since = rig.pipeline.last_input
    rig.pipeline.step([Tick(LOCAL, target + 60_000)])
    assert rig.pipeline.last_input == quiet_since
    assert rig.shards.clock_ms() == target + 60_000
    # a tick for a shard this process does not feed (revoked meanwhile) does nothing
    assert rig.pipeline.step([Tick("readings/3", target + 120_000)]) == []
    assert rig.shards.clock_ms() == target + 60_000
