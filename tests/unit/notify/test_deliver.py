"""The delivery stage's channels: how a round of due rows is sent."""

from __future__ import annotations

import asyncio

from floodwatch.notify.channel import OneByOne
from floodwatch.notify.outcome import Outcome
from floodwatch.store import Delivery


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


def test_every_destination_type_has_a_channel_in_the_registry_and_no_more() -> None:
    from floodwatch.config.destinations import DESTINATION_MODELS
    from floodwatch.notify.channels import CHANNELS

    assert list(CHANNELS) == list(DESTINATION_MODELS)
