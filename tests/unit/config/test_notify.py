"""`config.notify`: people, rosters, routes, call-and-answer and the
lost-observation route (`people:`, `rosters:`, `service.notify`) — recipients
parsed, each model's own problems at their paths, and the references inside
`service.notify` (a route's destinations, `via`, `to`) checked against its
destinations. References to people are the compile step's (`config.rosters`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from floodwatch.alerts.state import Severity, Status
from floodwatch.config.notify import (
    RECIPIENT_HELP,
    AnswerPolicy,
    LostObservationRoute,
    NotifySettings,
    Person,
    Roster,
    Route,
    parse_recipient,
)
from floodwatch.notify.sinks import notify_settings

UNKNOWN = (
    "expected one of station.administrative, station.technical, station.patrol, "
    "village.warning_officer, town.flood_lead, or person:<id>"
)

DESTINATIONS: dict[str, Any] = {
    "sms": {"type": "sms", "record": True},
    "village": {"type": "broadcast", "record": True},
    "log": {"type": "console"},
}


def settings(**data: Any) -> NotifySettings:
    return notify_settings({"destinations": DESTINATIONS, **data})


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("station.patrol", ("role", "station.patrol")),
        ("village.warning_officer", ("role", "village.warning_officer")),
        ("town.flood_lead", ("role", "town.flood_lead")),
        ("person:zhang-wei", ("person", "zhang-wei")),
        ("person:", None),
        ("station.owner", None),
        ("patrol", None),
        ("zhang-wei", None),
        ("Person:zhang-wei", None),
    ],
)
def test_a_recipient_is_a_role_or_a_person(text: str, parsed: tuple[str, str] | None) -> None:
    assert parse_recipient(text) == parsed


def test_the_help_names_every_role() -> None:
    assert RECIPIENT_HELP == (
        "one of station.administrative, station.technical, station.patrol, "
        "village.warning_officer, town.flood_lead, or person:<id>"
    )


@pytest.mark.parametrize("phone", ["+8613800000000", "13800000000", "12345"])
def test_a_phone_number_is_digits_with_an_optional_plus(phone: str) -> None:
    assert Person(id="li", name="李", phone=phone).phone == phone


@pytest.mark.parametrize("phone", ["1234", "138 0000 0000", "+86-138", 13800000000])
def test_a_phone_number_written_otherwise_is_refused(phone: object) -> None:
    """A number YAML reads as an int is refused too: a leading 0 or + would be lost."""
    with pytest.raises(ValidationError):
        Person.model_validate({"id": "li", "name": "李", "phone": phone})


def test_a_roster_takes_one_person_or_a_list_for_each_role() -> None:
    roster = Roster.model_validate(
        {"station": "maokeng", "technical": "li", "patrol": ["wang", "zhao"]}
    )
    assert (roster.scope, roster.subject) == ("station", "maokeng")
    assert roster.roles() == {"technical": ["li"], "patrol": ["wang", "zhao"]}
    assert list(roster.problems()) == []
    village = Roster.model_validate({"village": "330110001001", "warning_officer": "chen"})
    assert (village.scope, village.subject) == ("village", "330110001001")
    town = Roster.model_validate({"town": "330110001", "flood_lead": ["sun"]})
    assert (town.scope, town.subject) == ("town", "330110001")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"station": "p1", "village": "330110001001"},
        {"village": "330110001001", "town": "330110001"},
    ],
)
def test_a_roster_names_exactly_one_station_village_or_town(data: dict[str, str]) -> None:
    assert list(Roster.model_validate(data).problems()) == [
        ((), "a roster names exactly one of station, village or town")
    ]


def test_a_role_belongs_to_its_scope() -> None:
    roster = Roster.model_validate(
        {
            "village": "330110001001",
            "warning_officer": "chen",
            "patrol": "wang",
            "flood_lead": "sun",
        }
    )
    assert list(roster.problems()) == [
        (("patrol",), "not a role of a village (roles: warning_officer)"),
        (("flood_lead",), "not a role of a village (roles: warning_officer)"),
    ]
    town = Roster.model_validate({"town": "330110001", "technical": "li"})
    assert list(town.problems()) == [(("technical",), "not a role of a town (roles: flood_lead)")]
    station = Roster.model_validate({"station": "p1", "flood_lead": "sun"})
    assert list(station.problems()) == [
        (("flood_lead",), "not a role of a station (roles: administrative, patrol, technical)")
    ]


def test_a_route_sends_real_alerts_of_any_severity_by_default() -> None:
    route = Route(to=["log"])
    assert (route.status, route.min_severity, route.remind_every) == (
        Status.ACTUAL,
        Severity.INFO,
        None,
    )
    with pytest.raises(ValidationError):
        Route(to=[])


def test_a_route_s_recipients_and_reminder_are_checked() -> None:
    route = Route.model_validate(
        {
            "to": ["sms"],
            "recipients": ["station.patrol", "pond.technical", "person:li", "li"],
            "remind_every": "30s",
        }
    )
    assert list(route.problems()) == [
        (("recipients", 1), f"unknown recipient 'pond.technical'; {UNKNOWN}"),
        (("recipients", 3), f"unknown recipient 'li'; {UNKNOWN}"),
        (("remind_every",), "at least 1m"),
    ]
    assert list(Route.model_validate({"to": ["sms"], "remind_every": "1m"}).problems()) == []


def test_call_and_answer_calls_orange_and_red_then_the_village_then_the_town() -> None:
    policy = AnswerPolicy(via=["sms"])
    assert policy.severities == [Severity.ORANGE, Severity.RED]
    assert (policy.after, policy.resends) == (timedelta(minutes=5), 1)
    assert policy.escalate == [["village.warning_officer"], ["town.flood_lead"]]
    assert list(policy.problems()) == []
    with pytest.raises(ValidationError):
        AnswerPolicy(via=[])
    with pytest.raises(ValidationError):
        AnswerPolicy.model_validate({"via": ["sms"], "resends": -1})


def test_call_and_answer_waits_a_second_at_least_and_escalates_to_recipients() -> None:
    policy = AnswerPolicy.model_validate(
        {"via": ["sms"], "after": "0s", "escalate": [["person:li"], ["town.flood_lead", "boss"]]}
    )
    assert list(policy.problems()) == [
        (("after",), "at least 1s"),
        (("escalate", 1, 1), f"unknown recipient 'boss'; {UNKNOWN}"),
    ]


def test_a_silent_gauge_calls_the_technical_and_patrol_persons_by_default() -> None:
    route = LostObservationRoute()
    assert (route.to, route.recipients) == (None, ["station.technical", "station.patrol"])
    bad = LostObservationRoute(recipients=["station.patrol", "village.patrol"])
    assert list(bad.problems()) == [
        (("recipients", 1), f"unknown recipient 'village.patrol'; {UNKNOWN}")
    ]


def test_the_notify_settings_know_people_s_destinations_and_the_sms_and_broadcasts() -> None:
    notify = settings()
    assert notify.people("sms") and notify.people("village") and not notify.people("log")
    assert notify.broadcasts() == ["village"]
    assert notify.lost_observation_to() == ["sms"]  # every sms destination
    assert settings(lost_observation={"to": ["sms"]}).lost_observation_to() == ["sms"]
    assert (notify.retry_max, notify.keep) == (timedelta(seconds=30), timedelta(days=400))
    assert list(notify.problems()) == []
    assert NotifySettings().lost_observation_to() == [] and NotifySettings().broadcasts() == []


def test_a_route_names_known_destinations_and_recipients_for_sms() -> None:
    notify = settings(
        routes=[
            {"to": ["log", "dutty"]},
            {"to": ["sms", "village"], "min_severity": "yellow"},
            {"to": ["sms"], "recipients": ["nobody"]},
        ]
    )
    assert list(notify.problems()) == [
        (("routes", 0, "to", 1), "no destination 'dutty' (known: log, sms, village)"),
        (("routes", 1, "recipients"), "route to sms 'sms' names no recipients"),
        (("routes", 2, "recipients", 0), f"unknown recipient 'nobody'; {UNKNOWN}"),
    ]
    bare = notify_settings({"routes": [{"to": ["log"]}]})
    assert list(bare.problems()) == [(("routes", 0, "to", 0), "no destination 'log' (known: none)")]


def test_calls_and_silent_gauge_calls_go_through_sms_destinations_only() -> None:
    notify = settings(
        answer={"via": ["sms", "village", "pager"], "after": "0s"},
        lost_observation={"to": ["log", "sms"], "recipients": ["x"]},
    )
    assert list(notify.problems()) == [
        (("answer", "after"), "at least 1s"),
        (("answer", "via", 1), "no sms destination 'village'"),
        (("answer", "via", 2), "no sms destination 'pager'"),
        (("lost_observation", "recipients", 0), f"unknown recipient 'x'; {UNKNOWN}"),
        (("lost_observation", "to", 0), "no sms destination 'log'"),
    ]


def test_a_destination_s_own_problems_are_at_its_name() -> None:
    notify = notify_settings(
        {"destinations": {"hook": {"type": "webhook"}, "sms": {"type": "sms"}}}
    )
    assert list(notify.problems()) == [
        (("destinations", "hook", "url"), "a webhook destination needs a url"),
        (("destinations", "sms", "provider"), "an sms destination needs a provider"),
    ]
