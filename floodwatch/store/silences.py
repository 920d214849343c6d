"""`silences`: alerts matching a silence are recorded and shown but not sent
to people (`floodwatch silence`, `POST /api/silences`)."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterable

from floodwatch.config.models import Station
from floodwatch.config.rosters import villages_of
from floodwatch.notify.records import Silence


class Silences:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

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
        """All silences, or those in force at `now` (read each step: the ended
        ones, kept as the record of who silenced what, are left in the table)."""
        sql = "SELECT id, matchers, starts, ends, author, reason FROM silences"
        args: tuple[float, ...] = ()
        if now is not None:
            sql, args = sql + " WHERE ends > ?", (now,)
        rows = self.db.execute(sql + " ORDER BY starts, id", args).fetchall()
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
