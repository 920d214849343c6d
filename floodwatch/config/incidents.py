"""Config models of incidents (`engine.incidents`): which stations are told as
one, which alerts hold back which in notifications, and the loss-of-observation
warning.

```yaml
engine:
  incidents:
    links: [outlet, rain_gauge]        # a station's incident takes in these linked stations
    groups: [[xiawu-pond, xiawu-rain]] # more groups, the first station names the incident
    inhibit:                           # in notifications of the same incident
      - source: {kinds: [time_to_crest], min_severity: red}
        target: {kinds: [level, freeboard], min_severity: red}
    lost_observation: {min_severity: yellow}
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from floodwatch.alerts.state import Severity
from floodwatch.config.base import Model, Problems
from floodwatch.config.values import Identifier

LinkName = Literal["outlet", "rain_gauge", "upstream", "downstream"]


class AlertMatcher(Model):
    """Alerts matching every given field (an empty matcher matches any alert)."""

    rules: list[str] | None = None
    kinds: list[str] | None = None
    min_severity: Severity = Severity.BLUE


class InhibitRule(Model):
    """While an alert matching `source` is active in an incident, alerts of the
    same incident matching `target` are left out of its notifications (they are
    still recorded, shown and sent to machine destinations). A sensor notice
    (`info`, such as a stale gauge) never inhibits anything."""

    source: AlertMatcher
    target: AlertMatcher

    def problems(self) -> Problems:
        if self.source.min_severity is Severity.INFO:
            yield (
                ("source", "min_severity"),
                "a sensor notice (info) never inhibits: blue or above",
            )


def _default_links() -> list[LinkName]:
    return ["outlet", "rain_gauge"]


def _default_inhibit() -> list[InhibitRule]:
    red = Severity.RED
    return [
        InhibitRule(
            source=AlertMatcher(kinds=["time_to_crest"], min_severity=red),
            target=AlertMatcher(kinds=["level", "freeboard"], min_severity=red),
        )
    ]


class LostObservation(Model):
    """A gauge of an incident going stale while the incident is at `min_severity`
    or above raises a warning (at the incident's severity) for the people who can
    go and look: 人工观测."""

    enabled: bool = True
    min_severity: Severity = Severity.YELLOW

    def problems(self) -> Problems:
        if self.min_severity is Severity.INFO:
            yield ("min_severity",), "must be a warning level (blue … red)"


class IncidentSettings(Model):
    links: list[LinkName] = Field(
        default_factory=_default_links,
        description="linked stations that join a station's incident",
    )
    groups: list[list[Identifier]] = Field(
        default_factory=list,
        description="more stations told as one incident; the first names it",
    )
    inhibit: list[InhibitRule] = Field(default_factory=_default_inhibit)
    lost_observation: LostObservation = Field(default_factory=LostObservation)

    def problems(self) -> Problems:
        for i, rule in enumerate(self.inhibit):
            for loc, message in rule.problems():
                yield ("inhibit", i, *loc), message
        for loc, message in self.lost_observation.problems():
            yield ("lost_observation", *loc), message
        for i, group in enumerate(self.groups):
            if len(group) < 2:
                yield ("groups", i), "a group names at least two stations"
