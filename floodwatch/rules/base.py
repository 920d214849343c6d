"""What every rule instance shares: identity, texts, and the alert it drives.

A rule instance is one rule bound to one station. It is fed good readings of
that station's series (in event-time order) by the engine and appends the alert
events its readings cause to the list it is given. It does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from floodwatch.alerts.event import AlertEvent, episode_id
from floodwatch.alerts.messages import EASED, Measure, Place, render
from floodwatch.alerts.state import EvacuationStage, Severity, Status, Transition, transition
from floodwatch.readings import ms_to_dt
from floodwatch.rules.bound import FastBound
from floodwatch.rules.latch import Latch


class Texts(Protocol):
    """A rule's own texts: (severity shown, transition, severity before) ->
    (zh, en); `eased`: the eased clause of a lowered or lifted event
    (`alerts.messages`, module docstring)."""

    def __call__(
        self, shown: Severity, step: Transition, before: Severity | None, /, *, eased: bool = False
    ) -> tuple[str, str]: ...


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Immutable identity of one (rule, station) instance and how it speaks."""

    rule: str
    kind: str
    station: str
    place: Place
    measure: Measure
    unit: str
    levels: tuple[Severity, ...]
    exercise: bool = False
    advice: dict[Severity, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Figure:
    """What a rule instance measures now, as of its latest reading (event time
    `ts`, ms): the value its alert event would carry (level, freeboard, rise,
    rain total, minutes to crest), the forecast and the details. An incident
    notice tells people these, not the value from the alert's last transition
    (`Engine` takes them at each instant that raised an alert)."""

    ts: int
    value: float | None
    forecast: dict[str, float] | None = None
    details: dict[str, object] = field(default_factory=dict)


class AlertTracker:
    """The current severity and episode of one alert; emits one event per change."""

    __slots__ = ("ctx", "episode", "episode_start", "severity")

    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx
        self.severity: Severity | None = None
        self.episode: str | None = None
        self.episode_start = 0

    def change(  # noqa: PLR0913 — keyword-only parts of one transition
        self,
        ts: int,
        severity: Severity | None,
        *,
        value: float | None,
        threshold: float | None,
        forecast: dict[str, float] | None = None,
        stage: EvacuationStage | None = None,
        what: tuple[str, str] = ("", ""),
        details: dict[str, Any] | None = None,
        label: tuple[str, str] | None = None,
        text: Texts | None = None,
        escalate: bool = False,
    ) -> AlertEvent | None:
        """Move to `severity` (None: no alert) at event time `ts`; the event, if any.

        The texts come from `messages.render` unless the rule gives its own `text`.
        A lowered or lifted warning also carries its eased clause in
        `details["eased"]` (`{"zh", "en"}`), for the incident tracker to word
        it while the incident goes on.
        `escalate`: the hazard got worse within the same severity (a dam that now
        overtops under a red forecast) — an `escalated` event even so."""
        before = self.severity
        step = transition(before, severity)
        if step is None and escalate and severity is not None:
            step = Transition.ESCALATED
        if step is None:
            return None
        ctx = self.ctx
        if before is None:
            self.episode_start = ts
            self.episode = episode_id(ctx.rule, ctx.station, ts)
        shown = severity if severity is not None else before
        assert shown is not None and self.episode is not None

        def say(eased: bool) -> tuple[str, str]:
            if text is not None:
                return text(shown, step, before, eased=eased)
            return render(
                place=ctx.place,
                measure=ctx.measure,
                severity=shown,
                transition=step,
                value=value,
                threshold=threshold,
                exercise=ctx.exercise,
                what_zh=what[0],
                what_en=what[1],
                advice=ctx.advice.get(shown),
                stage=stage,
                previous=before,
                label=label,
                eased=eased,
            )

        zh, en = say(False)
        if step in (Transition.RESOLVED, Transition.DOWNGRADED) and shown is not Severity.INFO:
            eased_zh, eased_en = say(True)
            details = {**(details or {}), EASED: {"zh": eased_zh, "en": eased_en}}
        event = AlertEvent(
            id=self.episode,
            rule=ctx.rule,
            kind=ctx.kind,
            station=ctx.station,
            station_name=ctx.place.name,
            severity=shown,
            previous_severity=before,
            transition=step,
            ts=ms_to_dt(ts),
            episode_start=ms_to_dt(self.episode_start),
            value=None if value is None else round(value, 4),
            threshold=None if threshold is None else round(threshold, 4),
            unit=ctx.unit,
            forecast=forecast,
            stage=stage,
            status=Status.EXERCISE if ctx.exercise else Status.ACTUAL,
            message_zh=zh,
            message_en=en,
            details=details or {},
        )
        self.severity = severity
        if severity is None:
            self.episode = None
        return event


class RuleInstance(Protocol):
    """One rule bound to one station.

    `latch` and `tracker` are its whole changing state (snapshots and hot
    reload carry them over); everything else is fixed at build time or lives
    in the store."""

    ctx: RuleContext
    latch: Latch
    tracker: AlertTracker

    def fast_bound(self) -> FastBound | None:
        """The region of input in which this rule cannot act (see `rules.bound`);
        None: no bound, so its series always takes the exact path. Called once,
        when the engine is built."""

    def on_reading(self, ts: int, value: float, out: list[AlertEvent]) -> None:
        """Called with every good reading of the series it watches, in event-time order."""

    def active(self) -> Severity | None:
        """The severity of its alert now (None: no alert)."""

    def figure(self) -> Figure | None:
        """What it measures now, as of its latest reading; None: nothing to tell
        beyond its alert (a compound condition, a sensor check) or not known.
        Called by the engine only while its alert is active, at the end of an
        instant that raised some alert."""
