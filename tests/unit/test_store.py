"""The store opens a database made by an earlier release and brings it up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from floodwatch.service.store import OUTBOX_COLUMNS, Store

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
    from floodwatch.alerts.incidents import IncidentTracker
    from floodwatch.config import load_config_dir
    from floodwatch.service.incidents import IncidentStore, restore

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
    assert IncidentStore(store.db).list(active=True) == []
    [event] = [AlertEvent.from_json(e) for e in store.active()]
    assert event.incident is None and event.silenced is False
    config = load_config_dir("config")
    tracker = IncidentTracker(config.config.stations, config.config.engine.incidents)
    restore(tracker, store.db)  # an alert outside any incident: nothing open
    assert tracker.open == {}
    store.close()
    assert Store(path).moved_aside is None  # and again: the migration is idempotent
