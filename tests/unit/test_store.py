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
