"""The delivery stage's channels: how a round of due rows is sent."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path

from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.notify.channel import OneByOne
from floodwatch.notify.deliver import Deliverer
from floodwatch.notify.outcome import Outcome, Sent
from floodwatch.notify.records import Outgoing
from floodwatch.notify.sinks import notify_settings
from floodwatch.store import Delivery, Store
from floodwatch.testing import compile_yaml, run, series
from tests.conftest import POND

LEVEL_RULE = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    levels: {yellow: {enter: design_flood}}
"""


def test_a_failing_destination_is_tried_once_a_round_not_once_per_waiting_row() -> None:
    """A webhook that never answers costs one timeout before its failure is
    known; the other rows wait for the retry with the same error."""
    tries: list[str] = []

    async def hanging(row: Delivery) -> Outcome:
        tries.append(row.key)
        return Outcome(False, retry=True, error="no answer within 5s")

    due = [Delivery(f"k{n}", "hook", "{}", 0) for n in range(5)]
    sent = asyncio.run(OneByOne(hanging).deliver(due))
    assert tries == ["k0"]
    assert [s.rows[0].key for s in sent] == [f"k{n}" for n in range(5)]
    assert all(s.outcome.retry and s.outcome.error == "no answer within 5s" for s in sent)


def test_a_refused_row_does_not_hold_up_the_others() -> None:
    """A 4xx refusal is about that row only: the next rows are sent."""

    async def refuse_first(row: Delivery) -> Outcome:
        return Outcome(row.key != "k0", error="HTTP 400" if row.key == "k0" else "")

    due = [Delivery(f"k{n}", "hook", "{}", 0) for n in range(3)]
    sent = asyncio.run(OneByOne(refuse_first).deliver(due))
    assert [s.outcome.ok for s in sent] == [False, True, True]


# -- `notify.deliver.Deliverer`: how each outcome is recorded in the real store ---------

HOOK = notify_settings(
    {"destinations": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/"}}}
)
EVENT = run(
    compile_yaml(stations=POND, rules=LEVEL_RULE),
    series("p1", "level", [311.0, 311.2, 311.5, 311.5]),
)[0]


class Fixture:
    """A Deliverer on a real store and dead-letter file, with two rows waiting."""

    def __init__(self, tmp: Path) -> None:
        self.store = Store(tmp / "fw.db")
        self.store.enqueue([Outgoing(f"k{n}", "hook", EVENT) for n in range(2)])
        self.dead = DeadLetter(tmp / "dead.jsonl")
        self.deliverer = Deliverer(HOOK, self.store, self.dead, rng=random.Random(7))
        self.timings: list[tuple[str, float]] = []
        self.deliverer.on_delivered = lambda name, seconds: self.timings.append((name, seconds))

    def rows(self) -> list[Delivery]:
        return self.store.due("hook", time.time() + 3600)

    def state(self) -> dict[object, tuple[object, object, object]]:
        return {r["key"]: (r["state"], r["attempts"], r["last_error"]) for r in self.store.outbox()}

    def record(self, outcome: Outcome, *keys: str) -> None:
        rows = [r for r in self.rows() if r.key in keys]
        self.deliverer._record("hook", Sent(rows, outcome))

    async def __aenter__(self) -> Fixture:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.deliverer.client.aclose()
        self.dead.close()
        self.store.close()


def test_retry_after_is_taken_up_to_retry_max_and_otherwise_the_backoff() -> None:
    deliverer = Deliverer(HOOK, None, None, rng=random.Random(7))  # type: ignore[arg-type]
    assert deliverer.delay(0, 5.0) == 5.0
    assert deliverer.delay(0, 300.0) == 30.0  # retry_max
    waits = [deliverer.delay(n, None) for n in range(12)]
    assert all(0 < w <= 30.0 for w in waits)
    assert waits[-1] > waits[0]
    asyncio.run(deliverer.client.aclose())


def test_a_delivered_row_is_done_and_timed(tmp_path: Path) -> None:
    async def go() -> None:
        async with Fixture(tmp_path) as f:
            f.record(Outcome(True), "k0")
            assert f.state() == {"k0": ("done", 1, None), "k1": ("pending", 0, None)}
            assert f.deliverer.delivered["hook"] == 1
            assert [name for name, _ in f.timings] == ["hook"]

    asyncio.run(go())


def test_a_retryable_failure_waits_as_the_destination_asked(tmp_path: Path) -> None:
    async def go() -> None:
        async with Fixture(tmp_path) as f:
            before = time.time()
            f.record(Outcome(False, retry=True, after=20.0, error="HTTP 429"), "k0", "k1")
            assert f.state() == {"k0": ("pending", 1, "HTTP 429"), "k1": ("pending", 1, "HTTP 429")}
            due = f.store.next_due("hook")
            assert due is not None and before + 20.0 <= due <= time.time() + 20.0
            assert f.deliverer.failed["hook"] == 2
            assert f.deliverer.health["hook"].error == "HTTP 429"

    asyncio.run(go())


def test_success_after_a_failure_makes_the_waiting_rows_due_at_once(tmp_path: Path) -> None:
    async def go() -> None:
        async with Fixture(tmp_path) as f:
            f.record(Outcome(False, retry=True, after=20.0, error="HTTP 503"), "k1")
            next_due = f.store.next_due("hook")
            assert next_due is not None and next_due < time.time()  # k0 has not been tried
            f.record(Outcome(True), "k0")  # it works again
            next_due = f.store.next_due("hook")
            assert next_due is not None and next_due <= time.time()  # k1 need not wait 20 s

    asyncio.run(go())


def test_a_refused_row_is_dead_and_dead_lettered(tmp_path: Path) -> None:
    async def go() -> None:
        async with Fixture(tmp_path) as f:
            f.record(Outcome(False, error="HTTP 400"), "k0")
            assert f.state()["k0"] == ("dead", 1, "HTTP 400")
        (line,) = (tmp_path / "dead.jsonl").read_text("utf-8").splitlines()
        record = json.loads(line)
        assert record["reason"] == "delivery_refused" and record["source"] == "notify:hook"
        assert "hook refused delivery k0: HTTP 400" in record["detail"]
        assert f.deliverer.health["hook"].reported

    asyncio.run(go())


def test_a_held_row_waits_without_spending_an_attempt(tmp_path: Path) -> None:
    async def go() -> None:
        async with Fixture(tmp_path) as f:
            until = time.time() + 600
            f.record(Outcome(False, held=until), "k0", "k1")
            assert f.state() == {"k0": ("pending", 0, None), "k1": ("pending", 0, None)}
            assert f.store.next_due("hook") == until

    asyncio.run(go())
