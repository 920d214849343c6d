"""Alert transitions: the ledger (`transitions`, every transition ever
emitted) and the alerts firing now (`active`).

Recording is `INSERT OR IGNORE` keyed by (alert id, transition, severity,
event time), so an engine that re-computes transitions after a restart
(replaying its inbox or re-reading Kafka) adds nothing twice, and `record`
says which are new — only those are notified. `active` follows the last
transition stored of each alert: a transition recorded again (stored before)
leaves it as it is, so a replayed firing never brings back an alert resolved
since.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable

import msgspec

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Transition
from floodwatch.readings import ts_to_ms

_encode = msgspec.json.Encoder()


class Alerts:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def record(self, events: Iterable[AlertEvent], at: float | None = None) -> list[AlertEvent]:
        """Store transitions (inside a transaction) as stored at wall-clock time
        `at` (default: now); return those not stored before."""
        new = []
        now = int((time.time() if at is None else at) * 1000)
        for e in events:
            body = _encode.encode(e.to_json()).decode()
            ts = ts_to_ms(e.ts)
            cur = self.db.execute(
                "INSERT OR IGNORE INTO transitions (id, transition, severity, ts, rule, station, "
                "status, event, stored_at, incident) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    e.id,
                    e.transition.value,
                    e.severity.value,
                    ts,
                    e.rule,
                    e.station,
                    e.status.value,
                    body,
                    now,
                    e.incident,
                ),
            )
            if not cur.rowcount:  # stored before: `active` has moved on from it already
                continue
            new.append(e)
            if e.transition is Transition.RESOLVED:
                self.db.execute("DELETE FROM active WHERE id = ?", (e.id,))
            else:
                self.db.execute(
                    "INSERT OR REPLACE INTO active (id, rule, station, severity, since, event, "
                    "incident) VALUES (?,?,?,?,?,?,?)",
                    (e.id, e.rule, e.station, e.severity.value, ts_to_ms(e.episode_start), body,
                     e.incident),
                )  # fmt: skip
        return new

    def known(self, alert: str) -> bool:
        """Whether any transition of `alert` is stored."""
        row = self.db.execute("SELECT 1 FROM transitions WHERE id = ? LIMIT 1", (alert,))
        return row.fetchone() is not None

    def transitions(self) -> list[dict[str, object]]:
        rows = self.db.execute("SELECT event FROM transitions ORDER BY ts, id, transition")
        return [msgspec.json.decode(r[0]) for r in rows]

    def history(
        self,
        *,
        stations: list[str] | None = None,
        rule: str | None = None,
        status: str | None = None,
        severities: list[str] | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 500,
    ) -> list[dict[str, object]]:
        """Stored transitions matching every given filter, newest first."""
        where: list[str] = []
        args: list[object] = []
        if stations is not None:
            where.append(f"station IN ({','.join('?' * len(stations))})")
            args += stations
        if rule is not None:
            where.append("rule = ?")
            args.append(rule)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if severities:
            where.append(f"severity IN ({','.join('?' * len(severities))})")
            args += severities
        if since_ms is not None:
            where.append("ts >= ?")
            args.append(since_ms)
        if until_ms is not None:
            where.append("ts <= ?")
            args.append(until_ms)
        sql = "SELECT event FROM transitions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.db.execute(sql + " ORDER BY ts DESC, id LIMIT ?", (*args, limit))
        return [msgspec.json.decode(r[0]) for r in rows]

    def active(self) -> list[dict[str, object]]:
        rows = self.db.execute("SELECT event FROM active ORDER BY since, id")
        return [msgspec.json.decode(r[0]) for r in rows]

    def of_alert(self, alert: str) -> list[dict[str, object]]:
        """Every stored transition of one alert, in event-time order."""
        rows = self.db.execute(
            "SELECT event FROM transitions WHERE id = ? ORDER BY ts, stored_at", (alert,)
        )
        return [msgspec.json.decode(r[0]) for r in rows]

    def rowid(self, event: AlertEvent) -> int | None:
        """The row of a stored transition (the live stream's event id)."""
        row = self.db.execute(
            "SELECT rowid FROM transitions WHERE id = ? AND transition = ? AND severity = ? "
            "AND ts = ?",
            (event.id, event.transition.value, event.severity.value, ts_to_ms(event.ts)),
        ).fetchone()
        return None if row is None else int(row[0])

    def after(self, rowid: int, limit: int) -> list[tuple[int, str]]:
        """(row, event JSON) of the transitions stored after `rowid`, oldest first."""
        return self.db.execute(
            "SELECT rowid, event FROM transitions WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (rowid, limit),
        ).fetchall()

    def is_active(self, alert: str) -> bool:
        return self.db.execute("SELECT 1 FROM active WHERE id = ?", (alert,)).fetchone() is not None

    def active_one(self, alert: str) -> dict[str, object] | None:
        row = self.db.execute("SELECT event FROM active WHERE id = ?", (alert,)).fetchone()
        return None if row is None else msgspec.json.decode(row[0])

    def active_in(self, incident: str) -> list[dict[str, object]]:
        """The active alerts of one incident."""
        rows = self.db.execute("SELECT event FROM active WHERE incident = ?", (incident,))
        return [msgspec.json.decode(r[0]) for r in rows]

    def active_by_severity(self) -> dict[str, int]:
        rows = self.db.execute("SELECT severity, count(*) FROM active GROUP BY severity")
        return {str(severity): int(n) for severity, n in rows}
