"""Every text a config can make people read: `floodwatch messages`.

For each rule (at the first station it watches), each of its warning levels
and each transition — raised, raised further, lowered, lifted — the Chinese
and English alert texts and what the village loudspeaker says (CAP); the
sensor notices of each gauge; and the incident messages people are sent,
from a storyline fed through the real incident tracker (every rule of the
incident rising level by level, a gauge falling silent in the warning, then
everything falling back).

Rule texts are made by the same functions the rule kinds call
(`alerts.messages`, `alerts.sensor_text`), from the rule's runtime context
(place, measure, advice) with values on either side of each line, so the
catalogue says what the engine would. `tests/unit/notify/catalogue/test_entries.py` holds
it to the texts of replayed storms (`test_check.py`: to the rules of `check.py`).

Why one module over 400 lines: it turns each rule kind's levels and transitions
into the sample events its texts are made from; the per-kind samples (threshold,
rain, compound, overtopping) share the rule's context and the one sample-event
builder. The incident storyline, the sensor notices, the check and the Markdown
are modules of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from floodwatch.alerts.event import AlertEvent, episode_id
from floodwatch.alerts.messages import (
    EASED,
    Measure,
    balance_reason,
    crest_reason,
    overtopping,
    rain_label,
    render,
    render_compound,
    while_incident,
)
from floodwatch.alerts.state import EvacuationStage, Severity, Transition
from floodwatch.config.values import parse_duration
from floodwatch.notify import cap
from floodwatch.rules.base import RuleContext
from floodwatch.rules.build import build_series
from floodwatch.rules.compile import Binding, CompiledConfig, StationInfo
from floodwatch.rules.incidents.tracker import Groups, head_names
from floodwatch.rules.kinds.compound import CompoundInstance, CompoundRule
from floodwatch.rules.kinds.health import CHECKS, SensorHealthRule
from floodwatch.rules.kinds.rainfall import RainfallRule
from floodwatch.rules.kinds.time_to_crest import TimeToCrestRule

T0 = datetime(2026, 7, 7, 0, 0, tzinfo=UTC)
WHILE_INCIDENT = "while-incident"  # an entry's note: told while its incident stays red
RATE = 0.80  # m/h: the rate of rise the time-to-crest texts are said with
INFLOW, OUTFLOW = 7.5, 2.5  # m³/s: what the water-balance texts are said with
# the crest edge, sampled at a rule's worst level raised: a freeboard past the
# crest (m) and a time to crest under a minute (min)
CREST_PAST, UNDER_A_MINUTE = -0.05, 0.3


@dataclass
class Entry:
    """One text: which rule, station, level and transition make it."""

    section: str  # rules, sensors, incidents
    rule: str
    title: str
    station: str
    event: AlertEvent
    spoken: str | None = None  # the loudspeaker's sentence (CAP), where villages hear it
    units: tuple[str, str] | None = None  # the unit the texts must carry (zh, en)
    style: str = "rising"
    notes: list[str] = field(default_factory=list)

    @property
    def zh(self) -> str:
        return self.event.message_zh

    @property
    def en(self) -> str:
        return self.event.message_en


def contexts(compiled: CompiledConfig) -> dict[tuple[str, str], tuple[RuleContext, object]]:
    """(rule id, station) -> (context, instance) of every rule instance."""
    out: dict[tuple[str, str], tuple[RuleContext, object]] = {}
    for series in build_series(compiled).values():
        for instance in [*series.rules, *series.dependents]:
            out.setdefault((instance.ctx.rule, instance.ctx.station), (instance.ctx, instance))
        if series.health is not None:
            for check in CHECKS:
                tracker = series.health.tracker(check)
                if tracker is None:
                    continue
                key = (tracker.ctx.rule, f"{tracker.ctx.station}/{series.kind}")
                out.setdefault(key, (tracker.ctx, series.health))
    return out


def entries(compiled: CompiledConfig) -> list[Entry]:
    """The whole catalogue: rules, sensor notices, incidents."""
    found = contexts(compiled)
    out: list[Entry] = []
    seen: set[str] = set()
    for binding in compiled.bindings:
        rule = binding.rule
        rid = str(getattr(rule, "id", "?"))
        if rid in seen:
            continue
        seen.add(rid)
        if isinstance(rule, SensorHealthRule):
            from floodwatch.notify.catalogue.sensors import sensor_entries

            out.extend(sensor_entries(binding, found))
            continue
        pair = found.get((rid, binding.station.id))
        if pair is not None:
            out.extend(_rule_entries(compiled, binding, *pair))
    from floodwatch.notify.catalogue.incidents import incident_entries

    out.extend(incident_entries(compiled, out))
    return out


def _steps(levels: list[Severity]) -> Iterator[tuple[Severity, Transition, Severity | None]]:
    """(severity shown, transition, severity before) of every change a rule can make."""
    for i, sev in enumerate(levels):
        yield sev, Transition.FIRING, None
        if i > 0:
            yield sev, Transition.ESCALATED, levels[i - 1]
        if i + 1 < len(levels):
            yield sev, Transition.DOWNGRADED, levels[i + 1]
    for sev in levels:
        yield sev, Transition.RESOLVED, sev


def _rule_entries(
    compiled: CompiledConfig, binding: Binding, ctx: RuleContext, instance: object
) -> list[Entry]:
    rule = binding.rule
    out: list[Entry] = []
    if isinstance(rule, CompoundRule) and isinstance(instance, CompoundInstance):
        for sev, step, before in _steps(list(ctx.levels)):
            out.append(_compound(compiled, binding, ctx, instance, sev, step, before))
    elif isinstance(rule, RainfallRule):
        out = [_rain(compiled, binding, ctx, rule, *s) for s in _steps(list(ctx.levels))]
    else:
        for sev, step, before in _steps([lb.severity for lb in binding.levels]):
            out.extend(_threshold(compiled, binding, ctx, sev, step, before))
        if isinstance(rule, TimeToCrestRule):
            out.extend(_overtopping(compiled, binding, ctx))
    return [told for entry in out for told in (entry, *_while_incident(compiled, entry))]


def _both(
    step: Transition, say: Callable[..., tuple[str, str]]
) -> tuple[str, str, tuple[str, str] | None]:
    """A rule's texts (`say(eased=False)`) and, when it is lowered or lifted, its
    eased clause (`say(eased=True)`)."""
    zh, en = say(eased=False)
    eased = say(eased=True) if step in (Transition.RESOLVED, Transition.DOWNGRADED) else None
    return zh, en, eased


def _while_incident(compiled: CompiledConfig, entry: Entry) -> list[Entry]:
    """A lowered or lifted rule entry as told while its incident stays red (the
    tracker's wording, `messages.while_incident`); none for other entries."""
    said = entry.event.details.get(EASED)
    if not isinstance(said, dict):
        return []
    config = compiled.config
    head = Groups.of(config.stations, config.engine.incidents).head(entry.station)
    zh, en = while_incident(
        (said["zh"], said["en"]),
        head_names({s.id: s for s in config.stations}, head),
        Severity.RED,
        lowered=False,
        exercise=False,
    )
    details = {k: v for k, v in entry.event.details.items() if k != EASED}
    event = with_(entry.event, message_zh=zh, message_en=en, details=details)
    return [dc_replace(entry, event=event, spoken=None, notes=[*entry.notes, WHILE_INCIDENT])]


def _overtopping(compiled: CompiledConfig, binding: Binding, ctx: RuleContext) -> list[Entry]:
    """A time-to-crest rule's level on top of its forecast: overtopping now."""
    crest = binding.extra["target"].at(0)
    below = [lb.severity for lb in binding.levels if lb.severity is not Severity.RED]
    steps: list[tuple[Severity, Transition, Severity | None, float]] = [
        (Severity.RED, Transition.FIRING, None, crest + 0.12),
        (Severity.RED, Transition.FIRING, None, crest),  # at the crest: "已到达坝顶"
        (Severity.RED, Transition.ESCALATED, Severity.RED, crest + 0.12),
        (Severity.RED, Transition.RESOLVED, Severity.RED, crest - 0.08),
    ]
    if below:
        steps.insert(3, (below[-1], Transition.DOWNGRADED, Severity.RED, crest - 0.08))
    out = []
    for sev, step, before, level in steps:
        zh, en, eased = _both(
            step,
            partial(
                overtopping,
                ctx.place,
                level,
                crest,
                transition=step,
                exercise=False,
                advice=ctx.advice.get(sev) if step is Transition.DOWNGRADED else None,
                severity=sev,
            ),
        )
        over = level >= crest
        forecast = {"overtopping": True, "minutes_to_crest": 0.0} if over else None
        event = make_event(
            ctx, sev, step, before, 0.0 if over else None, 0.0, zh, en, forecast, level, eased
        )
        entry = _entry(compiled, binding, ctx, event, ctx.measure)
        entry.units = ("米", "m")  # said as the level against the crest
        entry.notes.append("overtopping")
        out.append(entry)
    return out


def _line(binding: Binding, sev: Severity, exit_: bool) -> float:
    lb = next(lb for lb in binding.levels if lb.severity is sev)
    return (lb.exit if exit_ else lb.enter).at(0)


def _threshold(
    compiled: CompiledConfig,
    binding: Binding,
    ctx: RuleContext,
    sev: Severity,
    step: Transition,
    before: Severity | None,
) -> list[Entry]:
    m = ctx.measure
    delta = 3 * 10.0**-m.digits
    worse = 1.0 if m.style == "rising" else -1.0
    if step is Transition.RESOLVED:
        threshold = _line(binding, sev, exit_=True)
        values: list[float | None] = [threshold - worse * delta]
        if m.style == "time":
            values.append(None)  # the level stopped rising: no forecast at all
    elif step is Transition.DOWNGRADED:
        assert before is not None
        threshold = _line(binding, before, exit_=True)
        values = [threshold - worse * delta]
    else:
        threshold = _line(binding, sev, exit_=False)
        values = [threshold + worse * delta]
        if step is Transition.FIRING and sev is binding.levels[-1].severity:
            values.extend(_edge(m.style))
    out = []
    for value in values:
        what = ("", "")
        forecast = None
        if m.style == "time" and value is not None:
            if binding.extra.get("method") == "water_balance":
                what = balance_reason(INFLOW, OUTFLOW)
                forecast = {"minutes_to_crest": value, "inflow_m3_per_s": INFLOW}
            else:
                what = crest_reason(RATE)
                forecast = {"minutes_to_crest": value, "rate_m_per_h": RATE}
        zh, en, eased = _both(
            step,
            partial(
                render,
                place=ctx.place,
                measure=m,
                severity=sev,
                transition=step,
                value=value,
                threshold=threshold,
                exercise=False,
                what_zh=what[0],
                what_en=what[1],
                advice=ctx.advice.get(sev),
                previous=before,
            ),
        )
        level = _level_at(binding, ctx, value)
        event = make_event(ctx, sev, step, before, value, threshold, zh, en, forecast, level, eased)
        out.append(_entry(compiled, binding, ctx, event, m))
    return out


def _edge(style: str) -> list[float]:
    """Values at the crest edge, after the usual one: a freeboard past the crest
    ("水位已超过坝顶0.05米"), under a minute to it ("预计1分钟内水位到达坝顶")."""
    return {"falling": [CREST_PAST], "time": [UNDER_A_MINUTE]}.get(style, [])


def _level_at(binding: Binding, ctx: RuleContext, value: float | None) -> float | None:
    """The water level the value stands for (for the loudspeaker's sentence)."""
    levels = binding.station.model.levels
    crest = levels.crest if levels is not None else None
    if crest is None or value is None:
        return None
    if ctx.kind == "level":
        return value
    if ctx.kind == "freeboard":
        return crest - value
    if ctx.kind == "time_to_crest":
        return crest - RATE * value / 60
    return crest - 0.8  # rates and others: a level below the crest, for the sentence


def _rain(
    compiled: CompiledConfig,
    binding: Binding,
    ctx: RuleContext,
    rule: RainfallRule,
    sev: Severity,
    step: Transition,
    before: Severity | None,
) -> Entry:
    at = before if step is not Transition.FIRING and step is not Transition.ESCALATED else sev
    assert at is not None
    spec = rule.levels[at.value]  # type: ignore[index]
    window, threshold = min(spec.within.items(), key=lambda kv: parse_duration(kv[0]))
    window_ms = int(parse_duration(window).total_seconds() * 1000)
    raising = step in (Transition.FIRING, Transition.ESCALATED)
    value = threshold + 3 if raising else threshold - 12
    stage = rule.levels[sev.value].stage if step is not Transition.RESOLVED else None  # type: ignore[index]
    zh, en, eased = _both(
        step,
        partial(
            render,
            place=ctx.place,
            measure=ctx.measure,
            severity=sev,
            transition=step,
            value=value,
            threshold=threshold,
            exercise=False,
            advice=ctx.advice.get(sev),
            stage=None if stage is None else EvacuationStage(stage),
            previous=before,
            label=rain_label(window_ms),
        ),
    )
    event = make_event(ctx, sev, step, before, value, threshold, zh, en, None, None, eased)
    event = with_(event, details={**event.details, "window": window}, stage=stage)
    return _entry(compiled, binding, ctx, event, ctx.measure)


def _compound(
    compiled: CompiledConfig,
    binding: Binding,
    ctx: RuleContext,
    instance: CompoundInstance,
    sev: Severity,
    step: Transition,
    before: Severity | None,
) -> Entry:
    values: list[float | None] = []
    for i, condition in enumerate(instance.conditions):
        text = condition.text
        holds = text.bound * 2.4 if text.above else text.bound / 5
        fails = text.bound / 3 if text.above else text.bound * 2
        values.append(fails if step is Transition.RESOLVED and i == 0 else holds)
    said = [c.text.say(v) for c, v in zip(instance.conditions, values, strict=True)]
    zh, en, eased = _both(
        step,
        partial(
            render_compound,
            place=ctx.place,
            name=instance.name,
            severity=sev,
            transition=step,
            said=said,
            exercise=False,
            advice=ctx.advice.get(sev),
        ),
    )
    first = instance.conditions[0].text
    event = make_event(ctx, sev, step, before, values[0], first.bound, zh, en, None, None, eased)
    entry = _entry(compiled, binding, ctx, event, first.measure)
    entry.units = None  # each condition carries its own unit
    return entry


def make_event(  # noqa: PLR0913 — the fields of one sample AlertEvent
    ctx: RuleContext,
    sev: Severity,
    step: Transition,
    before: Severity | None,
    value: float | None,
    threshold: float | None,
    zh: str,
    en: str,
    forecast: dict[str, float] | None,
    level: float | None,
    eased: tuple[str, str] | None = None,
) -> AlertEvent:
    details: dict[str, Any] = {} if level is None else {"level": round(level, 3)}
    if eased is not None:  # as the engine's (`rules.base.AlertTracker.change`)
        details[EASED] = {"zh": eased[0], "en": eased[1]}
    return AlertEvent(
        id=episode_id(ctx.rule, ctx.station, 0),
        rule=ctx.rule,
        kind=ctx.kind,
        station=ctx.station,
        station_name=ctx.place.name,
        severity=sev,
        previous_severity=before,
        transition=step,
        ts=T0,
        episode_start=T0,
        value=value,
        threshold=threshold,
        unit=ctx.unit,
        forecast=forecast,
        message_zh=zh,
        message_en=en,
        details=details,
    )


def with_(event: AlertEvent, **changes: Any) -> AlertEvent:
    import msgspec

    return msgspec.structs.replace(event, **changes)


def _entry(
    compiled: CompiledConfig, binding: Binding, ctx: RuleContext, event: AlertEvent, m: Measure
) -> Entry:
    rule = binding.rule
    name = getattr(rule, "name", None) or ""
    title = f"`{ctx.rule}` {name} ({ctx.kind})".replace("  ", " ")
    units = (m.unit_zh, m.unit_en) if event.value is not None else None
    return Entry(
        "rules",
        ctx.rule,
        title,
        binding.station.id,
        event,
        spoken=spoken(compiled, binding.station, event),
        units=units,
        style=m.style,
    )


def spoken(compiled: CompiledConfig, station: StationInfo, event: AlertEvent) -> str | None:
    """What the loudspeakers of the station's village say (None: no village)."""
    village = station.model.village
    if village is None or event.severity is Severity.INFO:
        return None
    levels = station.model.levels
    crest = levels.crest if levels is not None else None
    return cap.sentence(
        event, cap.Village(village.code, village.name), crest, cap.response_type(event)
    )
