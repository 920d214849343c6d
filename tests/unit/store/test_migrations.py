"""`store/migrations.py`: the versioned schema. An old database is migrated step
by step (each step once, in order, in its own transaction with its version);
a step that fails leaves the store at the version before it; a store from a
newer release is refused. Also through `Store`: the files earlier releases
made open with their rows kept."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from floodwatch.store import OUTBOX_COLUMNS, Store
from floodwatch.store.db import connect
from floodwatch.store.migrations import LATEST, STEPS, add_columns, migrate, version


def _at(path: Path, reached: int) -> sqlite3.Connection:
    """A store made by a release whose last step was `reached`."""
    db = connect(path)
    for step in STEPS[:reached]:
        step.run(db)
    version(db)
    db.execute("INSERT INTO schema_version VALUES (?)", (reached,))
    return db


def _tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.mark.parametrize("reached", range(LATEST))
def test_an_old_store_gets_each_step_it_lacks_once_in_order(
    tmp_path: Path, reached: int, caplog: pytest.LogCaptureFixture
) -> None:
    db = _at(tmp_path / "fw.db", reached)
    with caplog.at_level(logging.INFO, "floodwatch.store.migrations"):
        assert migrate(db) == reached
    assert version(db) == LATEST
    assert db.execute("SELECT count(*) FROM schema_version").fetchone() == (1,)
    told = [r.getMessage() for r in caplog.records]
    if reached:  # an existing store says which steps it got; a new one is quiet
        assert told == [f"store schema {s.version}: {s.what}" for s in STEPS[reached:]]
    else:
        assert told == []
    assert {"transitions", "outbox", "silences", "incidents", "sl651_seen"} <= _tables(db)
    assert migrate(db) == LATEST  # and nothing more to do
    db.close()


def test_a_step_that_fails_leaves_the_store_at_the_version_before_it(tmp_path: Path) -> None:
    db = _at(tmp_path / "fw.db", 3)
    db.execute("DROP TABLE active")
    db.execute("CREATE VIEW active AS SELECT * FROM meta")  # step 4 cannot add its column
    with pytest.raises(sqlite3.OperationalError):
        migrate(db)
    assert version(db) == 3
    assert "incidents" not in _tables(db)  # made by the same step: rolled back with it
    db.close()


def test_a_newer_version_is_refused_as_unreadable(tmp_path: Path) -> None:
    db = _at(tmp_path / "fw.db", LATEST)
    db.execute("UPDATE schema_version SET version = ?", (LATEST + 3,))
    with pytest.raises(sqlite3.DatabaseError, match=f"version {LATEST + 3} is newer"):
        migrate(db)
    db.close()


def test_add_columns_adds_only_the_missing_ones(tmp_path: Path) -> None:
    db = connect(tmp_path / "x.db")
    db.execute("CREATE TABLE t (a TEXT, b TEXT)")
    db.execute("INSERT INTO t VALUES ('1', '2')")
    add_columns(db, "t", {"b": "TEXT", "c": "TEXT NOT NULL DEFAULT 'x'"})
    add_columns(db, "t", {"c": "TEXT NOT NULL DEFAULT 'x'"})  # twice: nothing more
    assert [r[1] for r in db.execute("PRAGMA table_info(t)")] == ["a", "b", "c"]
    assert db.execute("SELECT * FROM t").fetchall() == [("1", "2", "x")]
    db.close()


SESSION_3_OUTBOX = """
CREATE TABLE outbox (
    key TEXT PRIMARY KEY, destination TEXT NOT NULL, event TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL, next_at REAL NOT NULL,
    last_error TEXT, created REAL NOT NULL, done_at REAL
);
INSERT INTO outbox VALUES ('k1', 'duty', '{}', 'pending', 0, 0, NULL, 0, NULL);
"""


def test_an_older_outbox_gets_the_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "fw.db"
    with sqlite3.connect(path) as db:
        db.executescript(SESSION_3_OUTBOX)
    store = Store(path)
    columns = {row[1] for row in store.db.execute("PRAGMA table_info(outbox)")}
    assert set(OUTBOX_COLUMNS) <= columns
    indexes = {row[1] for row in store.db.execute("PRAGMA index_list(outbox)")}
    assert {"outbox_alert", "outbox_recipient"} <= indexes
    assert [d.key for d in store.due("duty", 1.0)] == ["k1"]  # still to be delivered
    assert store.moved_aside is None
    assert version(store.db) == LATEST  # every step run on it
    store.close()


def test_finished_deliveries_are_pruned_but_pending_ones_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "fw.db")
    rows = [  # key, state, created, done_at
        ("old-done", "done", 100, 110),
        ("old-dead", "dead", 100, 120),
        ("old-silenced", "silenced", 100, None),
        ("old-pending", "pending", 100, None),
        ("new-done", "done", 900, 910),
    ]
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO outbox (key, destination, event, state, attempts, next_at, created, "
            "done_at) VALUES (?, 'sms', '{}', ?, 1, 0, ?, ?)",
            rows,
        )
        db.executemany(
            "INSERT INTO attempts VALUES (?, ?, 'done', NULL)",
            [("old-done", 110), ("new-done", 910)],
        )
    assert store.prune_deliveries(before=500) == 3
    assert [r["key"] for r in store.outbox()] == ["old-pending", "new-done"]
    assert store.db.execute("SELECT key FROM attempts").fetchall() == [("new-done",)]
    store.close()


OLD_ALERTS = """
CREATE TABLE transitions (
    id TEXT NOT NULL, transition TEXT NOT NULL, severity TEXT NOT NULL, ts INTEGER NOT NULL,
    rule TEXT NOT NULL, station TEXT NOT NULL, status TEXT NOT NULL,
    event TEXT NOT NULL, stored_at INTEGER NOT NULL,
    PRIMARY KEY (id, transition, severity, ts)
);
CREATE TABLE active (
    id TEXT PRIMARY KEY, rule TEXT NOT NULL, station TEXT NOT NULL,
    severity TEXT NOT NULL, since INTEGER NOT NULL, event TEXT NOT NULL
);
"""


def test_a_store_from_before_incidents_opens_and_its_alerts_still_load(tmp_path: Path) -> None:
    import json

    from floodwatch.alerts.event import AlertEvent
    from floodwatch.notify.sinks import load_config_dir
    from floodwatch.rules.incidents.tracker import IncidentTracker
    from floodwatch.service.incidents import restore

    old = {
        "id": "maokeng-pond:pond-level:abc",
        "rule": "pond-level",
        "kind": "level",
        "station": "maokeng-pond",
        "station_name": "毛坑山塘",
        "severity": "orange",
        "previous_severity": None,
        "transition": "firing",
        "ts": "2026-07-07T06:00:00Z",
        "episode_start": "2026-07-07T06:00:00Z",
        "value": 311.6,
        "threshold": 311.6,
        "unit": "m",
        "message_zh": "",
        "message_en": "",
        "details": {},
    }  # fmt: skip  (an event as stored before incidents: no `incident`, no `silenced`)
    path = tmp_path / "fw.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_ALERTS)
        db.execute("INSERT INTO transitions VALUES (?,?,?,?,?,?,?,?,?)",
                   (old["id"], "firing", "orange", 1, "pond-level", "maokeng-pond", "actual",
                    json.dumps(old), 1))  # fmt: skip
        db.execute(
            "INSERT INTO active VALUES (?,?,?,?,?,?)",
            (old["id"], "pond-level", "maokeng-pond", "orange", 1, json.dumps(old)),
        )
    store = Store(path)
    for table in ("transitions", "active"):
        assert "incident" in {row[1] for row in store.db.execute(f"PRAGMA table_info({table})")}
    assert store.incidents.list(active=True) == []
    [event] = [AlertEvent.from_json(e) for e in store.active()]
    assert event.incident is None and event.silenced is False
    config = load_config_dir("config")
    tracker = IncidentTracker(config.config.stations, config.config.engine.incidents)
    restore(tracker, store.incidents)  # an alert outside any incident: nothing open
    assert tracker.open == {}
    store.close()
    assert Store(path).moved_aside is None  # and again: the migration is idempotent


PREVIOUS = Path(__file__).parent / "data" / "store-before-versions.sql"  # `.dump` of one
TABLES = ("transitions", "active", "meta", "outbox", "attempts", "acks", "silences",
          "incidents", "incident_changes")  # fmt: skip


def _counts(db: sqlite3.Connection) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def test_a_store_of_the_release_before_versions_is_upgraded_in_place(tmp_path: Path) -> None:
    """The file the previous release made (a storm's alerts, an incident, two
    deliveries, an acknowledgement, a silence; no `schema_version`) gets every
    step and keeps every row."""

    path = tmp_path / "fw.db"
    with sqlite3.connect(path) as db:
        db.executescript(PREVIOUS.read_text())
        before = _counts(db)
    assert before["transitions"] > 10 and before["outbox"] == 2 and before["acks"] == 1
    store = Store(path)
    assert store.moved_aside is None
    assert version(store.db) == LATEST
    assert _counts(store.db) == before
    assert "recent_readings" in {r[0] for r in store.db.execute("SELECT name FROM sqlite_master")}
    assert [d.destination for d in store.due("sms", 4e9)] == ["sms"]  # one still to deliver
    assert len(store.active()) == before["active"]
    people = store.people
    assert [s.reason for s in people.silences(1_900_000_000.0)] == ["检修"]
    store.close()
    again = Store(path)  # nothing left to do
    assert version(again.db) == LATEST and _counts(again.db) == before
    assert again.db.execute("SELECT count(*) FROM schema_version").fetchone() == (1,)
    again.close()


def test_a_new_store_is_made_at_the_latest_version_step_by_step(tmp_path: Path) -> None:
    assert [s.version for s in STEPS] == list(range(1, LATEST + 1))  # numbered, none skipped
    store = Store(tmp_path / "fw.db")
    assert version(store.db) == LATEST
    store.close()


def test_a_store_from_a_newer_release_is_moved_aside_not_rewritten(tmp_path: Path) -> None:

    path = tmp_path / "fw.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = ?", (LATEST + 1,))
    store = Store(path)
    assert store.moved_aside is not None and store.moved_aside.exists()
    with sqlite3.connect(store.moved_aside) as db:  # kept as it was
        assert db.execute("SELECT version FROM schema_version").fetchone() == (LATEST + 1,)
    store.close()
