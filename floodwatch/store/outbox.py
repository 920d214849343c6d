"""The outbox: every delivery of an alert transition to a destination, and
every attempt (`attempts`).

A delivery is written in the same transaction as the transition it carries;
it stays pending until the destination confirms it (`done`) or refuses it for
good (`dead`). A crash loses none; a restart resends only those not
confirmed, under the same idempotency key. Finished rows are the alert's
history until pruned.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from floodwatch.notify.records import Delivery, Outgoing, Recipient
from floodwatch.store import recipients
from floodwatch.store.db import transaction

_encode = msgspec.json.Encoder()


class Outbox:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def enqueue(self, deliveries: Iterable[Outgoing], state: str = "pending") -> int:
        """Rows to deliver (inside a transaction); `state` 'silenced' records them
        as not to be sent. A key enqueued before is left as it is."""
        now = time.time()
        count = 0
        for i, d in enumerate(deliveries):  # `created` keeps the order given
            body = _encode.encode(d.event.to_json()).decode()
            cur = self.db.execute(
                "INSERT OR IGNORE INTO outbox (key, destination, event, state, attempts, "
                "next_at, created, alert, recipient, note) VALUES (?,?,?,?,0,?,?,?,?,?)",
                (
                    d.key,
                    d.destination,
                    body,
                    state,
                    now + d.after,
                    now + i * 1e-5,
                    d.event.id,
                    recipients.encode(d.recipient),
                    d.note,
                ),
            )
            count += cur.rowcount
        return count

    _DELIVERY = "key, destination, event, attempts, recipient, note, batch, created"

    def due(self, destination: str, now: float, limit: int = 100) -> list[Delivery]:
        rows = self.db.execute(
            f"SELECT {self._DELIVERY} FROM outbox WHERE state = 'pending' "
            "AND destination = ? AND next_at <= ? ORDER BY next_at, created LIMIT ?",
            (destination, now, limit),
        ).fetchall()
        return [_delivery(row) for row in rows]

    def due_in_order(self, destination: str, now: float, limit: int = 100) -> list[Delivery]:
        """The pending rows of a destination in the order they were made, up to
        the first that is not due yet: a row waiting for its retry holds back
        every row made after it (destinations whose order matters). The order
        made is the insertion order (`rowid`), not `created`: the wall clock
        can step back between two enqueues (NTP), an all-clear must not
        overtake its warning."""
        rows = self.db.execute(
            f"SELECT {self._DELIVERY}, next_at FROM outbox WHERE state = 'pending' "
            "AND destination = ? ORDER BY rowid LIMIT ?",
            (destination, limit),
        ).fetchall()
        due = []
        for *row, next_at in rows:
            if next_at > now:
                break
            due.append(_delivery(row))
        return due

    def next_in_order(self, destination: str) -> float | None:
        """When the oldest pending row of a destination is due (see `due_in_order`)."""
        row = self.db.execute(
            "SELECT next_at FROM outbox WHERE state = 'pending' AND destination = ? "
            "ORDER BY rowid LIMIT 1",
            (destination,),
        ).fetchone()
        return None if row is None else float(row[0])

    def deliveries(self) -> list[Delivery]:
        """Every row, whatever its state or destination (tests, inspection)."""
        rows = self.db.execute(f"SELECT {self._DELIVERY} FROM outbox ORDER BY created, key")
        return [_delivery(row) for row in rows.fetchall()]

    def pending_for(self, destination: str, recipient: Recipient | None) -> list[Delivery]:
        """Every pending row of one recipient at one destination, oldest first."""
        rows = self.db.execute(
            f"SELECT {self._DELIVERY} FROM outbox WHERE state = 'pending' "
            "AND destination = ? AND recipient = ? ORDER BY created, key",
            (destination, recipients.encode(recipient)),
        ).fetchall()
        return [_delivery(row) for row in rows]

    def in_batch(self, batch: str) -> list[Delivery]:
        rows = self.db.execute(
            f"SELECT {self._DELIVERY} FROM outbox WHERE batch = ? ORDER BY created, key",
            (batch,),
        ).fetchall()
        return [_delivery(row) for row in rows]

    def set_batch(self, keys: Iterable[str], batch: str) -> None:
        with transaction(self.db) as db:
            db.executemany("UPDATE outbox SET batch = ? WHERE key = ?", [(batch, k) for k in keys])

    def sent_to(self, destination: str, recipient: Recipient | None, since: float) -> int:
        """Messages (batches count once) confirmed to `recipient` since `since`."""
        row = self.db.execute(
            "SELECT count(DISTINCT coalesce(batch, key)) FROM outbox WHERE destination = ? "
            "AND recipient = ? AND state = 'done' AND done_at >= ?",
            (destination, recipients.encode(recipient), since),
        ).fetchone()
        return int(row[0]) if row else 0

    def deliveries_of(self, alert: str) -> list[dict[str, object]]:
        """Every delivery of one alert with its outcome (the alert's timeline)."""
        rows = self.db.execute(
            "SELECT key, destination, recipient, note, state, attempts, last_error, created, "
            "done_at, json_extract(event, '$.transition'), json_extract(event, '$.severity'), "
            "json_extract(event, '$.ts') "
            "FROM outbox WHERE alert = ? ORDER BY created, key",
            (alert,),
        ).fetchall()
        names = ("key", "destination", "recipient", "note", "state", "attempts", "last_error",
                 "created", "done_at", "transition", "severity", "ts")  # fmt: skip
        out = [dict(zip(names, row, strict=True)) for row in rows]
        for delivery in out:
            delivery["recipient"] = recipients.decode(str(delivery["recipient"]))
            delivery["tries"] = [
                {"at": at, "outcome": outcome, "error": error}
                for at, outcome, error in self.db.execute(
                    "SELECT at, outcome, error FROM attempts WHERE key = ? ORDER BY at",
                    (delivery["key"],),
                )
            ]
        return out

    def next_due(self, destination: str) -> float | None:
        row = self.db.execute(
            "SELECT min(next_at) FROM outbox WHERE state = 'pending' AND destination = ?",
            (destination,),
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def delivered(self, keys: Iterable[str], state: str, error: str | None = None) -> None:
        """Final outcome: 'done' (confirmed) or 'dead' (refused for good)."""
        now = time.time()
        keys = list(keys)
        with transaction(self.db) as db:
            db.executemany(
                "INSERT INTO attempts VALUES (?,?,?,?)", [(k, now, state, error) for k in keys]
            )
            db.executemany(
                "UPDATE outbox SET state = ?, last_error = ?, done_at = ?, "
                "attempts = attempts + 1 WHERE key = ?",
                [(state, error, now, key) for key in keys],
            )

    def retry_at(self, keys: Iterable[str], when: float, error: str) -> None:
        keys = list(keys)
        with transaction(self.db) as db:
            db.executemany(
                "INSERT INTO attempts VALUES (?,?,'failed',?)",
                [(k, time.time(), error) for k in keys],
            )
            db.executemany(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? "
                "WHERE key = ?",
                [(when, error, key) for key in keys],
            )

    def prune_deliveries(self, before: float) -> int:
        """Forget finished deliveries (done, dead, silenced) finished or made
        before `before`, with their attempts; pending ones are kept whatever
        their age. Returns how many."""
        with transaction(self.db) as db:
            old = "state != 'pending' AND coalesce(done_at, created) < ?"
            db.execute(
                f"DELETE FROM attempts WHERE key IN (SELECT key FROM outbox WHERE {old})",
                (before,),
            )
            return db.execute(f"DELETE FROM outbox WHERE {old}", (before,)).rowcount

    def retry_now(self, destination: str, now: float) -> None:
        """Rows waiting for a retry (not those held for grouping or a rate
        limit) become due now."""
        with transaction(self.db) as db:
            db.execute(
                "UPDATE outbox SET next_at = ? WHERE state = 'pending' AND destination = ? "
                "AND attempts > 0 AND next_at > ?",
                (now, destination, now),
            )

    def hold(self, keys: Iterable[str], until: float) -> None:
        """Postpone without counting an attempt (a recipient's rate limit)."""
        with transaction(self.db) as db:
            db.executemany(
                "UPDATE outbox SET next_at = ? WHERE key = ?", [(until, key) for key in keys]
            )

    def outbox(self, since: float = 0.0) -> list[dict[str, object]]:
        """Every row made since `since` (wall clock), oldest first."""
        rows = self.db.execute(
            "SELECT key, destination, state, attempts, last_error, recipient, note, batch, "
            "created, done_at, alert FROM outbox WHERE created >= ? ORDER BY created, key",
            (since,),
        ).fetchall()
        names = (
            "key",
            "destination",
            "state",
            "attempts",
            "last_error",
            "recipient",
            "note",
            "batch",
            "created",
            "done_at",
            "alert",
        )
        out = [dict(zip(names, row, strict=True)) for row in rows]
        for row in out:
            row["recipient"] = recipients.decode(str(row["recipient"]))
        return out

    def states_of(self, alert: str) -> dict[str, int]:
        """How many deliveries of one alert are in each state."""
        rows = self.db.execute(
            "SELECT state, count(*) FROM outbox WHERE alert = ? GROUP BY state", (alert,)
        )
        return {str(state): int(n) for state, n in rows}

    def reached(self, alert: str) -> list[tuple[str, Recipient | None]]:
        """(destination, recipient) of every delivery of `alert` not silenced,
        oldest first (who a notice of it reached before)."""
        rows = self.db.execute(
            "SELECT destination, recipient FROM outbox WHERE alert = ? AND state != 'silenced' "
            "ORDER BY created",
            (alert,),
        ).fetchall()
        return [(str(d), recipients.decode(r)) for d, r in rows]

    def held(self, alert: str) -> list[tuple[str, Recipient | None]]:
        """(destination, recipient) of the deliveries of `alert` held by a silence."""
        rows = self.db.execute(
            "SELECT DISTINCT destination, recipient FROM outbox WHERE alert = ? "
            "AND state = 'silenced'",
            (alert,),
        ).fetchall()
        return [(str(d), recipients.decode(r)) for d, r in rows]


def _delivery(row: Sequence[Any]) -> Delivery:
    """A Delivery of a row selected as `Outbox._DELIVERY` (its recipient decoded)."""
    key, destination, event, attempts, recipient, note, batch, created = row
    return Delivery(
        key, destination, event, attempts, recipients.decode(recipient), note, batch, created
    )
