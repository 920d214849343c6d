"""What people did about alerts, kept in the store: silences, acknowledgements,
calls (叫应), follow-ups, reminders and the village broadcast state.

These tables live in the service's SQLite database next to the alert ledger
and the outbox, so the CLI (`floodwatch silence`, `floodwatch ack`) and the
running service (which reads them every second) share them: WAL lets one
process write while another reads. Their schema is made by
`store/migrations.py` (step 3 and later steps).
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from floodwatch.config.models import Station
from floodwatch.notify.rosters import Recipient, villages_of


@dataclass(frozen=True)
class Silence:
    """Alerts matching every given field are recorded and shown but not sent."""

    id: str
    starts: float
    ends: float
    author: str
    reason: str
    stations: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    villages: list[str] = field(default_factory=list)
    towns: list[str] = field(default_factory=list)

    def covers(self, rule: str, station: str, villages: list[str], town: str | None) -> bool:
        if self.stations and station not in self.stations:
            return False
        if self.rules and rule not in self.rules:
            return False
        if self.villages and not set(villages) & set(self.villages):
            return False
        return not (self.towns and town not in self.towns)

    def active(self, now: float) -> bool:
        return self.starts <= now < self.ends

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "starts": self.starts,
            "ends": self.ends,
            "author": self.author,
            "reason": self.reason,
            "stations": self.stations,
            "rules": self.rules,
            "villages": self.villages,
            "towns": self.towns,
        }


@dataclass(frozen=True)
class Call:
    alert: str
    recipient: Recipient
    tier: int
    called_at: float
    answered_at: float | None


class Ledger:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    # -- silences -----------------------------------------------------------------

    def add_silence(
        self,
        *,
        starts: float,
        ends: float,
        author: str,
        reason: str,
        stations: Iterable[str] = (),
        rules: Iterable[str] = (),
        villages: Iterable[str] = (),
        towns: Iterable[str] = (),
    ) -> Silence:
        if ends <= starts:
            raise ValueError("a silence must end after it starts")
        matchers = {
            "stations": list(stations),
            "rules": list(rules),
            "villages": list(villages),
            "towns": list(towns),
        }
        if not any(matchers.values()):
            raise ValueError("a silence needs at least one station, rule, village or town")
        silence = Silence(uuid.uuid4().hex[:12], starts, ends, author, reason, **matchers)
        self.db.execute(
            "INSERT INTO silences VALUES (?,?,?,?,?,?,?)",
            (silence.id, json.dumps(matchers), starts, ends, author, reason, time.time()),
        )
        return silence

    def end_silence(self, silence_id: str, now: float) -> bool:
        cur = self.db.execute(
            "UPDATE silences SET ends = ? WHERE id = ? AND ends > ?", (now, silence_id, now)
        )
        return cur.rowcount > 0

    def silences(self, now: float | None = None) -> list[Silence]:
        """All silences, or those in force at `now`."""
        rows = self.db.execute(
            "SELECT id, matchers, starts, ends, author, reason FROM silences ORDER BY starts, id"
        ).fetchall()
        out = [Silence(r[0], r[2], r[3], r[4], r[5], **json.loads(r[1])) for r in rows]
        return out if now is None else [s for s in out if s.active(now)]

    def silenced_by(
        self, model: Station | None, rule: str, station: str, now: float
    ) -> Silence | None:
        villages = villages_of(model)
        town = model.town.code if model is not None and model.town else None
        for silence in self.silences(now):
            if silence.covers(rule, station, villages, town):
                return silence
        return None

    # -- acknowledgements and calls -----------------------------------------------

    def acknowledge(self, alert: str, by: str, via: str, comment: str, now: float) -> None:
        """Record an acknowledgement; it ends the call-and-answer of the alert."""
        self.db.execute("INSERT INTO acks VALUES (?,?,?,?,?)", (alert, by, via, comment, now))
        self.db.execute(
            "UPDATE follow SET state = 'answered', next_at = NULL WHERE alert = ? "
            "AND state = 'calling'",
            (alert,),
        )

    def acks(self, alert: str) -> list[dict[str, object]]:
        rows = self.db.execute(
            "SELECT by, via, comment, at FROM acks WHERE alert = ? ORDER BY at", (alert,)
        ).fetchall()
        return [{"by": r[0], "via": r[1], "comment": r[2], "at": r[3]} for r in rows]

    def acknowledged(self, alert: str) -> bool:
        """Whether someone acknowledged the alert (or incident) since it was last
        raised (fired or escalated; an incident also when a gauge of it is lost):
        a warning raised to red after an orange was acknowledged must be
        answered again."""
        return self.current_ack(alert) is not None

    def current_ack(self, alert: str) -> dict[str, object] | None:
        """The latest acknowledgement since the alert was last raised, if any."""
        row = self.db.execute(
            "SELECT by, via, comment, at FROM acks WHERE alert = ? AND at * 1000 >= max("
            "coalesce((SELECT max(stored_at) FROM transitions WHERE id = ? "
            "AND transition IN ('firing', 'escalated')), 0), "
            "coalesce((SELECT max(stored_at) FROM incident_changes WHERE id = ? "
            "AND change IN ('raised', 'escalated', 'lost_observation')), 0)) "
            "ORDER BY at DESC LIMIT 1",
            (alert, alert, alert),
        ).fetchone()
        return (
            None if row is None else {"by": row[0], "via": row[1], "comment": row[2], "at": row[3]}
        )

    def record_call(self, alert: str, recipient: Recipient, tier: int, now: float) -> None:
        """A person called (again): unanswered until they answer this call."""
        self.db.execute(
            "INSERT INTO calls VALUES (?,?,?,?,?,NULL) ON CONFLICT (alert, person) DO UPDATE "
            "SET recipient = excluded.recipient, tier = excluded.tier, "
            "called_at = excluded.called_at, answered_at = NULL",
            (alert, recipient.person, json.dumps(recipient.__dict__), tier, now),
        )

    def open_calls(self, person: str) -> list[str]:
        """The alerts `person` was called about and has not answered."""
        rows = self.db.execute(
            "SELECT DISTINCT alert FROM calls WHERE person = ? AND answered_at IS NULL", (person,)
        )
        return [str(r[0]) for r in rows]

    def answer(self, person: str, now: float, alert: str | None = None) -> list[str]:
        """A person answered (all their open calls, or one alert's); the alerts
        answered."""
        sql = "SELECT alert FROM calls WHERE person = ? AND answered_at IS NULL"
        args: tuple[object, ...] = (person,)
        if alert is not None:
            sql += " AND alert = ?"
            args += (alert,)
        alerts = [r[0] for r in self.db.execute(sql, args).fetchall()]
        for a in alerts:
            self.db.execute(
                "UPDATE calls SET answered_at = ? WHERE alert = ? AND person = ?", (now, a, person)
            )
        return alerts

    def calls(self, alert: str) -> list[Call]:
        rows = self.db.execute(
            "SELECT alert, recipient, tier, called_at, answered_at FROM calls WHERE alert = ? "
            "ORDER BY tier, called_at, rowid",
            (alert,),
        ).fetchall()
        return [Call(r[0], Recipient(**json.loads(r[1])), r[2], r[3], r[4]) for r in rows]

    def unanswered(self, alert: str) -> list[Recipient]:
        """Persons called about `alert` who have not answered (the alert is not
        acknowledged by anyone, or they were called after)."""
        if self.acknowledged(alert):
            return []
        return [c.recipient for c in self.calls(alert) if c.answered_at is None]

    # -- call-and-answer progress ---------------------------------------------------

    def follow(self, alert: str) -> tuple[str, int, float | None, str] | None:
        row = self.db.execute(
            "SELECT severity, step, next_at, state FROM follow WHERE alert = ?", (alert,)
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def start_follow(self, alert: str, severity: str, now: float, next_at: float) -> None:
        self.db.execute(
            "INSERT INTO follow VALUES (?,?,?,0,?,'calling') ON CONFLICT (alert) DO UPDATE "
            "SET severity = excluded.severity, started = excluded.started, step = 0, "
            "next_at = excluded.next_at, state = 'calling'",
            (alert, severity, now, next_at),
        )

    def set_follow(self, alert: str, step: int, next_at: float | None, state: str) -> None:
        self.db.execute(
            "UPDATE follow SET step = ?, next_at = ?, state = ? WHERE alert = ?",
            (step, next_at, state, alert),
        )

    def due_follows(self, now: float) -> list[tuple[str, str, int]]:
        rows = self.db.execute(
            "SELECT alert, severity, step FROM follow WHERE state = 'calling' AND next_at <= ? "
            "ORDER BY next_at",
            (now,),
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def close_follow(self, alert: str) -> None:
        self.db.execute(
            "UPDATE follow SET state = 'closed', next_at = NULL WHERE alert = ? "
            "AND state = 'calling'",
            (alert,),
        )

    # -- reminders ------------------------------------------------------------------

    def reminder(self, alert: str, route: int) -> tuple[int, float] | None:
        row = self.db.execute(
            "SELECT count, last_at FROM reminders WHERE alert = ? AND route = ?", (alert, route)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def set_reminder(self, alert: str, route: int, count: int, at: float) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO reminders VALUES (?,?,?,?)", (alert, route, count, at)
        )

    # -- village broadcast state ----------------------------------------------------

    def broadcast_previous(self, village: str, alert: str) -> tuple[str, str] | None:
        """(identifier, sent) of the last message for this alert in this village."""
        row = self.db.execute(
            "SELECT identifier, sent FROM broadcasts WHERE village = ? AND alert = ?",
            (village, alert),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def broadcast_sent(
        self,
        village: str,
        alert: str,
        identifier: str,
        sent: str,
        severity: str,
        event: str,
        active: bool,
        reference: tuple[str, str] | None,
    ) -> None:
        ref_identifier, ref_sent = reference or (None, None)
        self.db.execute(
            "INSERT OR REPLACE INTO broadcasts VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                village,
                alert,
                identifier,
                sent,
                severity,
                event,
                int(active),
                time.time(),
                ref_identifier,
                ref_sent,
            ),
        )

    def broadcast_reference(self, village: str, alert: str) -> tuple[str, str] | None:
        """The `references` the last message of this alert in this village carried."""
        row = self.db.execute(
            "SELECT ref_identifier, ref_sent FROM broadcasts WHERE village = ? AND alert = ?",
            (village, alert),
        ).fetchone()
        return None if row is None or row[0] is None else (row[0], row[1])

    def broadcast_stale(self, before: float) -> list[str]:
        """Villages with a standing warning whose last message is older than `before`."""
        rows = self.db.execute(
            "SELECT village FROM broadcasts GROUP BY village "
            "HAVING max(active) = 1 AND max(at) < ?",
            (before,),
        ).fetchall()
        return [r[0] for r in rows]

    def broadcast_active(self, village: str) -> list[tuple[str, str]]:
        """(alert, event JSON) of the warnings standing in a village."""
        rows = self.db.execute(
            "SELECT alert, event FROM broadcasts WHERE village = ? AND active = 1 ORDER BY at",
            (village,),
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def retained_sent(self, topic: str, payload: bytes, expires: float) -> None:
        """The message just published retained on `topic`: what a box connecting
        now must get (until `expires`, wall clock)."""
        self.db.execute("INSERT OR REPLACE INTO retained VALUES (?,?,?)", (topic, payload, expires))

    def retained(self) -> dict[str, tuple[bytes, float]]:
        """topic → (payload, expires) of every retained broadcast message sent."""
        rows = self.db.execute("SELECT topic, payload, expires FROM retained").fetchall()
        return {r[0]: (bytes(r[1]), float(r[2])) for r in rows}
