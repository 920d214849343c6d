"""Two forecasts side by side over the same history (`backtest --compare`).

For every time-to-crest rule the two configs share (e.g. the same rule with
`method: trend` in one and `method: water_balance` in the other), each event
is scored on that rule's alerts alone: the lead time of its first orange and
first red before the event, and the rule's false alarms — episodes reaching
orange or red with no event at the station within the warning window. That
answers the question a forecast change raises: earlier warnings, and how
many more (or fewer) that came to nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from floodwatch.alerts.state import Severity
from floodwatch.backtest.analysis import Event, EventsFile, Run, score
from floodwatch.rules.compile import CompiledConfig

SHOWN = (Severity.ORANGE, Severity.RED)


@dataclass
class ForecastLead:
    event: Event
    lead: dict[Severity, tuple[timedelta | None, timedelta | None]]  # this, other


@dataclass
class ForecastComparison:
    rule: str
    methods: tuple[str, str]  # e.g. ("trend", "water_balance")
    events: list[ForecastLead]
    false_alarms: tuple[int, int]  # orange or red with no event


def forecast_rules(compiled: CompiledConfig) -> dict[str, str]:
    """Time-to-crest rule id → its forecast method (as bound: auto resolved per station)."""
    found: dict[str, set[str]] = {}
    for b in compiled.bindings:
        if getattr(b.rule, "kind", None) == "time_to_crest":
            found.setdefault(getattr(b.rule, "id", "?"), set()).add(b.extra["method"])
    return {rule: "+".join(sorted(methods)) for rule, methods in found.items()}


def compare_forecasts(
    base: Run,
    other: Run,
    base_config: CompiledConfig,
    other_config: CompiledConfig,
    events: EventsFile,
    links: dict[str, set[str]],
) -> list[ForecastComparison]:
    ours, theirs = forecast_rules(base_config), forecast_rules(other_config)
    strict = events.model_copy(update={"min_severity": Severity.ORANGE})
    out = []
    for rule in sorted(set(ours) & set(theirs)):
        scores = [
            score(replace(run, alerts=[e for e in run.alerts if e.rule == rule]), strict, links)
            for run in (base, other)
        ]
        rows = [
            ForecastLead(a.event, {s: (a.lead.get(s), b.lead.get(s)) for s in SHOWN})
            for a, b in zip(scores[0].events, scores[1].events, strict=True)
        ]
        false = (len(scores[0].false_alarms), len(scores[1].false_alarms))
        out.append(ForecastComparison(rule, (ours[rule], theirs[rule]), rows, false))
    return out
