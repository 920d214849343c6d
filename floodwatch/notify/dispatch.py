"""From stored alert transitions and incident changes to outbox rows, through
the stages of `floodwatch/notify/stages/` (silence → inhibit → incident
grouping → route → follow → wording → enqueue), and the follow-ups that time
brings: call-and-answer (叫应) and reminders.

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

import logging
from collections.abc import Iterable, Sequence

from msgspec.structs import replace

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.config.models import Station
from floodwatch.config.notify import Route
from floodwatch.notify.calls import Calls
from floodwatch.notify.records import Silence
from floodwatch.notify.stages.follow import answer_step, followers, merge
from floodwatch.notify.stages.route import incident_targets, machine_targets, people_targets
from floodwatch.notify.stages.silence import about, silence_of, split
from floodwatch.notify.stages.wording import heard_of, worded
from floodwatch.rules.incidents.tracker import Change, IncidentChange, is_flood

log = logging.getLogger(__name__)

__all__ = ["Dispatcher", "answer_step"]


def per_incident(event: AlertEvent) -> bool:
    """Whether people hear of this alert through its incident's notices."""
    return event.incident is not None and (is_flood(event) or event.kind == "observation")


class Dispatcher(Calls):
    """Dispatch of new transitions (inside the recording transaction) and the
    follow-ups time brings; call-and-answer and answers in `Calls`."""

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
        before = heard_of(self.store.reached(notice.id))  # who heard the incident before
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
            self.store.enqueue(
                (self._row(worded(notice, t, before), t) for t in hold), state="silenced"
            )
        if not send:
            policy = self.policy
            if change.change is Change.ALL_CLEAR or (
                policy is not None and notice.severity not in policy.severities
            ):
                self.ledger.close_follow(notice.id)
            return 0
        count = self.store.enqueue(self._row(worded(notice, t, before), t) for t in send)
        self._answer_on(notice, send, now, always=lost)
        return count

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
            held = self.store.held(incident.id)
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
        alerts = [AlertEvent.from_json(e) for e in self.store.active_in(notice.id)]
        return [a for a in alerts if is_flood(a) and a.id not in inhibited]


def _marked(event: AlertEvent) -> AlertEvent:
    return replace(event, silenced=True)
