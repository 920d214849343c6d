"""Run a config over history and score what it raised against what happened.

Scoring (per station; events name the station they happened at, and alerts at
the stations it links to — a pond's outlet gauge and rain gauge — count for it):
- an event is a **hit** when the station had an alert of at least
  `min_severity` (any rule) raised within `warning_window` before it — the
  alert was active at some point in [event − window, event] — else a **miss**;
- the **lead time** of each warning severity (blue to red; sensor notices
  are not warnings) is event time − the first time, in that window, the
  station reached that severity (a later escalation does not shorten an
  earlier warning's lead). A severity reached before the window began and
  still active — an alert standing since an earlier storm — has no lead time
  of this event: it is reported as already active before the event (≥ the
  window), never as a lead of exactly the window;
- a miss has lead times only for the lower severities really raised in the
  window (blue before a yellow event floor), never one made up;
- an alert episode reaching `min_severity` is a **false alarm** when no event
  happened at its station (or at a station linking to it) between its start
  and `warning_window` after it ended.

Without an events file only the alert statistics are reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.backtest.history import read_history
from floodwatch.config.base import Model
from floodwatch.config.errors import ConfigError
from floodwatch.config.loader import _from_validation_error
from floodwatch.config.values import Duration
from floodwatch.config.yamlpos import parse_yaml
from floodwatch.replay.localtime import LocalTime
from floodwatch.replay.rejects import RejectTally
from floodwatch.rules.compile import CompiledConfig
from floodwatch.rules.engine import Engine

FAR = datetime.max.replace(tzinfo=UTC)  # "until the end" for an alert still active


class Event(Model):
    station: str
    at: datetime
    what: str = "event"


class EventsFile(Model):
    warning_window: Duration = timedelta(hours=24)
    min_severity: Severity = Severity.YELLOW
    events: list[Event]


def load_events(path: Path) -> EventsFile:
    located, issues = parse_yaml(path, path.read_text(encoding="utf-8"))
    if located is None or issues:
        raise ConfigError(issues)
    try:
        return EventsFile.model_validate(located.data)
    except ValidationError as exc:
        raise ConfigError(_from_validation_error(located, exc)) from None


@dataclass
class Episode:
    id: str
    rule: str
    station: str
    start: datetime
    end: datetime | None  # None: still active at the end of the input
    top: Severity
    reached: dict[Severity, datetime] = field(default_factory=dict)  # first time each

    def duration(self, until: datetime) -> timedelta:
        return (self.end or until) - self.start


@dataclass
class Run:
    """What one config raised over the history."""

    alerts: list[AlertEvent]
    readings: int
    rejected: dict[str, int]
    first: datetime | None
    last: datetime | None
    tally: RejectTally = field(default_factory=RejectTally)  # input rows, refused, a sample

    def episodes(self) -> list[Episode]:
        found: dict[str, Episode] = {}
        for e in self.alerts:
            ep = found.get(e.id)
            if ep is None:
                ep = found[e.id] = Episode(
                    e.id, e.rule, e.station, e.episode_start, None, e.severity
                )
            if e.transition is Transition.RESOLVED:
                ep.end = e.ts
                continue
            ep.reached.setdefault(e.severity, e.ts)
            if e.severity.rank > ep.top.rank:
                ep.top = e.severity
        return sorted(found.values(), key=lambda ep: (ep.start, ep.station, ep.rule))


def run_backtest(
    compiled: CompiledConfig,
    history: Path,
    progress: Callable[[int, int], None] | None = None,
    local: LocalTime | None = None,
) -> Run:
    """The engine over the whole history, in event time, flushed at the end.
    Naive time stamps are read in `local`'s zones."""
    engine = Engine(compiled)
    alerts: list[AlertEvent] = []
    tally = RejectTally()
    readings = 0
    first: datetime | None = None
    for chunk in read_history(history, local):
        readings += len(chunk.readings)
        tally.total += len(chunk.readings) + len(chunk.rejected)
        aware = [r.ts for r in chunk.readings if r.ts.tzinfo is not None]
        if aware and first is None:
            first = min(aware)
        out = engine.process(chunk.readings)
        alerts.extend(out.alerts)
        for r in (*chunk.rejected, *out.rejected):
            tally.add(r)
        if progress is not None:
            progress(chunk.done, chunk.total)
    out = engine.flush()
    alerts.extend(out.alerts)
    for r in out.rejected:
        tally.add(r)
    rejected = dict(tally.by_reason)
    return Run(alerts, readings, rejected, first, engine.clock, tally)


STANDING: Literal["standing"] = "standing"  # active since before the warning window
LeadValue = timedelta | Literal["standing"] | None


@dataclass
class Scored:
    event: Event
    hit: bool
    lead: dict[Severity, timedelta]  # lead time per severity first reached in the window
    standing: set[Severity] = field(default_factory=set)  # active since before the window

    def value(self, severity: Severity) -> LeadValue:
        """The lead time of `severity`, STANDING, or None (not reached)."""
        if severity in self.lead:
            return self.lead[severity]
        return STANDING if severity in self.standing else None


@dataclass
class Score:
    events: list[Scored]
    false_alarms: list[Episode]

    @property
    def hits(self) -> int:
        return sum(s.hit for s in self.events)

    @property
    def misses(self) -> int:
        return len(self.events) - self.hits


def related(compiled: CompiledConfig) -> dict[str, set[str]]:
    """Each station and the stations it links to (outlet, rain gauge, ...)."""
    return {sid: {sid, *info.model.links.values()} for sid, info in compiled.stations.items()}


def score(run: Run, events: EventsFile, links: dict[str, set[str]] | None = None) -> Score:
    window = events.warning_window
    floor = events.min_severity.rank
    links = links or {}
    by_station: dict[str, list[Episode]] = defaultdict(list)
    for ep in run.episodes():
        by_station[ep.station].append(ep)
    scored = []
    for ev in sorted(events.events, key=lambda e: (e.at, e.station)):
        lead: dict[Severity, timedelta] = {}
        standing: set[Severity] = set()
        hit = False
        near = links.get(ev.station, {ev.station})
        for ep in (ep for station in sorted(near) for ep in by_station.get(station, [])):
            active_from, active_to = ep.start, ep.end or FAR
            if active_from > ev.at or active_to < ev.at - window:
                continue  # not active in [event − window, event]
            for severity, when in ep.reached.items():
                if when > ev.at or severity is Severity.INFO:
                    continue
                if when < ev.at - window:
                    standing.add(severity)
                elif severity not in lead or ev.at - when > lead[severity]:
                    lead[severity] = ev.at - when
                if severity.rank >= floor:
                    hit = True
        standing -= set(lead)  # also raised afresh in the window: that is its lead
        ordered = dict(sorted(lead.items(), key=lambda kv: -kv[0].rank))
        scored.append(Scored(ev, hit, ordered, standing))
    false = []
    for ep in run.episodes():
        if ep.top.rank < floor:
            continue
        end = (ep.end or run.last or ep.start) + window
        if not any(
            ep.station in links.get(ev.station, {ev.station}) and ep.start <= ev.at <= end
            for ev in events.events
        ):
            false.append(ep)
    return Score(scored, false)


Key = tuple[str, str, str, str, datetime]


def transition_key(e: AlertEvent) -> Key:
    return (e.rule, e.station, e.severity.value, e.transition.value, e.ts)


@dataclass
class Comparison:
    added: list[AlertEvent]  # raised by the other config only
    removed: list[AlertEvent]  # raised by this config only
    lead: list[tuple[Event, Severity, LeadValue, LeadValue]]  # changed only: this, other
    false_alarms: tuple[int, int]
    hits: tuple[int, int]
    events: int = 0  # events compared (0: no events file)


def compare(
    base: Run, other: Run, base_score: Score | None, other_score: Score | None
) -> Comparison:
    keys_base = {transition_key(e) for e in base.alerts}
    keys_other = {transition_key(e) for e in other.alerts}
    added = [e for e in other.alerts if transition_key(e) not in keys_base]
    removed = [e for e in base.alerts if transition_key(e) not in keys_other]
    lead = []
    if base_score is not None and other_score is not None:
        for a, b in zip(base_score.events, other_score.events, strict=True):
            severities = {*a.lead, *b.lead, *a.standing, *b.standing}
            for severity in sorted(severities, key=lambda s: -s.rank):
                before, after = a.value(severity), b.value(severity)
                if before != after:
                    lead.append((a.event, severity, before, after))
    return Comparison(
        added,
        removed,
        lead,
        (
            len(base_score.false_alarms) if base_score else 0,
            len(other_score.false_alarms) if other_score else 0,
        ),
        (base_score.hits if base_score else 0, other_score.hits if other_score else 0),
        len(base_score.events) if base_score is not None and other_score is not None else 0,
    )


def stats(run: Run) -> list[dict[str, object]]:
    """Per station and rule: transitions by severity, episodes, time in alert."""
    until = run.last or FAR
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for ep in run.episodes():
        row = rows.setdefault(
            (ep.station, ep.rule),
            {"station": ep.station, "rule": ep.rule, "episodes": 0, "time": timedelta(0)},
        )
        row["episodes"] = int(row["episodes"]) + 1  # type: ignore[call-overload]
        row["time"] = row["time"] + ep.duration(until)  # type: ignore[operator]
        for severity in ep.reached:
            row[severity.value] = int(row.get(severity.value, 0)) + 1  # type: ignore[call-overload]
    return [rows[k] for k in sorted(rows)]


def by_severity(alerts: Iterable[AlertEvent]) -> dict[str, int]:
    """How many times each severity was reached (firing or escalated or downgraded to)."""
    counts: dict[str, int] = defaultdict(int)
    for e in alerts:
        if e.transition is not Transition.RESOLVED:
            counts[e.severity.value] += 1
    return dict(counts)
