"""Incidents: the flood alerts of a station and its linked stations, told to
people as one. Pure: alert events in (event time), annotated alerts and
incident changes out; no I/O, no clock.

Alerts stay per (rule, station) for engineers. An incident groups the warning
alerts (blue … red) of one station and the stations it links to (its outlet
culvert, its rain gauge; `engine.incidents.links` and `groups`) and has the
highest severity among them. Guarantees:

- **Changes**: `raised` (the first warning), `escalated` / `downgraded` (the
  highest active severity went up / down; escalated also when its worst
  alert reaches a new stage at the same severity: overtopping now),
  `all_clear` — only once every flood alert of the incident has resolved and
  no gauge of it is lost. One change per severity change, whatever the number
  of alerts behind it. `updated`: an alert raised without changing the
  incident's severity (only people not told yet hear of it, through the
  routes that alert matches).
- **Never clears on silence.** A stale gauge keeps its flood alerts (stale is
  not safe); while the incident is at `lost_observation.min_severity` (yellow)
  or above, a gauge of it going stale raises an `observation-lost` warning at
  the incident's severity (人工观测) — a `lost_observation` change — which holds
  the incident open until the gauge reports again.
- **Ids**: `episode_id("incident", head station, start)`: the same input gives
  the same incident ids. Drills (status exercise) have incidents of their own.
- Every alert of a station in an open incident carries its id in `incident`
  (sensor notices too); a sensor notice outside any incident carries None.
- **The all-clear wording belongs to the incident.** A flood alert lowered or
  lifted while its incident goes on (as it stands at the end of the instant)
  is worded "【单项回落】…<this condition eased>。毛坑山塘红色预警仍在持续，险情未除。"
  (`messages.while_incident`, from the eased clause the rule put in
  `details["eased"]`, which the tracker takes off every event). A rule keeps
  its own "【预警解除】" only when its incident ends in the same instant, and
  its own "【预警降为…】" when the incident is lowered to its colour with it.
- Applying an alert transition twice changes nothing the second time (the
  service feeds only transitions it had not stored before).
- **Figures as of the change**: fed the engine's figures (`EngineOutput.figures`)
  with the transitions, a change carries, for each of its alerts, what its
  rule measured at the change's event time or the latest before it
  (`IncidentChange.figures`), never a figure from after it.

Why one module over 400 lines: `IncidentTracker` is one state machine over one
table of open incidents; the guarantees above (never clears on silence, one
change per severity change, lost observation) hold across all of its methods,
and splitting it would put one invariant in several files. Grouping (`Groups`)
and the change record are small and stay beside it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from msgspec.structs import replace

from floodwatch.alerts.event import AlertEvent, episode_id
from floodwatch.alerts.messages import EASED, while_incident
from floodwatch.alerts.state import Severity, Status, Transition
from floodwatch.config.incidents import IncidentSettings
from floodwatch.config.models import Station
from floodwatch.readings import ms_to_dt, ts_to_ms
from floodwatch.rules.base import Figure
from floodwatch.rules.incidents.inhibit import inhibited

LOST_RULE = "observation-lost"
LOST_KIND = "observation"
INSTRUMENT = {"level": ("水位计", "level gauge"), "rain": ("雨量计", "rain gauge"),
              "flow": ("流量计", "flow meter")}  # fmt: skip
COLOUR_ZH = {Severity.BLUE: "蓝色", Severity.YELLOW: "黄色", Severity.ORANGE: "橙色",
             Severity.RED: "红色", Severity.INFO: ""}  # fmt: skip


class Change(enum.StrEnum):
    RAISED = "raised"
    ESCALATED = "escalated"
    DOWNGRADED = "downgraded"
    ALL_CLEAR = "all_clear"
    LOST_OBSERVATION = "lost_observation"
    # an alert of the incident raised without changing its severity: routes
    # that match that alert may reach people not told yet (only they are)
    UPDATED = "updated"


class IncidentChange(msgspec.Struct, frozen=True, kw_only=True):
    """One change of an incident, with everything a notification needs."""

    incident: str
    station: str  # the station that names the incident (the pond)
    change: Change
    severity: Severity  # after the change (before it, for an all-clear)
    previous_severity: Severity | None
    ts: datetime
    started: datetime
    status: Status
    alerts: list[AlertEvent]  # the latest event of each alert active in it, worst first
    inhibited: list[str]  # ids of `alerts` left out of notifications
    cause: AlertEvent  # the alert transition that made this change
    # alert id -> what its rule measured as of `ts` (absent: only the alert's own value)
    figures: dict[str, Figure] = msgspec.field(default_factory=dict)


@dataclass(frozen=True)
class Groups:
    """Which station's incident each station's alerts join."""

    head_of: dict[str, str]
    members: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, stations: Iterable[Station], settings: IncidentSettings) -> Groups:
        models = list(stations)
        head_of: dict[str, str] = {}
        for group in settings.groups:
            for sid in group:
                head_of.setdefault(sid, group[0])
        heads = {s.id for s in models if any(k in s.links for k in settings.links)}
        for s in models:
            if s.id in heads:
                head_of.setdefault(s.id, s.id)
        for s in models:
            for link in settings.links:
                target = s.links.get(link)
                if target is not None and target not in heads:
                    head_of.setdefault(target, head_of.get(s.id, s.id))
        members: dict[str, list[str]] = {}
        for sid, head in head_of.items():
            members.setdefault(head, []).append(sid)
        return cls(head_of, {h: tuple(m) for h, m in members.items()})

    def head(self, station: str) -> str:
        return self.head_of.get(station, station)


@dataclass
class Incident:
    id: str
    head: str
    status: Status
    started_ms: int
    severity: Severity
    alerts: dict[str, AlertEvent] = field(default_factory=dict)
    closed: bool = False

    def flood_severity(self) -> Severity | None:
        ranks = [a.severity for a in self.alerts.values() if is_flood(a)]
        return max(ranks, key=lambda s: s.rank) if ranks else None

    def lost(self) -> dict[str, AlertEvent]:
        return {a.station: a for a in self.alerts.values() if a.rule == LOST_RULE}


def is_flood(alert: AlertEvent) -> bool:
    return alert.severity is not Severity.INFO and alert.kind not in (LOST_KIND, "operations")


def head_names(stations: dict[str, Station], head: str) -> tuple[str, str]:
    """How the station that names an incident is said (zh, en)."""
    model = stations.get(head)
    return (model.name, model.name_en or head) if model else (head, head)


def _eased(event: AlertEvent) -> tuple[str, str] | None:
    """The eased clause a lowered or lifted event carries (`details["eased"]`)."""
    said = event.details.get(EASED)
    if (
        isinstance(said, dict)
        and isinstance(said.get("zh"), str)
        and isinstance(said.get("en"), str)
    ):
        return said["zh"], said["en"]
    return None


def is_stale(alert: AlertEvent) -> bool:
    return alert.kind == "sensor_health" and alert.details.get("check") == "stale"


@dataclass
class Applied:
    alerts: list[AlertEvent] = field(default_factory=list)  # annotated, plus lost-observation
    changes: list[IncidentChange] = field(default_factory=list)


# (event time ms of an instant, {alert id: figure}), as `EngineOutput.figures`
Figures = tuple[int, dict[str, Figure]]

# incident id -> (incident, severity before this instant, last cause)
Pending = dict[str, tuple[Incident, Severity | None, AlertEvent]]


def new_stage(event: AlertEvent) -> bool:
    """An alert raised to a new stage at the same severity (a time-to-crest
    going from "expected to overtop" to "overtopping now")."""
    return event.transition is Transition.ESCALATED and event.previous_severity == event.severity


class IncidentTracker:
    """The open incidents; `apply` moves them with each alert transition."""

    def __init__(self, stations: Iterable[Station], settings: IncidentSettings) -> None:
        self.stations = {s.id: s for s in stations}
        self.groups = Groups.of(self.stations.values(), settings)
        self.settings = settings
        self.open: dict[tuple[str, Status], Incident] = {}
        self.stale: dict[tuple[str, Status], AlertEvent] = {}  # (station, status) -> stale notice
        self._raising: set[str] = set()  # incidents with an alert raised in this instant
        # incident id -> (index in `Applied.alerts`, eased clause) of alerts lowered or
        # lifted in this instant: worded at its end, when the incident's state is known
        self._easing: dict[str, list[tuple[int, tuple[str, str]]]] = {}
        self.figures: dict[str, Figure] = {}  # alert id -> latest figure (active alerts)

    def restore(self, incidents: Iterable[Incident], active: Iterable[AlertEvent]) -> None:
        """Take up where the store left off: its open incidents and active alerts."""
        by_id: dict[str, Incident] = {}
        for inc in incidents:
            self.open[(inc.head, inc.status)] = inc
            by_id[inc.id] = inc
        for alert in active:
            if is_stale(alert):
                self.stale[(alert.station, alert.status)] = alert
            owner = by_id.get(alert.incident or "")
            if owner is not None:
                owner.alerts[alert.id] = alert

    def incident_of(self, station: str, status: Status) -> Incident | None:
        return self.open.get((self.groups.head(station), status))

    def apply(self, events: Iterable[AlertEvent], figures: Iterable[Figures] = ()) -> Applied:
        """Alert transitions in (event-time order) → the same, annotated with their
        incident (plus lost-observation warnings), and the incident changes.
        Transitions of one instant make one change per incident. `figures`: the
        engine's (`EngineOutput.figures`, any order), each taken up before the
        changes of its instant."""
        out = Applied()
        pending: Pending = {}
        at: datetime | None = None
        later = sorted(figures, key=lambda f: f[0], reverse=True)
        for event in events:
            if at is not None and event.ts != at:
                self._take_figures(later, at)
                self._flush(pending, out)
            at = event.ts
            self._apply(event, out, pending)
        if at is not None:
            self._take_figures(later, at)
        self._flush(pending, out)
        return out

    def _take_figures(self, later: list[Figures], at: datetime) -> None:
        """Take up the figures of instants up to `at` (`later`: latest first)."""
        until = ts_to_ms(at)
        while later and later[-1][0] <= until:
            _, figures = later.pop()
            for alert, figure in figures.items():
                known = self.figures.get(alert)
                if known is None or known.ts <= figure.ts:
                    self.figures[alert] = figure

    def _apply(
        self,
        event: AlertEvent,
        out: Applied,
        pending: Pending,
    ) -> None:
        eased = _eased(event)
        if eased is not None:
            event = replace(event, details={k: v for k, v in event.details.items() if k != EASED})
        if event.kind == "operations" or event.station not in self.stations:
            out.alerts.append(event)
            return
        head = self.groups.head(event.station)
        key = (head, event.status)
        inc = self.open.get(key)
        if is_stale(event):
            self._stale(event, inc, out, pending)
            return
        if not is_flood(event):
            out.alerts.append(replace(event, incident=inc.id if inc else None))
            if inc is not None:
                self._hold(inc, event)
            return
        if inc is None:
            if event.transition is Transition.RESOLVED:
                out.alerts.append(event)  # resolved after its incident closed (cannot happen)
                return
            start = ts_to_ms(event.ts)
            inc = Incident(episode_id("incident", head, start), head, event.status, start,
                           event.severity)  # fmt: skip
            self.open[key] = inc
            pending[inc.id] = (inc, None, event)
        event = replace(event, incident=inc.id)
        out.alerts.append(event)
        if eased is not None and event.transition in (Transition.RESOLVED, Transition.DOWNGRADED):
            self._easing.setdefault(inc.id, []).append((len(out.alerts) - 1, eased))
        before = pending[inc.id][1] if inc.id in pending else inc.severity
        repeat = inc.alerts.get(event.id) == event  # the same transition again: no news
        if event.transition in (Transition.FIRING, Transition.ESCALATED) and not repeat:
            self._raising.add(inc.id)
        self._hold(inc, event)
        self._settle(inc)
        if inc.id in pending and new_stage(pending[inc.id][2]):
            return  # a new stage of the worst condition stays the instant's cause
        pending[inc.id] = (inc, before, event)

    def _hold(self, inc: Incident, event: AlertEvent) -> None:
        if event.transition is Transition.RESOLVED:
            inc.alerts.pop(event.id, None)
            self.figures.pop(event.id, None)
        else:
            inc.alerts[event.id] = event

    def _settle(self, inc: Incident) -> None:
        """The incident's severity now: the highest flood alert; closed when none is
        left and no gauge of it is lost (never on silence)."""
        now = inc.flood_severity()
        if now is not None:
            inc.severity = now
        elif not inc.lost():
            inc.closed = True
            self.open.pop((inc.head, inc.status), None)

    def _flush(self, pending: Pending, out: Applied) -> None:
        """One change per incident touched in the instant just passed."""
        for inc, before, cause in pending.values():
            self._word_eased(inc, before, out)
            if inc.closed:
                if before is not None:
                    self._emit(inc, Change.ALL_CLEAR, before, cause, out)
                continue
            if before is None:
                self._emit(inc, Change.RAISED, None, cause, out)
            elif inc.severity.rank != before.rank:
                up = inc.severity.rank > before.rank
                self._emit(inc, Change.ESCALATED if up else Change.DOWNGRADED, before, cause, out)
            elif new_stage(cause) and cause.severity is inc.severity:
                self._emit(inc, Change.ESCALATED, before, cause, out)  # e.g. overtopping now
            elif inc.id in self._raising:
                self._emit(inc, Change.UPDATED, before, cause, out)
            self._lose_stale(inc, cause, out)
        pending.clear()
        self._raising.clear()
        self._easing.clear()

    def _word_eased(self, inc: Incident, before: Severity | None, out: Applied) -> None:
        """The alerts of `inc` lowered or lifted in the instant just passed, worded
        as one condition easing while the incident goes on — unless it ended
        (a lifted rule keeps its "预警解除") or was lowered to the alert's own
        colour with it (the rule's "预警降为…" is the incident's news too)."""
        easing = self._easing.pop(inc.id, [])
        if inc.closed:
            return
        names = head_names(self.stations, inc.head)
        lowered = before is not None and inc.severity.rank < before.rank
        for index, eased in easing:
            event = out.alerts[index]
            if event.transition is Transition.DOWNGRADED and event.severity is inc.severity:
                continue
            zh, en = while_incident(
                eased, names, inc.severity, lowered=lowered, exercise=inc.status is Status.EXERCISE
            )
            out.alerts[index] = replace(event, message_zh=zh, message_en=en)

    def _stale(
        self,
        event: AlertEvent,
        inc: Incident | None,
        out: Applied,
        pending: Pending,
    ) -> None:
        skey = (event.station, event.status)
        if event.transition is Transition.RESOLVED:
            self.stale.pop(skey, None)
        else:
            self.stale[skey] = event
        out.alerts.append(replace(event, incident=inc.id if inc else None))
        if inc is None:
            return
        self._hold(inc, event)
        lost = inc.lost().get(event.station)
        if event.transition is Transition.RESOLVED and lost is not None:
            back = self._lost_event(inc, event.station, lost, event.ts, resolved=True)
            inc.alerts.pop(back.id, None)
            out.alerts.append(back)
            before = pending[inc.id][1] if inc.id in pending else inc.severity
            pending[inc.id] = (inc, before, back)
            self._settle(inc)
        elif event.transition is Transition.FIRING:
            raising = inc.id in pending and pending[inc.id][1] is None
            if not raising:  # a new incident reports its lost gauges once raised
                self._lose_stale(inc, event, out)

    def _lose_stale(self, inc: Incident, cause: AlertEvent, out: Applied) -> None:
        """A lost-observation warning for each silent gauge of a warned incident."""
        rule = self.settings.lost_observation
        if not rule.enabled or inc.severity.rank < rule.min_severity.rank:
            return
        lost = inc.lost()
        for station in self.groups.members.get(inc.head, (inc.head,)):
            notice = self.stale.get((station, inc.status))
            if notice is None or station in lost:
                continue
            warning = self._lost_event(inc, station, None, max(cause.ts, notice.ts))
            inc.alerts[warning.id] = warning
            out.alerts.append(warning)
            self._emit(inc, Change.LOST_OBSERVATION, inc.severity, warning, out)

    def _lost_event(
        self,
        inc: Incident,
        station: str,
        opened: AlertEvent | None,
        ts: datetime,
        resolved: bool = False,
    ) -> AlertEvent:
        model = self.stations.get(station)
        name = model.name if model else station
        name_en = (model.name_en or station) if model else station
        kind = model.kinds[0] if model and model.kinds else "level"
        gauge_zh, gauge_en = INSTRUMENT.get(kind, ("监测站", "station"))
        severity = opened.severity if opened else inc.severity
        start = opened.episode_start if opened else ts
        if resolved:
            zh = f"{name}{gauge_zh}已恢复上报。"
            en = f"{name_en} {gauge_en} is reporting again."
        else:
            zh = (f"{name}{gauge_zh}失联，当前{COLOUR_ZH[severity]}预警，"
                  "请巡查责任人立即到现场人工观测。")  # fmt: skip
            en = (f"{name_en} {gauge_en} has gone silent during a {severity.value} warning. "
                  "Patrol: go to the site now and read the gauge by hand.")  # fmt: skip
        return AlertEvent(
            id=episode_id(LOST_RULE, station, ts_to_ms(start)),
            rule=LOST_RULE,
            kind=LOST_KIND,
            station=station,
            station_name=name,
            severity=severity,
            previous_severity=severity if resolved else None,
            transition=Transition.RESOLVED if resolved else Transition.FIRING,
            ts=ts,
            episode_start=start,
            value=None,
            threshold=None,
            unit="",
            status=inc.status,
            message_zh=zh,
            message_en=en,
            details={"gauge": kind},
            incident=inc.id,
        )

    def _emit(
        self,
        inc: Incident,
        change: Change,
        before: Severity | None,
        cause: AlertEvent,
        out: Applied,
    ) -> None:
        active = sorted(inc.alerts.values(), key=worst_first)
        at = ts_to_ms(cause.ts)
        figures = {
            a.id: f
            for a in active
            if (f := self.figures.get(a.id)) is not None and ts_to_ms(a.ts) <= f.ts <= at
        }
        out.changes.append(
            IncidentChange(
                incident=inc.id,
                station=inc.head,
                change=change,
                severity=inc.severity,
                previous_severity=before,
                ts=cause.ts,
                started=ms_to_dt(inc.started_ms),
                status=inc.status,
                alerts=active,
                inhibited=sorted(inhibited(active, self.settings.inhibit)),
                cause=cause,
                figures=figures,
            )
        )


# Among alerts of one severity, the one that says most about the hazard leads.
KIND_ORDER = ("time_to_crest", "freeboard", "level", "compound", "rate_of_rise", "rainfall",
              LOST_KIND, "sensor_health")  # fmt: skip


def worst_first(alert: AlertEvent) -> tuple[int, int, str]:
    order = KIND_ORDER.index(alert.kind) if alert.kind in KIND_ORDER else len(KIND_ORDER)
    return (-alert.severity.rank, order, alert.id)
