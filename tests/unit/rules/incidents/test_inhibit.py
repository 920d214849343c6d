"""`rules.incidents.inhibit`: within one incident, an active alert matching an
inhibit rule's `source` leaves the alerts matching its `target` out of the
notifications. A sensor notice never inhibits; no alert inhibits itself."""

from __future__ import annotations

from datetime import UTC, datetime

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.config.incidents import AlertMatcher, IncidentSettings, InhibitRule
from floodwatch.rules.incidents.inhibit import inhibited, matches
from tests.events import alert_event

T0 = datetime(2026, 7, 7, 6, 0, tzinfo=UTC)
R, OR, Y, INFO = Severity.RED, Severity.ORANGE, Severity.YELLOW, Severity.INFO
DEFAULT = IncidentSettings().inhibit  # red time-to-crest holds back red level / freeboard


def alert(rule: str, kind: str, severity: Severity) -> AlertEvent:
    return alert_event(rule, kind, severity, "p1", T0, id=f"{rule}@p1")


def test_a_matcher_takes_every_field_it_gives() -> None:
    level = alert("pond-level", "level", OR)
    assert matches(AlertMatcher(), level)  # empty: any warning
    assert matches(AlertMatcher(kinds=["level"], min_severity=OR), level)
    assert not matches(AlertMatcher(kinds=["level"], min_severity=R), level)
    assert not matches(AlertMatcher(kinds=["freeboard"]), level)
    assert matches(AlertMatcher(rules=["pond-level"], kinds=["level"]), level)
    assert not matches(AlertMatcher(rules=["other"], kinds=["level"]), level)
    assert not matches(AlertMatcher(), alert("s", "sensor_health", INFO))  # below blue


def test_a_red_forecast_holds_back_the_red_level_and_freeboard_but_not_the_rest() -> None:
    crest = alert("pond-overtop", "time_to_crest", R)
    level = alert("pond-level", "level", R)
    freeboard = alert("pond-freeboard", "freeboard", R)
    rain = alert("rain", "rainfall", R)
    assert inhibited([crest, level, freeboard, rain], DEFAULT) == {level.id, freeboard.id}


def test_below_the_source_or_target_severity_nothing_is_held_back() -> None:
    assert inhibited([alert("c", "time_to_crest", OR), alert("l", "level", R)], DEFAULT) == set()
    assert inhibited([alert("c", "time_to_crest", R), alert("l", "level", Y)], DEFAULT) == set()


def test_no_source_no_inhibition_and_no_rules_no_inhibition() -> None:
    level = alert("pond-level", "level", R)
    assert inhibited([level], DEFAULT) == set()
    assert inhibited([alert("c", "time_to_crest", R), level], []) == set()
    assert inhibited([], DEFAULT) == set()


def test_no_alert_inhibits_itself_but_a_second_source_does() -> None:
    """A rule whose source and target both match level alerts: the only level
    alert is not held back by itself; of two, each holds back the other."""
    rule = InhibitRule(source=AlertMatcher(kinds=["level"]), target=AlertMatcher(kinds=["level"]))
    a, b = alert("a", "level", OR), alert("b", "level", R)
    assert inhibited([a], [rule]) == set()
    assert inhibited([a, b], [rule]) == {a.id, b.id}


def test_a_sensor_notice_never_inhibits_even_if_a_rule_would_match_it() -> None:
    # the config refuses min_severity info on a source; build it anyway to be sure
    rule = InhibitRule.model_construct(
        source=AlertMatcher.model_construct(rules=None, kinds=None, min_severity=INFO),
        target=AlertMatcher(kinds=["level"]),
    )
    stale = alert("sensor-health/stale", "sensor_health", INFO)
    assert inhibited([stale, alert("l", "level", R)], [rule]) == set()


def test_the_alerts_are_read_once_even_from_a_generator() -> None:
    crest, level = alert("c", "time_to_crest", R), alert("l", "level", R)
    assert inhibited((a for a in [crest, level]), DEFAULT) == {level.id}
