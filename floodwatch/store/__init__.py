"""The durable store (SQLite, WAL): the only place in floodwatch that speaks SQL.

One repository per concern, each a class over the connection:

- `alerts.py` — `Alerts`: the transition ledger and the active alerts.
- `outbox.py` — `Outbox`: deliveries and their attempts (`Delivery`, `Outgoing`).
- `meta.py` — `Meta`: named values; the writable check.
- `recent.py` — `RecentReadings`: the board's last day of readings.
- `inbox.py` — `Inbox`: MQTT messages since the last snapshot, with all
  their decoding depended on (its own schema version).
- `silences.py`, `answers.py` (acknowledgements, calls, follow-ups,
  reminders), `broadcasts.py` (the village broadcast state) — what people
  did and were told; `ledger.py` — `Ledger`, the three over one connection.
- `incidents.py` — `IncidentStore`: incidents and their changes.
- `sl651.py` — `Sl651Memory`: the SL 651 receiver's stored reports
  (deduplication) and rain counters, across restarts; `GatewayState`, the
  same in a file of its own (`floodwatch sl651-gateway`).
- `migrations.py` — the versioned schema; `db.py` — the connection,
  transactions, a damaged file moved aside.

`Store` opens the file (brings it to the latest schema version) and is the
repositories over its one connection, so callers keep one handle: the alert,
outbox, meta and recent-readings ones by inheritance, `inbox`, `people`
(the ledger), `incidents` and `sl651` as attributes. It is
used from the event loop's thread only: the connection refuses any other.
A database that cannot be opened is moved aside and a new one created; the
service reports it and starts. A command working beside the service opens it
with `Store.existing`: the error is raised and the file left as it is.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path

from floodwatch.notify.records import Delivery, Outgoing, Silence
from floodwatch.store import db as _db
from floodwatch.store import inbox
from floodwatch.store.alerts import Alerts
from floodwatch.store.incidents import IncidentStore
from floodwatch.store.ledger import Ledger
from floodwatch.store.meta import Meta
from floodwatch.store.migrations import OUTBOX_COLUMNS, migrate
from floodwatch.store.outbox import Outbox
from floodwatch.store.recent import RecentReadings
from floodwatch.store.sl651 import Sl651Memory

__all__ = ["OUTBOX_COLUMNS", "Delivery", "Outgoing", "Store"]


class Store(Alerts, Outbox, Meta, RecentReadings):
    def __init__(self, path: Path | str, *, move_aside: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.moved_aside: Path | None = None
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as exc:
            if not move_aside:
                raise
            self.moved_aside = _db.move_aside(self.path, str(exc))
            self.db = self._open()
        self.inbox = inbox.Inbox(self.db)
        self.people = Ledger(self.db)
        self.incidents = IncidentStore(self.db)
        self.sl651 = Sl651Memory(self.db)

    @classmethod
    def existing(cls, path: Path) -> Store:
        """The store at `path` as it is, for a command beside the service
        (`floodwatch silence`, `ack`, …): `sqlite3.DatabaseError` when the
        file is not a floodwatch store (its tables are not made in another
        database), is damaged or from a newer release, and the file is left
        as it is, never moved aside."""
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            probe.execute("SELECT 1 FROM transitions LIMIT 1").fetchall()
        finally:
            probe.close()
        return cls(path, move_aside=False)

    def _open(self) -> sqlite3.Connection:
        db = _db.connect(self.path)
        try:
            migrate(db)
            inbox.migrate(db)
            _db.check(db)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def create_silence(
        self,
        *,
        ends: float,
        author: str,
        reason: str,
        starts: float | None = None,
        stations: Iterable[str] = (),
        rules: Iterable[str] = (),
        villages: Iterable[str] = (),
        towns: Iterable[str] = (),
    ) -> Silence:
        """The one way a silence is made (`floodwatch silence add`, `POST
        /api/silences`): in its own transaction, starting now unless `starts`
        is given. ValueError (with the reason, for the user) when it would end
        before it starts or matches nothing."""
        with self.transaction():
            return self.people.add_silence(
                starts=time.time() if starts is None else starts,
                ends=ends,
                author=author,
                reason=reason,
                stations=stations,
                rules=rules,
                villages=villages,
                towns=towns,
            )

    def close(self) -> None:
        self.db.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return _db.transaction(self.db)
