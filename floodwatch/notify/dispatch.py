"""From stored alert transitions and incident changes to outbox rows, through
the stages of `floodwatch/notify/stages/` (silence → inhibit → incident
grouping → route → follow → enqueue), and the follow-ups that time brings:
call-and-answer (叫应) and reminders.

`dispatch` runs inside the transaction that records the transitions, so a
transition and its deliveries are stored together or not at all. `follow_up`
runs every second in the service (and in tests with any `now`): it reads
acknowledgements (which the CLI, the SMS reply webhook or the command center
write to the store) and enqueues what is due.

People are told per incident: one notice per incident change (raised,
escalated, downgraded, all-clear, a gauge lost), with one reply code per
incident (the notice's id is the incident id). Machine destinations receive
every alert transition, silenced or not (then marked `silenced`). Sensor and
operations notices, outside incidents, go to people per alert.

Call-and-answer, for a notice of a severity the policy names (orange and red
by default), raised or escalated, and for every lost gauge:
- the persons it is sent to over a `via` destination are called (tier 0);
- unanswered after `after` (5 minutes): called again, `resends` times;
- then each tier of `escalate` in turn, `after` apart, skipping people called
  already (the village warning officer, then the town's flood-control lead);
- then it stays on the unanswered list (shown in the command center).
An acknowledgement by anyone called, or by the command center, ends it; so
does the all-clear or a fall below the policy's severities. An acknowledgement
holds until the incident is raised again (escalated, or a gauge lost).
Answering an incident acknowledges every alert in it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence

from msgspec.structs import replace

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.incidents import Change, IncidentChange, is_flood
from floodwatch.alerts.state import Severity, Transition
from floodwatch.config.models import Station
from floodwatch.config.notify import AnswerPolicy, Route
from floodwatch.notify.ledger import Ledger, Silence
from floodwatch.notify.rosters import Recipient
from floodwatch.notify.routing import Router, Target, person_target
from floodwatch.notify.stages.enqueue import outgoing
from floodwatch.notify.stages.follow import answer_step, escalation, followers, merge
from floodwatch.notify.stages.route import incident_targets, machine_targets, people_targets
from floodwatch.notify.stages.silence import about, silence_of, split
from floodwatch.service.incidents import IncidentStore
from floodwatch.service.store import Outgoing, Store

log = logging.getLogger(__name__)

__all__ = ["Dispatcher", "answer_step"]


def per_incident(event: AlertEvent) -> bool:
    """Whether people hear of this alert through its incident's notices."""
    return event.incident is not None and (is_flood(event) or event.kind == "observation")


class Dispatcher:
    def __init__(self, router: Router, store: Store) -> None:
        self.router = router
        self.store = store
        self.ledger = Ledger(store.db)
        self.incidents = IncidentStore(store.db)
        self.policy: AnswerPolicy | None = router.settings.answer
        self.group_wait = {
            name: dest.group_wait.total_seconds()
            for name, dest in router.settings.destinations.items()
            if dest.type == "sms"
        }

    # -- new transitions (inside the recording transaction) --------------------------

    def dispatch(
        self,
        events: Iterable[AlertEvent],
        now: float,
        changes: Sequence[IncidentChange] = (),
        notices: Sequence[AlertEvent] = (),
    ) -> int:
        """Enqueue the deliveries of new transitions and incident changes (with
        their notices), in order; returns how many rows are to be sent."""
        silences = self.ledger.silences(now)
        stations = {s.id: s.model for s in self.router.compiled.stations.values()}
        count = 0
        for event in events:
            silence = silence_of(event, silences, stations)
            marked = event if silence is None else _marked(event)
            count += self.store.enqueue(
                self._row(marked, t) for t in machine_targets(self.router, event)
            )
            if per_incident(event):
                continue
            targets = merge(people_targets(self.router, event), self._followers(event))
            rows = [self._row(event, t) for t in targets]
            if silence is not None:
                log.info("alert %s %s silenced by %s", event.id, event.transition, silence.id)
                self.store.enqueue(rows, state="silenced")
                if event.transition is Transition.RESOLVED:
                    self.ledger.close_follow(event.id)
                continue
            count += self.store.enqueue(rows)
            self._answer_on(event, targets, now)
        for change, notice in zip(changes, notices, strict=True):
            count += self._incident(change, notice, silences, stations, now)
        return count

    def _incident(
        self,
        change: IncidentChange,
        notice: AlertEvent,
        silences: Sequence[Silence],
        stations: dict[str, Station],
        now: float,
    ) -> int:
        live, held = split(about(change), silences, stations)
        routed = incident_targets(self.router, change, notice, live)
        lowered = change.change in (Change.DOWNGRADED, Change.ALL_CLEAR)
        lost = change.change is Change.LOST_OBSERVATION
        heard = [] if lost or not (live or lowered) else self._followers(notice)
        if change.change is Change.UPDATED:  # only those not told of the incident yet
            told = {(t.destination, t.recipient_id) for t in heard}
            routed, heard = [t for t in routed if (t.destination, t.recipient_id) not in told], []
        send = merge(routed, heard)
        sent = {(t.destination, t.recipient_id) for t in send}
        hold = [
            t
            for t in incident_targets(self.router, change, notice, held)
            if (t.destination, t.recipient_id) not in sent
        ]
        if hold:
            by = sorted({s.id for a in held if (s := silence_of(a, silences, stations))})
            log.info(
                "incident %s %s: %d deliveries silenced by %s",
                notice.id,
                change.change,
                len(hold),
                ", ".join(by),
            )
            self.store.enqueue((self._row(notice, t) for t in hold), state="silenced")
        if not send:
            policy = self.policy
            if change.change is Change.ALL_CLEAR or (
                policy is not None and notice.severity not in policy.severities
            ):
                self.ledger.close_follow(notice.id)
            return 0
        count = self.store.enqueue(self._row(notice, t) for t in send)
        self._answer_on(notice, send, now, always=lost)
        return count

    def _row(self, event: AlertEvent, target: Target, note: str = "") -> Outgoing:
        return outgoing(event, target, note, self.group_wait.get(target.destination, 0.0))

    def _followers(self, event: AlertEvent) -> list[Target]:
        """Everyone a notice of this alert or incident reached before (any note)."""
        rows = self.store.db.execute(
            "SELECT destination, recipient FROM outbox WHERE alert = ? AND state != 'silenced' "
            "ORDER BY created",
            (event.id,),
        ).fetchall()
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
            count = self._answers(now) + self._reminders(now) + self._unsilenced(now)
        return count

    def _unsilenced(self, now: float) -> int:
        """People a silence held an incident back from, once it no longer holds
        the incident's alerts: they get its current notice (a maintenance window
        ending during a warning must not leave them unaware)."""
        count = 0
        silences: list[Silence] | None = None
        for incident in self.incidents.open_incidents():
            held = self.store.db.execute(
                "SELECT DISTINCT destination, recipient FROM outbox WHERE alert = ? "
                "AND state = 'silenced'",
                (incident.id,),
            ).fetchall()
            notice = self.incidents.notice(incident.id) if held else None
            if notice is None:
                continue
            if silences is None:
                silences = self.ledger.silences(now)
            stations = {s.id: s.model for s in self.router.compiled.stations.values()}
            live, _ = split(self._shown(notice), silences, stations)
            told = {(t.destination, t.recipient_id) for t in self._followers(notice)}
            was_held = {(t.destination, t.recipient_id) for t in followers(held, lambda d: True)}
            routed = merge(*(people_targets(self.router, a) for a in live))
            due = [
                t
                for t in routed
                if (t.destination, t.recipient_id) in was_held - told
                and self.router.allowed(t.destination, notice)
            ]
            if due:
                log.info("incident %s: silence over, told %d more", incident.id, len(due))
                count += self.store.enqueue(self._row(notice, t, "unsilenced") for t in due)
                self._answer_on(notice, due, now)
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
                self._row(event, person_target(via, person), note)
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

    def _tier_people(self, policy: AnswerPolicy, station: str) -> Callable[[int], list[Recipient]]:
        def people(tier: int) -> list[Recipient]:
            return self.router.rosters.resolve(policy.escalate[tier - 1], station)

        return people

    def _reminders(self, now: float) -> int:
        routes = [(i, r) for i, r in enumerate(self.router.settings.routes) if r.remind_every]
        if not routes:
            return 0
        count = 0
        for body in self.store.active():
            event = AlertEvent.from_json(body)
            if event.severity is Severity.INFO or self.ledger.acknowledged(event.id):
                continue
            machines_only = per_incident(event)
            count += self._remind(event, [event], routes, now, machines_only, people=False)
        for incident in self.incidents.open_incidents():
            notice = self.incidents.notice(incident.id)
            if notice is None or self.ledger.acknowledged(incident.id):
                continue
            alerts = self._shown(notice)
            count += self._remind(notice, alerts, routes, now, machines=False, people=True)
        return count

    def _remind(
        self,
        event: AlertEvent,
        about: list[AlertEvent],
        routes: list[tuple[int, Route]],
        now: float,
        machines: bool = True,
        people: bool = True,
    ) -> int:
        """Reminders of `event` (an alert, or an incident's notice about the
        alerts `about`) on each reminding route that matches one of them."""
        count = 0
        for index, route in routes:
            matching = [a for a in about if route in self.router.matching(a)]
            if not matching:
                continue
            remind_every = route.remind_every
            if remind_every is None:
                continue
            last = self.ledger.reminder(event.id, index)
            if last is None:
                self.ledger.set_reminder(event.id, index, 0, now)
                continue
            number, last_at = last
            if now - last_at < remind_every.total_seconds():
                continue
            note = f"reminder:{number + 1}"
            targets = merge(*(self.router.targets(a, [route]) for a in matching))
            rows = [
                self._row(event, t, note)
                for t in targets
                if (people if self.router.settings.people(t.destination) else machines)
                and self.router.allowed(t.destination, event)
            ]
            if rows:
                count += self.store.enqueue(rows)
            self.ledger.set_reminder(event.id, index, number + 1, now)
        return count

    def _shown(self, notice: AlertEvent) -> list[AlertEvent]:
        inhibited = set(notice.details.get("inhibited", []))
        rows = self.store.db.execute("SELECT event FROM active WHERE incident = ?", (notice.id,))
        alerts = [AlertEvent.from_json(json.loads(r[0])) for r in rows]
        return [a for a in alerts if is_flood(a) and a.id not in inhibited]

    # -- answers -----------------------------------------------------------------------

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
            open_calls = self.store.db.execute(
                "SELECT DISTINCT alert FROM calls WHERE person = ? AND answered_at IS NULL",
                (person.id,),
            ).fetchall()
            named = [a for (a,) in open_calls if reply_code(a) in text]
            answered: list[str] = []
            for alert in named or [a for (a,) in open_calls]:
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
        row = self.store.db.execute("SELECT event FROM active WHERE id = ?", (ident,)).fetchone()
        return None if row is None else AlertEvent.from_json(json.loads(row[0]))


def _marked(event: AlertEvent) -> AlertEvent:
    return replace(event, silenced=True)
