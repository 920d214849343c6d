"""From stored alert transitions to outbox rows: silence → route → enqueue, and
the follow-ups that time brings: call-and-answer (叫应) and reminders.

`dispatch` runs inside the transaction that records the transitions, so a
transition and its deliveries are stored together or not at all. `follow_up`
runs every second in the service (and in tests with any `now`): it reads
acknowledgements (which the CLI, the SMS reply webhook or the command center
write to the store) and enqueues what is due.

Call-and-answer, for a warning of a severity the policy names (orange and red
by default), firing or escalated:
- the persons the routes send it to over a `via` destination are called (tier 0);
- unanswered after `after` (5 minutes): called again, `resends` times;
- then each tier of `escalate` in turn, `after` apart (the village warning
  officer, then the town's flood-control lead, by default);
- then the alert stays on the unanswered list (shown in the command center).
An acknowledgement by anyone called, or by the command center, ends it; so
does the alert resolving or falling below the policy's severities. An
acknowledgement holds until the alert is raised again: escalated (say orange →
red), it is called afresh and must be answered again.

Once an alert has gone to a destination (and person, and village), its later
transitions go there too, whatever their severity: the people and villages
told of a warning also hear that it was lowered or lifted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.config.notify import AnswerPolicy
from floodwatch.notify.ledger import Ledger
from floodwatch.notify.rosters import Recipient
from floodwatch.notify.routing import Router, Target, delivery_key, person_target
from floodwatch.service.store import Outgoing, Store

log = logging.getLogger(__name__)


def answer_step(step: int, policy: AnswerPolicy) -> tuple[str, int]:
    """What follow-up number `step` (1, 2, …) of an unanswered call does:
    ('resend', 0), ('escalation', tier) or ('unanswered', -1)."""
    if step <= policy.resends:
        return "resend", 0
    tier = step - policy.resends
    if tier <= len(policy.escalate):
        return "escalation", tier
    return "unanswered", -1


class Dispatcher:
    def __init__(self, router: Router, store: Store) -> None:
        self.router = router
        self.store = store
        self.ledger = Ledger(store.db)
        self.policy: AnswerPolicy | None = router.settings.answer
        self.group_wait = {
            name: dest.group_wait.total_seconds()
            for name, dest in router.settings.destinations.items()
            if dest.type == "sms"
        }

    # -- new transitions (inside the recording transaction) --------------------------

    def dispatch(self, events: Iterable[AlertEvent], now: float) -> int:
        """Enqueue the deliveries of new transitions, in order; returns how many."""
        count = 0
        for event in events:
            targets = self.router.targets(event)
            targets += [t for t in self._followed(event) if t not in targets]
            rows = [self._outgoing(event, t) for t in targets]
            info = self.router.compiled.stations.get(event.station)
            silence = self.ledger.silenced_by(
                info.model if info else None, event.rule, event.station, now
            )
            if silence is not None:
                log.info("alert %s %s silenced by %s", event.id, event.transition, silence.id)
                self.store.enqueue(rows, state="silenced")
                if event.transition is Transition.RESOLVED:
                    self.ledger.close_follow(event.id)
                continue
            count += self.store.enqueue(rows)
            self._answer_on(event, targets, now)
        return count

    def _outgoing(self, event: AlertEvent, target: Target, note: str = "") -> Outgoing:
        return Outgoing(
            delivery_key(event, target.destination, target.recipient_id, note),
            target.destination,
            event,
            recipient=target.recipient,
            note=note,
            after=self.group_wait.get(target.destination, 0.0),
        )

    def _followed(self, event: AlertEvent) -> list[Target]:
        rows = self.store.db.execute(
            "SELECT DISTINCT destination, recipient FROM outbox WHERE alert = ? AND note = '' "
            "AND state != 'silenced'",
            (event.id,),
        ).fetchall()
        known = self.router.settings.destinations
        return [Target(d, r) for d, r in rows if d in known and self.router.allowed(d, event)]

    def _answer_on(self, event: AlertEvent, targets: list[Target], now: float) -> None:
        policy = self.policy
        if policy is None:
            return
        wanted = event.severity in policy.severities
        if event.transition is Transition.RESOLVED or not wanted:
            self.ledger.close_follow(event.id)
            return
        if event.transition not in (Transition.FIRING, Transition.ESCALATED):
            return
        called = [t for t in targets if t.destination in policy.via and t.recipient]
        if not called:
            return
        for target in called:
            self.ledger.record_call(event.id, Recipient(**json.loads(target.recipient)), 0, now)
        self.ledger.start_follow(event.id, event.severity.value, now, now + self._after())

    def _after(self) -> float:
        return self.policy.after.total_seconds() if self.policy is not None else 0.0

    # -- what time brings -------------------------------------------------------------

    def follow_up(self, now: float) -> int:
        """Enqueue due resends, escalations and reminders; returns how many rows."""
        with self.store.transaction():
            count = self._answers(now) + self._reminders(now)
        return count

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
            action, tier = answer_step(step + 1, policy)
            if action == "unanswered":
                self.ledger.set_follow(alert, step + 1, None, "unanswered")
                names = ", ".join(r.name for r in self.ledger.unanswered(alert))
                log.warning(
                    "alert %s: no answer from %s; left on the unanswered list", alert, names
                )
                continue
            if tier == 0:
                people = [c.recipient for c in self.ledger.calls(alert) if c.tier == 0]
            else:
                people = self.router.rosters.resolve(policy.escalate[tier - 1], event.station)
            note = f"{action}:{step + 1}"
            rows = [
                self._outgoing(event, person_target(via, person), note)
                for via in policy.via
                if self.router.allowed(via, event)
                for person in people
            ]
            for person in people:
                self.ledger.record_call(alert, person, tier, now)
            count += self.store.enqueue(rows)
            self.ledger.set_follow(alert, step + 1, now + self._after(), "calling")
            log.warning(
                "alert %s unanswered: %s to %s",
                alert,
                action,
                ", ".join(p.name for p in people) or "nobody (empty roster)",
            )
        return count

    def _reminders(self, now: float) -> int:
        routes = [(i, r) for i, r in enumerate(self.router.settings.routes) if r.remind_every]
        if not routes:
            return 0
        count = 0
        for body in self.store.active():
            event = AlertEvent.from_json(body)
            if event.severity is Severity.INFO or self.ledger.acknowledged(event.id):
                continue
            matching = self.router.matching(event)
            for index, route in routes:
                if route not in matching or route.remind_every is None:
                    continue
                last = self.ledger.reminder(event.id, index)
                if last is None:
                    self.ledger.set_reminder(event.id, index, 0, now)
                    continue
                number, last_at = last
                if now - last_at < route.remind_every.total_seconds():
                    continue
                note = f"reminder:{number + 1}"
                rows = [self._outgoing(event, t, note) for t in self.router.targets(event, [route])]
                count += self.store.enqueue(rows)
                self.ledger.set_reminder(event.id, index, number + 1, now)
        return count

    # -- answers -----------------------------------------------------------------------

    def reply(self, phone: str, text: str, now: float) -> list[str]:
        """An SMS reply from `phone`: a reply code in the text answers that alert,
        any other text every open call to that person. Returns the alerts
        acknowledged (none if the number is nobody's)."""
        from floodwatch.notify.sms import reply_code

        person = self.router.rosters.person_by_phone(phone)
        if person is None:
            log.warning("SMS reply from unknown number %s ignored: %r", phone, text)
            return []
        with self.store.transaction():
            open_calls = self.store.db.execute(
                "SELECT DISTINCT alert FROM calls WHERE person = ? AND answered_at IS NULL",
                (person.id,),
            ).fetchall()
            named = [a for (a,) in open_calls if reply_code(a) in text]
            alerts: list[str] = []
            for alert in named or [a for (a,) in open_calls]:
                alerts += self.ledger.answer(person.id, now, alert)
            for alert in alerts:
                self.ledger.acknowledge(alert, person.name, "sms", text.strip(), now)
        log.info("SMS reply from %s (%s) acknowledges %s", person.name, phone, alerts or "nothing")
        return alerts

    def _latest(self, alert: str) -> AlertEvent | None:
        """The alert's current state, if it is still active."""
        row = self.store.db.execute("SELECT event FROM active WHERE id = ?", (alert,)).fetchone()
        return None if row is None else AlertEvent.from_json(json.loads(row[0]))
