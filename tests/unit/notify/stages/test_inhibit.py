"""Inhibit stage (notify/stages/inhibit.py): the alerts an incident change's
notification is about — the flood alerts not inhibited, worst first; the cause
when none is left."""

from __future__ import annotations

import msgspec

from floodwatch.alerts.state import Severity, Transition
from floodwatch.notify.stages.inhibit import shown
from tests.unit.notify.stages.example import CREST, LEVEL, RAIN, alert, change_of


def test_inhibit_stage_shows_what_the_inhibition_rules_leave() -> None:
    change = change_of(LEVEL, CREST, RAIN)
    assert change.inhibited == ["maokeng-pond:pond-level"]
    assert [a.rule for a in shown(change)] == ["pond-overtop", "rain-accumulation"]


def test_without_inhibitions_every_flood_alert_is_shown_worst_first() -> None:
    change = change_of(RAIN, LEVEL)
    assert change.inhibited == []
    assert [a.rule for a in shown(change)] == ["pond-level", "rain-accumulation"]


def test_sensor_notices_and_lost_gauges_are_not_shown_as_flood_conditions() -> None:
    change = change_of(LEVEL)
    stuck = alert("pond-sensor", "stuck", Severity.INFO)
    lost = alert("pond-lost", "observation", Severity.ORANGE)
    mixed = msgspec.structs.replace(change, alerts=[*change.alerts, stuck, lost])
    assert [a.rule for a in shown(mixed)] == ["pond-level"]


def test_with_every_alert_inhibited_or_gone_the_cause_is_what_it_is_about() -> None:
    clear = alert("pond-level", "level", Severity.RED, transition=Transition.RESOLVED, minute=9)
    change = change_of(LEVEL)
    nothing_left = msgspec.structs.replace(change, alerts=[], cause=clear)
    assert shown(nothing_left) == [clear]
    all_inhibited = msgspec.structs.replace(change, inhibited=[a.id for a in change.alerts])
    assert shown(all_inhibited) == [change.cause]
