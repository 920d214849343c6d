"""Route stage: who receives what. Pure (over the router and rosters).

- Machine destinations (kafka, influx, webhook, console) get every alert
  transition the routes send them, one row per transition.
- People (sms, broadcast) get one notice per incident change: the union of
  the targets the routes give each alert the change shows (each alert with its
  own severity, rule and station, so a rain gauge's alert reaches the villages
  it covers). A lost gauge goes to the lost-observation route's persons,
  resolved against the incident's station.
- Notices outside incidents (sensor and operations notices) go to people per
  alert, as the routes say.
"""

from __future__ import annotations

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.routing import Router, Target
from floodwatch.rules.incidents.tracker import Change, IncidentChange


def machine_targets(router: Router, event: AlertEvent) -> list[Target]:
    return [t for t in router.targets(event) if not router.settings.people(t.destination)]


def people_targets(router: Router, event: AlertEvent) -> list[Target]:
    return [t for t in router.targets(event) if router.settings.people(t.destination)]


def incident_targets(
    router: Router, change: IncidentChange, notice: AlertEvent, about: list[AlertEvent]
) -> list[Target]:
    """The people a change of an incident goes to by route for the alerts
    `about` (followers aside)."""
    if not about:
        return []
    if change.change is Change.LOST_OBSERVATION:
        lost = router.settings.lost_observation
        persons = router.rosters.resolve(lost.recipients, change.station)
        return [
            Target(name, person)
            for name in router.settings.lost_observation_to()
            if router.allowed(name, notice)
            for person in persons
        ]
    out: dict[Target, None] = {}
    for alert in about:
        for target in people_targets(router, alert):
            if router.allowed(target.destination, notice):
                out[target] = None
    return list(out)
