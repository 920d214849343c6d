"""Follow stage: everyone told of an incident hears the rest of it. Pure.

A person or village that received any notice of an incident — by route,
reminder, resend or escalation — receives its later changes (downgrades and
the all-clear included), whatever their severity: the town lead reached by
escalation hears the all-clear too. Targets are the same when they name the
same destination and person (or village), whatever role brought them.

Escalation tiers skip people already called about the incident: a village
warning officer who is on the route is not "escalated to" with the same
message; a tier left empty by that is passed over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from floodwatch.config.notify import AnswerPolicy
from floodwatch.notify.records import Person, Recipient
from floodwatch.notify.routing import Target


def merge(*groups: Iterable[Target]) -> list[Target]:
    """Targets in order, each (destination, person or village) once."""
    seen: set[tuple[str, str]] = set()
    out: list[Target] = []
    for group in groups:
        for target in group:
            key = (target.destination, target.recipient_id)
            if key not in seen:
                seen.add(key)
                out.append(target)
    return out


def followers(
    rows: Iterable[tuple[str, Recipient | None]], allowed: Callable[[str], bool]
) -> list[Target]:
    """The targets of earlier (destination, recipient) rows still allowed."""
    return merge(Target(d, r) for d, r in rows if allowed(d))


def answer_step(step: int, policy: AnswerPolicy) -> tuple[str, int]:
    """What follow-up number `step` (1, 2, …) of an unanswered call does:
    ('resend', 0), ('escalation', tier) or ('unanswered', -1)."""
    if step <= policy.resends:
        return "resend", 0
    tier = step - policy.resends
    if tier <= len(policy.escalate):
        return "escalation", tier
    return "unanswered", -1


def escalation(
    step: int,
    policy: AnswerPolicy,
    called: set[str],
    tier_people: Callable[[int], list[Person]],
) -> tuple[str, int, list[Person]]:
    """(action, step taken, people) for follow-up `step`: escalation tiers whose
    people were all called already are passed over."""
    while True:
        action, tier = answer_step(step, policy)
        if action != "escalation":
            return action, step, []
        people = [p for p in tier_people(tier) if p.person not in called]
        if people:
            return action, step, people
        step += 1
