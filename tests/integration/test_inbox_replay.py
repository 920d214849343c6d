"""A restart after a crash replays the inbox to exactly the engine state the
crashed process had, whatever the topic carried and however the service is
configured by the time it comes back; an older store's inbox is migrated.

The messages go through the service's own processing step (decode, engine,
store, inbox) as MQTT messages do; "a crash" is a service that is never
closed (no final snapshot, the inbox not pruned)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from floodwatch.config.topics import compile_topic, route
from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.service import inbox
from floodwatch.service.run import Service
from floodwatch.sim import simulate
from floodwatch.store import inbox as tables
from tests.integration.services import expected_transitions, service_config, stored_transitions

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings


def _config(tmp_path: Path) -> Path:
    return service_config(tmp_path, mqtt_port=1883)  # never connected: the topics matter


def _topic_addressed(readings: list[Reading]) -> list[Incoming]:
    """Gauges publishing on hydro/{station}/{kind} with only value and time."""
    patterns = [(compile_topic("hydro/{station}/{kind}"), "canonical")]
    items = []
    for r in readings:
        topic = f"hydro/{r.station}/{r.kind}"
        fmt, fields = route(patterns, topic)
        payload = json.dumps({"value": r.value, "ts": r.to_json()["ts"]}).encode()
        items.append(Incoming(payload, topic, fmt, "mqtt", fields))
    return items


def _steps(service: Service, items: list[Incoming], size: int = 50) -> None:
    for start in range(0, len(items), size):
        service.step(items[start : start + size])


def _dead_letter(workdir: Path) -> list[dict[str, str]]:
    text = (workdir / "var" / "dead-letter.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def _state(service: Service) -> tuple[object, ...]:
    engine = service.engine
    return (engine.clock, sorted(a.id for a in engine.active_alerts()))


def test_a_crash_with_topic_addressed_messages_restarts_where_it_was(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    items = _topic_addressed(STORM)
    cut = len(items) * 2 // 3
    crashed = Service(load_config_dir(cfg))
    crashed.open()
    _steps(crashed, items[: cut // 2])
    crashed.write_snapshot()  # the last snapshot; the inbox holds what came after
    _steps(crashed, items[cut // 2 : cut])
    before = _state(crashed)
    assert before[0] is not None and before[1], "the storm was under way"
    assert crashed.store is not None
    crashed.store.close()  # kill -9: no final snapshot
    restarted = Service(load_config_dir(cfg))
    restarted.open()
    assert _state(restarted) == before
    assert restarted.stats.replayed == cut - cut // 2
    _steps(restarted, items[cut:])
    restarted.close()
    assert stored_transitions(tmp_path / "var" / "floodwatch.db") == expected_transitions(
        cfg, STORM
    )
    assert not (tmp_path / "var" / "dead-letter.jsonl").exists()


def test_a_replay_decodes_with_the_mapping_in_force_when_the_message_came(
    tmp_path: Path,
) -> None:
    """The operator edits a field mapping while the service is down: the inbox
    rows still decode as they did (the new mapping applies to new messages)."""
    cfg = _config(tmp_path)
    path = cfg / "service.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["service"]["mappings"] = {"cm": {"value": "stage_cm", "scale": 0.01}}
    doc["service"]["mqtt"]["topics"] = [{"pattern": "rtu/#", "format": "cm"}]
    path.write_text(yaml.safe_dump(doc))
    readings = [r for r in STORM if r.kind == "level"]
    items = [
        Incoming(
            json.dumps({**r.to_json(), "stage_cm": round(r.value * 100), "value": None}).encode(),
            "rtu/x",
            "cm",
            "mqtt",
            {},
        )
        for r in readings
    ]
    crashed = Service(load_config_dir(cfg))
    crashed.open()
    _steps(crashed, items)
    before = _state(crashed)
    assert crashed.store is not None
    crashed.store.close()
    doc["service"]["mappings"]["cm"]["scale"] = 1.0  # edited while down
    path.write_text(yaml.safe_dump(doc))
    restarted = Service(load_config_dir(cfg))
    restarted.open()
    assert _state(restarted) == before and before[1]
    restarted.close()


V1 = """
CREATE TABLE inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, batch INTEGER NOT NULL, source TEXT NOT NULL,
    topic TEXT NOT NULL, format TEXT NOT NULL, payload BLOB NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def test_an_older_store_is_migrated_and_its_inbox_replayed_with_fields_from_the_topic(
    tmp_path: Path,
) -> None:
    cfg = _config(tmp_path)
    db = tmp_path / "var" / "floodwatch.db"
    db.parent.mkdir(parents=True)
    items = _topic_addressed(STORM[:600])
    items.append(Incoming(b'{"value": 1.0}', "somewhere/else", "canonical", "mqtt"))
    with sqlite3.connect(db) as conn:  # what the previous release wrote
        conn.executescript(V1)
        conn.executemany(
            "INSERT INTO inbox (batch, source, topic, format, payload) VALUES (?,?,?,?,?)",
            [(1 + n // 50, "mqtt", i.topic, i.fmt, i.payload) for n, i in enumerate(items)],
        )
    conn.close()
    service = Service(load_config_dir(cfg))
    service.open()
    reference = Service(load_config_dir(_config(tmp_path / "reference")))
    reference.open()
    _steps(reference, items[:-1])
    assert _state(service) == _state(reference)
    assert service.store is not None
    assert service.store.meta(tables.VERSION_KEY) == str(tables.VERSION)
    service.close()
    reference.close()
    # How the old row without topic fields decoded was never recorded: its
    # reject is dead-lettered now, marked as a replay.
    dead = _dead_letter(tmp_path)
    assert [(d["reason"], d["source"]) for d in dead] == [
        ("bad_topic", "inbox:mqtt:somewhere/else")
    ]
    assert "(replayed from the inbox)" in dead[0]["detail"]


def test_a_replayed_message_that_now_fails_is_dead_lettered_with_its_reason(
    tmp_path: Path,
) -> None:
    cfg = _config(tmp_path)
    service = Service(load_config_dir(cfg))
    service.open()
    assert service.store is not None
    item = _topic_addressed(STORM[:1])[0]
    entry = inbox.entry(item, service.decoders)
    with service.store.transaction():  # recorded as one reading live, but the bytes differ
        service.store.inbox.log(
            [tables.Entry(**{**entry.__dict__, "payload": b'{"value": 1', "outcome": (1, 0)})]
        )
    service.store.close()
    restarted = Service(load_config_dir(cfg))
    restarted.open()
    restarted.close()
    dead = _dead_letter(tmp_path)
    assert [d["reason"] for d in dead] == ["decode_error"]
    assert dead[0]["source"] == f"inbox:mqtt:{item.topic}"


def test_an_inbox_row_whose_decoder_cannot_be_read_is_decoded_with_todays(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = _config(tmp_path)
    service = Service(load_config_dir(cfg))
    service.open()
    assert service.store is not None
    item = _topic_addressed(STORM[:1])[0]
    entry = inbox.entry(item, service.decoders)
    unreadable = {"format": "canonical", "max_payload": "a lot", "mapping": None}
    with service.store.transaction():
        service.store.inbox.log([tables.Entry(**{**entry.__dict__, "decoder": ("x", unreadable)})])
    service.store.close()
    restarted = Service(load_config_dir(cfg))
    restarted.open()
    assert restarted.stats.replayed == 1 and restarted.stats.readings == 1
    assert "its decoder cannot be read" in caplog.text
    restarted.close()


def test_a_timed_snapshot_is_written_aside_and_prunes_the_inbox_only_once_durable(
    tmp_path: Path,
) -> None:
    cfg = _config(tmp_path)
    items = _topic_addressed(STORM)
    third = len(items) // 3
    service = Service(load_config_dir(cfg))
    service.open()
    assert service.store is not None
    _steps(service, items[:third])
    service.snapshots.last = 0.0  # due
    service.maybe_snapshot()  # captured now, written in a thread
    covered = service.inbox_seq
    _steps(service, items[third : 2 * third])  # steps go on meanwhile
    assert service.store.inbox.after(0).__next__().seq <= covered  # not pruned yet
    writing = service.snapshots.in_flight
    assert writing is not None
    writing.result(timeout=10)
    service.maybe_snapshot()  # durable: the rows it covers go
    assert min(r.seq for r in service.store.inbox.after(0)) > covered
    before = _state(service)
    service.store.close()  # kill -9 after the timed snapshot
    restarted = Service(load_config_dir(cfg))
    restarted.open()
    assert _state(restarted) == before
    assert restarted.stats.replayed == third
    restarted.close()
