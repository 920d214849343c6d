"""Incidents in the store (schema: `store/migrations.py` step 4).

- `incidents`: one row per incident: head station, status, severity, state
  (`active` / `cleared`), start, last change, the current notice (the
  people-facing event of its last change, `rules/incidents/text.py`).
- `incident_changes`: every change (raised, escalated, downgraded,
  all_clear, lost_observation), keyed like transitions, idempotent: a change
  recorded again (stored before) leaves the incident as it is, so a replayed
  `raised` never reopens an incident cleared since.
- `transitions.incident`, `active.incident`: the incident of each alert
  transition (NULL for rows stored before incidents: outside any incident).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import msgspec

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Status
from floodwatch.readings import ts_to_ms
from floodwatch.rules.incidents.tracker import Change, Incident, IncidentChange

_encode = msgspec.json.Encoder()


class IncidentStore:
    """Incidents and their changes; which incident an alert is in."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def record(self, changes: Iterable[IncidentChange], notices: Iterable[AlertEvent],
               at: float) -> None:  # fmt: skip
        now = int(at * 1000)
        for change, note in zip(changes, notices, strict=True):
            body = _encode.encode(note.to_json()).decode()
            ts = ts_to_ms(change.ts)
            cur = self.db.execute(
                "INSERT OR IGNORE INTO incident_changes VALUES (?,?,?,?,?,?)",
                (change.incident, change.change.value, change.severity.value, ts, now, body),
            )
            if not cur.rowcount:  # stored before: the incident has moved on from it already
                continue
            state = "cleared" if change.change is Change.ALL_CLEAR else "active"
            self.db.execute(
                "INSERT INTO incidents VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
                "severity = excluded.severity, state = excluded.state, "
                "updated = excluded.updated, event = excluded.event",
                (change.incident, change.station, change.status.value, change.severity.value,
                 state, ts_to_ms(change.started), ts, body),
            )  # fmt: skip

    def open_incidents(self) -> list[Incident]:
        rows = self.db.execute(
            "SELECT id, station, status, started, severity FROM incidents WHERE state = 'active'"
        ).fetchall()
        return [Incident(r[0], r[1], Status(r[2]), r[3], Severity(r[4])) for r in rows]

    def notice(self, incident: str) -> AlertEvent | None:
        """The current notice of an active incident (None once cleared)."""
        row = self.db.execute(
            "SELECT event FROM incidents WHERE id = ? AND state = 'active'", (incident,)
        ).fetchone()
        return None if row is None else AlertEvent.from_json(msgspec.json.decode(row[0]))

    def incident_of(self, alert: str) -> str | None:
        """The incident an alert belongs (or belonged) to."""
        row = self.db.execute(
            "SELECT incident FROM transitions WHERE id = ? AND incident IS NOT NULL "
            "ORDER BY ts DESC LIMIT 1",
            (alert,),
        ).fetchone()
        return None if row is None else str(row[0])

    def restorable(self) -> tuple[list[Incident], list[AlertEvent]]:
        """The open incidents and the active alerts (a tracker takes up from them)."""
        active = [
            AlertEvent.from_json(msgspec.json.decode(r[0]))
            for r in self.db.execute("SELECT event FROM active ORDER BY since, id")
        ]
        return self.open_incidents(), active

    def stored(self, e: AlertEvent) -> bool:
        """Whether this transition is stored already."""
        row = self.db.execute(
            "SELECT 1 FROM transitions WHERE id = ? AND transition = ? AND severity = ? AND ts = ?",
            (e.id, e.transition.value, e.severity.value, ts_to_ms(e.ts)),
        ).fetchone()
        return row is not None

    def exists(self, ident: str) -> bool:
        """An incident or an alert of that id was stored."""
        for table in ("incidents", "transitions"):
            if self.db.execute(f"SELECT 1 FROM {table} WHERE id = ? LIMIT 1", (ident,)).fetchone():
                return True
        return False

    def covered(self, ident: str) -> list[str]:
        """What acknowledging `ident` acknowledges: an incident and every alert
        active in it; an alert and its incident (which ends the incident's
        call-and-answer)."""
        if self.db.execute("SELECT 1 FROM incidents WHERE id = ?", (ident,)).fetchone():
            return [ident, *self.alert_ids(ident)]
        incident = self.incident_of(ident)
        return [ident] if incident is None else [ident, incident]

    def alert_ids(self, incident: str) -> list[str]:
        """The alerts active in an incident now."""
        rows = self.db.execute("SELECT id FROM active WHERE incident = ?", (incident,))
        return [r[0] for r in rows]

    def list(self, *, active: bool = True, limit: int = 200) -> list[dict[str, object]]:
        """Incidents (the active ones, or all, newest first), each with its current
        notice and, for an active one, its active alerts worst first."""
        sql = "SELECT id, state, event FROM incidents"
        if active:
            sql += " WHERE state = 'active'"
        rows = self.db.execute(sql + " ORDER BY updated DESC LIMIT ?", (limit,)).fetchall()
        return [self._view(r[0], r[1], r[2]) for r in rows]

    def get(self, incident: str) -> dict[str, object] | None:
        row = self.db.execute(
            "SELECT id, state, event FROM incidents WHERE id = ?", (incident,)
        ).fetchone()
        if row is None:
            return None
        view = self._view(row[0], row[1], row[2])
        changes = self.db.execute(
            "SELECT event FROM incident_changes WHERE id = ? ORDER BY ts, stored_at", (incident,)
        )
        view["changes"] = [msgspec.json.decode(r[0]) for r in changes]
        return view

    def _view(self, ident: str, state: str, body: str) -> dict[str, object]:
        current = msgspec.json.decode(body)
        alerts = [
            msgspec.json.decode(r[0])
            for r in self.db.execute("SELECT event FROM active WHERE incident = ?", (ident,))
        ]
        rank = {s.value: s.rank for s in Severity}
        alerts.sort(key=lambda a: (-rank[a["severity"]], a["ts"]))
        inhibited = set(current.get("details", {}).get("inhibited", []))
        for alert in alerts:
            alert["inhibited"] = alert["id"] in inhibited
        return {
            "id": ident,
            "state": state,
            "station": current["station"],
            "station_name": current["station_name"],
            "severity": current["severity"],
            "status": current["status"],
            "started": current["episode_start"],
            "updated": current["ts"],
            "change": current.get("details", {}).get("change"),
            "worst": current["message_zh"],
            "worst_en": current["message_en"],
            "lead": current.get("details", {}).get("lead"),
            "notice": current,
            "alerts": alerts,
        }
