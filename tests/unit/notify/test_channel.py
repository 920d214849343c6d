"""The channel contract's own parts (notify/channel.py): `OneByOne` sending each
row on its own — ordered, stopping at the first failure; unordered, a refusal
about its row only and a failure worth retrying ending the round for every
row after it —; `BaseChannel`'s defaults starting and closing its connection;
a `Sink` answering to its model's `type`."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest

from floodwatch.config.destinations import DestinationBase
from floodwatch.ingest.backoff import Backoff
from floodwatch.notify.channel import BaseChannel, OneByOne, Sink
from floodwatch.notify.connection import Connection
from floodwatch.notify.outcome import Outcome, Sent
from floodwatch.notify.records import Delivery
from floodwatch.notify.webhook import SINK as WEBHOOK

OK = Outcome(True)
REFUSED = Outcome(False, error="HTTP 400: bad number")
BUSY = Outcome(False, retry=True, after=30.0, error="HTTP 503: busy")


def rows(n: int) -> list[Delivery]:
    return [Delivery(f"k{i}", "sms", "{}", 0) for i in range(1, n + 1)]


class Destination:
    """Answers each row as told (OK when not told), recording what it was sent."""

    def __init__(self, **answers: Outcome) -> None:
        self.answers = answers
        self.sent: list[str] = []

    async def send(self, row: Delivery) -> Outcome:
        self.sent.append(row.key)
        return self.answers.get(row.key, OK)


def told(sent: list[Sent]) -> list[tuple[list[str], Outcome]]:
    return [([r.key for r in s.rows], s.outcome) for s in sent]


@pytest.mark.asyncio
async def test_unordered_a_refusal_is_about_its_row_only() -> None:
    dest = Destination(k2=REFUSED)
    sent = await OneByOne(dest.send).deliver(rows(3))
    assert told(sent) == [(["k1"], OK), (["k2"], REFUSED), (["k3"], OK)]
    assert dest.sent == ["k1", "k2", "k3"]


@pytest.mark.asyncio
async def test_unordered_a_failure_worth_retrying_ends_the_round_for_the_rest() -> None:
    dest = Destination(k2=BUSY)
    sent = await OneByOne(dest.send).deliver(rows(4))
    later = Outcome(False, retry=True, after=30.0, error="HTTP 503: busy")
    assert told(sent) == [(["k1"], OK), (["k2"], BUSY), (["k3"], later), (["k4"], later)]
    assert dest.sent == ["k1", "k2"]  # one timeout's worth, not one per waiting row


@pytest.mark.asyncio
async def test_ordered_the_first_failure_stops_the_round_and_the_rest_wait_their_turn() -> None:
    for failure in (REFUSED, BUSY):
        dest = Destination(k2=failure)
        sent = await OneByOne(dest.send, ordered=True).deliver(rows(3))
        assert told(sent) == [(["k1"], OK), (["k2"], failure)]
        assert dest.sent == ["k1", "k2"]


@pytest.mark.asyncio
async def test_nothing_due_sends_nothing_and_the_last_row_failing_adds_nobody() -> None:
    dest = Destination(k2=BUSY)
    assert await OneByOne(dest.send).deliver([]) == []
    assert told(await OneByOne(dest.send).deliver(rows(2))) == [(["k1"], OK), (["k2"], BUSY)]


class Local(Connection):
    """A connection that opens at once and stays open until closed."""

    def __init__(self) -> None:
        super().__init__("local", Backoff(0.01, 0.02))
        self.opened = self.closed = 0

    async def _open(self) -> None:
        self.opened += 1

    async def _watch(self) -> None:
        await asyncio.Event().wait()

    async def _close(self) -> None:
        self.closed += 1


@pytest.mark.asyncio
async def test_the_defaults_start_and_close_the_connection_and_do_nothing_else() -> None:
    connection = Local()
    channel = OneByOne(Destination().send, connection=connection)
    await channel.start()
    await asyncio.wait_for(connection.ready.wait(), 2)
    assert connection.opened == 1
    assert await channel.run() is None
    channel.readings([])
    await channel.aclose()
    assert not connection.ready.is_set() and connection.closed == 1
    await channel.aclose()  # twice: no harm


@pytest.mark.asyncio
async def test_without_a_connection_start_and_close_are_nothing() -> None:
    channel = BaseChannel()
    await channel.start()
    await channel.aclose()
    assert channel.connection is None


class Pager(DestinationBase):
    type: Literal["pager"] = "pager"


class Loose(DestinationBase):
    pass


def test_a_sink_answers_to_the_type_its_model_names() -> None:
    assert WEBHOOK.type == "webhook"
    assert Sink(Pager, lambda wiring: BaseChannel()).type == "pager"  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match=r"Loose\.type must be one Literal name"):
        _ = Sink(Loose, lambda wiring: BaseChannel()).type  # type: ignore[arg-type,return-value]
