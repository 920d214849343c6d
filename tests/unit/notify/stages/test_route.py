"""Route stage (notify/stages/route.py): machine destinations per alert
transition, people per incident change (the union over the alerts it is
about), the lost-observation route for a gauge gone silent."""

from __future__ import annotations

import msgspec

from floodwatch.alerts.state import Severity, Status
from floodwatch.notify.stages.inhibit import shown
from floodwatch.notify.stages.route import incident_targets, machine_targets, people_targets
from floodwatch.rules.incidents.text import notice, rule_names
from floodwatch.rules.incidents.tracker import Change
from tests.unit.notify.stages.example import CONFIG, CREST, LEVEL, RAIN, ROUTER, STATIONS, change_of

NAMES = rule_names(CONFIG.config.rules)


def test_route_stage_machines_per_alert_people_per_incident() -> None:
    change = change_of(LEVEL, CREST, RAIN)
    note = notice(change, STATIONS, NAMES)
    assert [t.destination for t in machine_targets(ROUTER, RAIN)] == ["bus"]
    assert people_targets(ROUTER, RAIN) == []  # the rain gauge has no patrol of its own
    targets = incident_targets(ROUTER, change, note, shown(change))
    assert sorted(t.destination for t in targets) == ["sms", "village"]
    assert incident_targets(ROUTER, change, note, [RAIN]) == []


def test_people_by_route_each_once_over_the_alerts_of_a_change() -> None:
    change = change_of(LEVEL, CREST)
    note = notice(change, STATIONS, NAMES)
    targets = incident_targets(ROUTER, change, note, [LEVEL, CREST, LEVEL])
    assert [(t.destination, t.recipient_id) for t in targets] == [
        ("sms", "wang-qiang"),  # the pond's patrol, once for both alerts
        ("village", "330182104201"),  # pond-overtop alone goes to the village
    ]
    assert incident_targets(ROUTER, change, note, []) == []  # about nothing: nobody


def test_below_a_routes_min_severity_nobody_is_told() -> None:
    yellow = msgspec.structs.replace(LEVEL, severity=Severity.YELLOW)
    assert people_targets(ROUTER, yellow) == []
    assert [t.destination for t in machine_targets(ROUTER, yellow)] == ["bus"]


def test_a_drill_is_not_sent_to_destinations_of_real_alerts() -> None:
    drill = msgspec.structs.replace(LEVEL, status=Status.EXERCISE)
    assert people_targets(ROUTER, drill) == [] and machine_targets(ROUTER, drill) == []
    change = change_of(LEVEL, CREST)
    note = msgspec.structs.replace(notice(change, STATIONS, NAMES), status=Status.EXERCISE)
    assert incident_targets(ROUTER, change, note, [LEVEL, CREST]) == []


def test_a_lost_gauge_goes_to_the_lost_observation_route_at_the_incident_station() -> None:
    change = msgspec.structs.replace(change_of(LEVEL), change=Change.LOST_OBSERVATION)
    note = notice(change_of(LEVEL), STATIONS, NAMES)
    targets = incident_targets(ROUTER, change, note, [change.cause])
    assert [(t.destination, t.recipient_id) for t in targets] == [
        ("sms", "li-na"),  # station.technical
        ("sms", "wang-qiang"),  # station.patrol
    ]
    assert incident_targets(ROUTER, change, note, []) == []
