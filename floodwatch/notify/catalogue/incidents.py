"""The incident messages of the catalogue: a storyline of the catalogue's own
rule events fed through the real incident tracker, and the notice of each
change (`rules.incidents.text`).

The storyline, at the incident with the most rules: every rule of it raised
level by level (blue, yellow, orange, red), the dam overtopping (where a
time-to-crest rule says so), the head station's level gauge falling silent
in the warning and reporting again, then every rule lowered level by level
and lifted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import msgspec

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import WARNING_LEVELS, Severity, Transition
from floodwatch.rules.incidents.text import notice, rule_names
from floodwatch.rules.incidents.tracker import Groups, IncidentTracker

if TYPE_CHECKING:
    from floodwatch.notify.catalogue.entries import Entry
    from floodwatch.rules.compile import CompiledConfig

STEP = timedelta(minutes=5)
WHILE_INCIDENT = "while-incident"  # as `entries.WHILE_INCIDENT` (not imported: a cycle)


def storyline(compiled: CompiledConfig, rules: list[Entry]) -> list[AlertEvent]:
    """Alert transitions of one incident, in time order (see the module docstring)."""
    config = compiled.config
    groups = Groups.of(config.stations, config.engine.incidents)
    by_head: dict[str, list[Entry]] = {}
    for entry in rules:
        if entry.section == "rules" and WHILE_INCIDENT not in entry.notes:
            by_head.setdefault(groups.head(entry.station), []).append(entry)
    if not by_head:
        return []
    head, mine = max(by_head.items(), key=lambda kv: len({e.rule for e in kv[1]}))
    story = _Story(mine)
    story.raise_all()
    over = next(
        (
            e
            for e in mine
            if "overtopping" in e.notes and e.event.transition is Transition.ESCALATED
        ),
        None,
    )
    if over is not None and story.active.get(over.rule) is Severity.RED:
        story.add(over)  # the dam overtopping now, under a red forecast
    stale = [
        e for e in rules if e.section == "sensors" and e.station == head and "/stale" in e.rule
    ]
    for entry in stale[:2]:  # the first gauge's notice and all-clear
        story.add(entry)
    story.lower_all()
    return story.events


class _Story:
    """The storyline's events so far (five minutes apart) and each rule's
    severity in it."""

    def __init__(self, mine: list[Entry]) -> None:
        self.mine = mine  # the entries of the incident's rules
        self.events: list[AlertEvent] = []
        self.active: dict[str, Severity] = {}

    def add(self, entry: Entry) -> None:
        events = self.events
        ts = events[-1].ts + STEP if events else entry.event.ts
        event = msgspec.structs.replace(entry.event, ts=ts)
        known = [e.details["level"] for e in events if e.kind != "rate_of_rise"
                 and isinstance(e.details.get("level"), int | float)]  # fmt: skip
        if event.kind == "rate_of_rise" and known:  # a rise reads the level of the story
            event = msgspec.structs.replace(event, details={**event.details, "level": known[-1]})
        events.append(event)

    def raise_all(self) -> None:
        """Every rule raised level by level, blue to red."""
        mine, active = self.mine, self.active
        for sev in WARNING_LEVELS:
            for rule in dict.fromkeys(e.rule for e in mine):
                step = Transition.ESCALATED if rule in active else Transition.FIRING
                raise_ = _find(mine, rule, sev, step) or _find(mine, rule, sev, Transition.FIRING)
                if raise_ is not None:
                    self.add(msgspec_entry(raise_, step))
                    active[rule] = sev

    def lower_all(self) -> None:
        """Every rule lowered level by level, red to blue, then lifted."""
        mine, active = self.mine, self.active
        for sev in reversed(WARNING_LEVELS):
            for rule, now in list(active.items()):
                if now is not sev:
                    continue
                lower = _lowering(mine, rule, sev)
                if lower is not None:
                    self.add(lower)
                    active[rule] = lower.event.severity
                else:
                    done = _find(mine, rule, sev, Transition.RESOLVED)
                    if done is not None:
                        self.add(done)
                    del active[rule]


def _find(mine: list[Entry], rule: str, sev: Severity, step: Transition) -> Entry | None:
    """The rule's entry for this severity and transition (one with a value)."""
    return next(
        (
            e
            for e in mine
            if e.rule == rule
            and e.event.severity is sev
            and e.event.transition is step
            and e.event.value is not None
        ),
        None,
    )


def _lowering(mine: list[Entry], rule: str, sev: Severity) -> Entry | None:
    """The rule's entry that lowers it from `sev`, if it has one."""
    return next(
        (
            e
            for e in mine
            if e.rule == rule
            and e.event.transition is Transition.DOWNGRADED
            and e.event.previous_severity is sev
        ),
        None,
    )


def msgspec_entry(entry: Entry, step: Transition) -> Entry:
    """The entry as `step` (a first raise used as a further raise keeps its text)."""
    if entry.event.transition is step:
        return entry
    from dataclasses import replace

    return replace(entry, event=msgspec.structs.replace(entry.event, transition=step))


def incident_entries(compiled: CompiledConfig, rules: list[Entry]) -> list[Entry]:
    from floodwatch.notify.catalogue.entries import Entry, spoken

    config = compiled.config
    tracker = IncidentTracker(config.stations, config.engine.incidents)
    stations = {s.id: s for s in config.stations}
    names = rule_names(list(config.rules))
    out: list[Entry] = []
    for event in storyline(compiled, rules):
        for change in tracker.apply([event]).changes:
            message = notice(change, stations, names)
            info = compiled.stations.get(change.station)
            title = f"{change.change.value} · {change.severity.value}"
            if change.previous_severity is not None and change.change.value in (
                "escalated",
                "downgraded",
            ):
                title += f" (from {change.previous_severity.value})"
            said = spoken(compiled, info, message) if info is not None else None
            out.append(Entry("incidents", "incident", title, change.station, message, said))
    return out
