"""`config.destinations`: what every destination has whatever its sink — its
`type`, the status it may receive, recording, a per-attempt timeout and when
failing raises an alert — and the `type:` name a sink's model answers to."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pytest
from pydantic import ValidationError

from floodwatch.alerts.state import Status
from floodwatch.config.destinations import DestinationBase, type_name


class Pager(DestinationBase):
    type: Literal["pager"]


class Loudspeaker(DestinationBase):
    people = True
    recordable = True
    type: Literal["loudspeaker"]


def test_the_shared_fields_default_to_real_alerts_sent_in_five_seconds() -> None:
    dest = Pager(type="pager")
    assert dest.status is Status.ACTUAL
    assert dest.record is False
    assert dest.timeout == timedelta(seconds=5)
    assert dest.failing_after == timedelta(minutes=5)
    assert list(dest.problems()) == []


def test_durations_are_read_with_units_and_a_status_by_name() -> None:
    dest = Pager.model_validate(
        {"type": "pager", "timeout": "30s", "failing_after": "1h", "status": "exercise"}
    )
    assert (dest.timeout, dest.failing_after) == (timedelta(seconds=30), timedelta(hours=1))
    assert dest.status is Status.EXERCISE
    with pytest.raises(ValidationError, match="give a unit"):
        Pager.model_validate({"type": "pager", "timeout": 5})


def test_a_machine_destination_is_not_for_people_and_cannot_be_recorded() -> None:
    assert (Pager.people, Pager.recordable) == (False, False)
    assert list(Pager(type="pager", record=True).problems()) == [
        (("record",), "only sms and broadcast destinations can be recorded")
    ]


def test_a_sink_that_says_it_can_be_recorded_can() -> None:
    assert Loudspeaker.people and DestinationBase.people is False
    assert list(Loudspeaker(type="loudspeaker", record=True).problems()) == []


def test_a_model_answers_to_its_one_literal_type_name() -> None:
    assert type_name(Pager) == "pager"
    assert type_name(Loudspeaker) == "loudspeaker"
    with pytest.raises(ValidationError):
        Pager.model_validate({"type": "webhook"})


class Untyped(DestinationBase):
    pass


class TwoNames(DestinationBase):
    type: Literal["pager", "beeper"]


class NumberName(DestinationBase):
    type: Literal[1]  # type: ignore[assignment]


@pytest.mark.parametrize("model", [DestinationBase, Untyped, TwoNames, NumberName])
def test_a_model_without_exactly_one_literal_name_is_refused_naming_it(
    model: type[DestinationBase],
) -> None:
    with pytest.raises(TypeError) as caught:
        type_name(model)
    assert str(caught.value) == (
        f"{model.__name__}.type must be one Literal name, e.g. Literal['webhook']"
    )
