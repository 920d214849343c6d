"""Follow stage (notify/stages/follow.py): everyone told of an incident once
per (destination, person or village); what each unanswered follow-up does
(resend, escalation tier, unanswered), tiers of people already called passed
over."""

from __future__ import annotations

import pytest

from floodwatch.config.notify import AnswerPolicy
from floodwatch.notify.records import Person, Recipient, Village
from floodwatch.notify.routing import Target
from floodwatch.notify.stages.follow import answer_step, escalation, followers, merge

A = Person("a", "A", "1", "station.patrol")
B = Person("b", "B", "2", "village.warning_officer")
C = Person("c", "C", "3", "town.flood_lead")
POLICY = AnswerPolicy.model_validate(
    {"via": ["sms"], "resends": 1, "escalate": [["village.warning_officer"], ["town.flood_lead"]]}
)


def test_follow_stage_keeps_everyone_told_once() -> None:
    rows: list[tuple[str, Recipient | None]] = [
        ("sms", Person("a", "A", "1", "station.patrol")),
        ("sms", Person("a", "A", "1", "town.flood_lead")),
        ("village", Village("330182104201")),
        ("gone", None),
    ]
    told = followers(rows, lambda d: d != "gone")
    assert [(t.destination, t.recipient_id) for t in told] == [
        ("sms", "a"),
        ("village", "330182104201"),
    ]


def test_merge_keeps_the_first_of_each_in_order_across_groups() -> None:
    merged = merge([Target("sms", A)], [Target("sms", B), Target("bus", None)], [Target("sms", A)])
    assert [(t.destination, t.recipient_id) for t in merged] == [
        ("sms", "a"),
        ("sms", "b"),
        ("bus", ""),
    ]
    assert merge() == [] and followers([], lambda d: True) == []


@pytest.mark.parametrize(
    ("step", "resends", "expected"),
    [
        (1, 1, ("resend", 0)),
        (2, 1, ("escalation", 1)),
        (3, 1, ("escalation", 2)),
        (4, 1, ("unanswered", -1)),
        (1, 0, ("escalation", 1)),  # no resends: straight to the first tier
        (2, 2, ("resend", 0)),
    ],
)
def test_each_follow_up_resends_then_escalates_then_gives_up(
    step: int, resends: int, expected: tuple[str, int]
) -> None:
    policy = POLICY.model_copy(update={"resends": resends})
    assert answer_step(step, policy) == expected


def test_escalation_passes_over_a_tier_of_people_already_called() -> None:
    tiers = {1: [B], 2: [C]}
    assert escalation(2, POLICY, {"a"}, tiers.__getitem__) == ("escalation", 2, [B])
    assert escalation(2, POLICY, {"a", "b"}, tiers.__getitem__) == ("escalation", 3, [C])
    assert escalation(2, POLICY, {"b", "c"}, tiers.__getitem__) == ("unanswered", 4, [])
    assert escalation(1, POLICY, {"b"}, tiers.__getitem__) == ("resend", 1, [])


def test_an_empty_tier_is_passed_over_and_only_the_uncalled_of_a_tier_are_escalated_to() -> None:
    tiers: dict[int, list[Person]] = {1: [], 2: [A, C]}
    assert escalation(2, POLICY, {"a"}, tiers.__getitem__) == ("escalation", 3, [C])
