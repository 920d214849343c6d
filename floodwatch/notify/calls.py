"""Call-and-answer (叫应) and what dispatch and its follow-ups share: the
rows, the people told so far, the calls, the answers.

Calls are per incident (or per alert outside incidents): the persons a notice
goes to over `answer.via` are called; unanswered after `after`, called again
(`resends` times), then each tier of `escalate` in turn, skipping people
called already (`stages/follow.py`); then the incident stays on the
unanswered list. A reply with the incident's code (or any reply, for every
open call of that person) acknowledges the incident and every alert in it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Transition
from floodwatch.config.notify import AnswerPolicy
from floodwatch.notify.ports import DispatchStore
from floodwatch.notify.records import Outgoing, Person
from floodwatch.notify.routing import Router, Target
from floodwatch.notify.sms import SmsDestination
from floodwatch.notify.stages.enqueue import outgoing
from floodwatch.notify.stages.follow import answer_step, escalation, followers
from floodwatch.notify.stages.wording import follow_up

log = logging.getLogger("floodwatch.notify.dispatch")


class Calls:
    """The state dispatch shares with its follow-ups, and call-and-answer."""

    def __init__(self, router: Router, store: DispatchStore) -> None:
        self.router = router
        self.store = store
        self.ledger = store.people
        self.incidents = store.incidents
        self.policy: AnswerPolicy | None = router.settings.answer
        self.group_wait = {
            name: dest.group_wait.total_seconds()
            for name, dest in router.settings.destinations.items()
            if isinstance(dest, SmsDestination)
        }

    def _row(self, event: AlertEvent, target: Target, note: str = "") -> Outgoing:
        """The row of `event` to `target`; a follow-up (`note`: resend, escalation,
        reminder, unsilenced) tells an incident as it stands (`stages/wording.py`)."""
        if note:
            event = follow_up(event)
        return outgoing(event, target, note, self.group_wait.get(target.destination, 0.0))

    def _followers(self, event: AlertEvent) -> list[Target]:
        """Everyone a notice of this alert or incident reached before (any note)."""
        rows = self.store.reached(event.id)
        known = self.router.settings.destinations
        return followers(
            rows,
            lambda d: (
                d in known and self.router.settings.people(d) and self.router.allowed(d, event)
            ),
        )

    def _answer_on(
        self, event: AlertEvent, targets: list[Target], now: float, always: bool = False
    ) -> None:
        policy = self.policy
        if policy is None:
            return
        wanted = always or event.severity in policy.severities
        if event.transition is Transition.RESOLVED or not wanted:
            self.ledger.close_follow(event.id)
            return
        if event.transition not in (Transition.FIRING, Transition.ESCALATED):
            return
        called = [p for t in targets if t.destination in policy.via and (p := t.person)]
        if not called:
            return
        for person in called:
            self.ledger.record_call(event.id, person, 0, now)
        self.ledger.start_follow(event.id, event.severity.value, now, now + self._after())

    def _after(self) -> float:
        return self.policy.after.total_seconds() if self.policy is not None else 0.0

    def _answers(self, now: float) -> int:
        policy = self.policy
        if policy is None:
            return 0
        count = 0
        for alert, _severity, step in self.ledger.due_follows(now):
            event = self._latest(alert)
            if event is None or self.ledger.acknowledged(alert):
                self.ledger.set_follow(alert, step, None, "answered" if event else "closed")
                continue
            calls = self.ledger.calls(alert)
            called = {c.recipient.person for c in calls}
            action, taken, people = escalation(
                step + 1, policy, called, self._tier_people(policy, event.station)
            )
            if action == "unanswered":
                self.ledger.set_follow(alert, taken, None, "unanswered")
                names = ", ".join(r.name for r in self.ledger.unanswered(alert))
                log.warning(
                    "alert %s: no answer from %s; left on the unanswered list", alert, names
                )
                continue
            tier = answer_step(taken, policy)[1]
            if action == "resend":
                people = [c.recipient for c in calls if c.tier == 0]
            note = f"{action}:{taken}"
            rows = [
                self._row(event, Target(via, person), note)
                for via in policy.via
                if self.router.allowed(via, event)
                for person in people
            ]
            for person in people:
                self.ledger.record_call(alert, person, tier, now)
            count += self.store.enqueue(rows)
            self.ledger.set_follow(alert, taken, now + self._after(), "calling")
            log.warning(
                "alert %s unanswered: %s to %s",
                alert,
                action,
                ", ".join(p.name for p in people) or "nobody (empty roster)",
            )
        return count

    def _tier_people(self, policy: AnswerPolicy, station: str) -> Callable[[int], list[Person]]:
        def people(tier: int) -> list[Person]:
            return self.router.rosters.resolve(policy.escalate[tier - 1], station)

        return people

    def reply(self, phone: str, text: str, now: float) -> list[str]:
        """An SMS reply from `phone`: a reply code in the text answers that
        incident (or alert), any other text every open call to that person.
        Answering an incident acknowledges every alert in it. Returns what was
        acknowledged (none if the number is nobody's)."""
        from floodwatch.notify.sms import reply_code

        person = self.router.rosters.person_by_phone(phone)
        if person is None:
            log.warning("SMS reply from unknown number %s ignored: %r", phone, text)
            return []
        with self.store.transaction():
            open_calls = self.ledger.open_calls(person.id)
            named = [a for a in open_calls if reply_code(a) in text]
            answered: list[str] = []
            for alert in named or open_calls:
                answered += self.ledger.answer(person.id, now, alert)
            acknowledged: list[str] = []
            for alert in answered:
                for one in [alert, *self.incidents.alert_ids(alert)]:
                    self.ledger.acknowledge(one, person.name, "sms", text.strip(), now)
                    acknowledged.append(one)
        log.info(
            "SMS reply from %s (%s) acknowledges %s", person.name, phone, acknowledged or "nothing"
        )
        return acknowledged

    def acknowledge(self, ident: str, by: str, via: str, comment: str, now: float) -> list[str]:
        """Acknowledge an alert, or an incident and every alert in it (inside a
        transaction); returns what was acknowledged."""
        done = self.incidents.covered(ident)
        for one in done:
            self.ledger.acknowledge(one, by, via, comment, now)
        return done

    def _latest(self, ident: str) -> AlertEvent | None:
        """The current notice of an open incident, or the state of an active alert."""
        notice = self.incidents.notice(ident)
        if notice is not None:
            return notice
        found = self.store.active_one(ident)
        return None if found is None else AlertEvent.from_json(found)
