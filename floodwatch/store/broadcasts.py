"""The village broadcast state: what each village's boxes were last told about
each alert (`broadcasts`, the CAP references of updates and cancels), and the
retained message on each topic (`retained`, re-asserted after a reconnect)."""

from __future__ import annotations

import sqlite3
import time


class Broadcasts:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

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
