"""Call-and-answer (叫应): acknowledgements (`acks`), the people called about
an alert and whether they answered (`calls`), each alert's follow-up progress
(`follow`: resends and escalations) and reminders (`reminders`)."""

from __future__ import annotations

import json
import sqlite3

from floodwatch.notify.records import Call, Person
from floodwatch.store.recipients import decode_person, person_json


class Answers:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

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

    def record_call(self, alert: str, recipient: Person, tier: int, now: float) -> None:
        """A person called (again): unanswered until they answer this call."""
        self.db.execute(
            "INSERT INTO calls VALUES (?,?,?,?,?,NULL) ON CONFLICT (alert, person) DO UPDATE "
            "SET recipient = excluded.recipient, tier = excluded.tier, "
            "called_at = excluded.called_at, answered_at = NULL",
            (alert, recipient.person, json.dumps(person_json(recipient)), tier, now),
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
        return [Call(r[0], decode_person(r[1]), r[2], r[3], r[4]) for r in rows]

    def called(self) -> list[str]:
        """Every alert (or incident) anyone was called about, latest call last."""
        rows = self.db.execute("SELECT alert FROM calls GROUP BY alert ORDER BY max(called_at)")
        return [str(r[0]) for r in rows]

    def unanswered(self, alert: str) -> list[Person]:
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
