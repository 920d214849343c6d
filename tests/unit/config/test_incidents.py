"""`config.incidents` (`engine.incidents`): which linked stations join a
station's incident, more groups told as one, the inhibit rules and the
loss-of-observation warning — their defaults and their own problems."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from floodwatch.alerts.state import Severity
from floodwatch.config.incidents import (
    AlertMatcher,
    IncidentSettings,
    InhibitRule,
    LostObservation,
)


def test_by_default_outlet_and_rain_gauge_join_and_a_crest_forecast_holds_back_levels() -> None:
    settings = IncidentSettings()
    assert settings.links == ["outlet", "rain_gauge"]
    assert settings.groups == []
    assert settings.inhibit == [
        InhibitRule(
            source=AlertMatcher(kinds=["time_to_crest"], min_severity=Severity.RED),
            target=AlertMatcher(kinds=["level", "freeboard"], min_severity=Severity.RED),
        )
    ]
    assert settings.lost_observation == LostObservation(enabled=True, min_severity="yellow")
    assert list(settings.problems()) == []


def test_each_default_is_a_list_of_its_own() -> None:
    one, other = IncidentSettings(), IncidentSettings()
    assert one.links is not other.links and one.inhibit is not other.inhibit


def test_an_empty_matcher_matches_any_alert_from_blue() -> None:
    matcher = AlertMatcher()
    assert (matcher.rules, matcher.kinds, matcher.min_severity) == (None, None, Severity.BLUE)


def test_the_yaml_of_the_docs_reads_as_written() -> None:
    settings = IncidentSettings.model_validate(
        {
            "links": ["outlet", "upstream"],
            "groups": [["xiawu-pond", "xiawu-rain"]],
            "inhibit": [
                {
                    "source": {"rules": ["maokeng-crest"], "min_severity": "orange"},
                    "target": {"kinds": ["rainfall"]},
                }
            ],
            "lost_observation": {"enabled": False, "min_severity": "orange"},
        }
    )
    assert settings.groups == [["xiawu-pond", "xiawu-rain"]]
    assert settings.inhibit[0].source.rules == ["maokeng-crest"]
    assert settings.inhibit[0].target.min_severity is Severity.BLUE
    assert settings.lost_observation.min_severity is Severity.ORANGE
    assert list(settings.problems()) == []


@pytest.mark.parametrize(
    "data",
    [
        {"links": ["sideways"]},  # a link name there is none of
        {"groups": [["p1", "bad id!"]]},
        {"inhibit": [{"source": {}}]},  # no target
        {"lost_observation": {"min_severity": "purple"}},
        {"lost_observatoin": {}},
    ],
)
def test_what_is_not_an_incident_setting_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        IncidentSettings.model_validate(data)


def test_a_sensor_notice_never_inhibits() -> None:
    rule = InhibitRule(source=AlertMatcher(min_severity=Severity.INFO), target=AlertMatcher())
    assert list(rule.problems()) == [
        (("source", "min_severity"), "a sensor notice (info) never inhibits: blue or above")
    ]
    # as a target, info is fine: a red forecast may hold back sensor notices
    fine = InhibitRule(source=AlertMatcher(), target=AlertMatcher(min_severity=Severity.INFO))
    assert list(fine.problems()) == []


def test_the_lost_observation_warning_is_at_a_warning_level() -> None:
    assert list(LostObservation(min_severity=Severity.INFO).problems()) == [
        (("min_severity",), "must be a warning level (blue … red)")
    ]
    assert list(LostObservation(min_severity=Severity.BLUE).problems()) == []


def test_every_problem_of_the_settings_is_at_its_path() -> None:
    info = AlertMatcher(min_severity=Severity.INFO)
    settings = IncidentSettings(
        groups=[["p1", "p2"], ["p3"], []],
        inhibit=[
            InhibitRule(source=AlertMatcher(), target=info),
            InhibitRule(source=info, target=info),
        ],
        lost_observation=LostObservation(min_severity=Severity.INFO),
    )
    assert list(settings.problems()) == [
        (
            ("inhibit", 1, "source", "min_severity"),
            "a sensor notice (info) never inhibits: blue or above",
        ),
        (("lost_observation", "min_severity"), "must be a warning level (blue … red)"),
        (("groups", 1), "a group names at least two stations"),
        (("groups", 2), "a group names at least two stations"),
    ]
