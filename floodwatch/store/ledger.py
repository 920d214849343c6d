"""What people did about alerts, kept in the store: silences
(`silences.py`), acknowledgements, calls (叫应), follow-ups and reminders
(`answers.py`), and the village broadcast state (`broadcasts.py`). `Ledger`
is the three over one connection (`Store.people`).

These tables live in the service's SQLite database next to the alert ledger
and the outbox, so the CLI (`floodwatch silence`, `floodwatch ack`) and the
running service (which reads them every second) share them: WAL lets one
process write while another reads. Their schema is made by
`store/migrations.py` (step 3 and later steps).
"""

from __future__ import annotations

import sqlite3

from floodwatch.notify.records import Call, Silence
from floodwatch.store.answers import Answers
from floodwatch.store.broadcasts import Broadcasts
from floodwatch.store.silences import Silences

__all__ = ["Call", "Ledger", "Silence"]


class Ledger(Silences, Answers, Broadcasts):
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
