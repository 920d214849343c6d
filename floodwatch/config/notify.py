"""Config models of the alert fan-out (`service.notify`) and of the rosters.

`people:` and `rosters:` are top-level sections (lists, joined across files);
`service.notify` holds destinations, routes and the notification policy. Local
invariants live here; references between them (people named by rosters and
routes) are checked when the config is compiled (`floodwatch.config.rosters`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, Field, Strict, StringConstraints

from floodwatch.alerts.state import Severity, Status
from floodwatch.config.base import Model, Problems
from floodwatch.config.destinations import DestinationBase
from floodwatch.config.values import AdminCode, Duration, Identifier, Text, described

Phone = Annotated[
    str,
    Strict(),
    StringConstraints(
        pattern=described(
            r"^\+?[0-9]{5,20}$", "a phone number: 5 to 20 digits, '+' first if need be, no spaces"
        )
    ),
]

# One person id or a list of them (the schema says both, as the loader takes both).
PersonIds = Annotated[
    list[Identifier],
    BeforeValidator(
        lambda v: [v] if isinstance(v, str) else v,
        json_schema_input_type=Identifier | list[Identifier],
    ),
]
STATION_ROLES = ("administrative", "technical", "patrol")  # 行政 / 技术 / 巡查责任人
ROLE_ZH = {
    "administrative": "行政责任人",
    "technical": "技术责任人",
    "patrol": "巡查责任人",
    "warning_officer": "村预警员",
    "flood_lead": "镇防汛负责人",
}
ROLES = (
    *(f"station.{r}" for r in STATION_ROLES),
    "village.warning_officer",
    "town.flood_lead",
)
RECIPIENT_HELP = f"one of {', '.join(ROLES)}, or person:<id>"


def parse_recipient(value: str) -> tuple[str, str] | None:
    """('role', 'station.patrol') or ('person', 'zhang-wei'); None if neither."""
    if value in ROLES:
        return "role", value
    if value.startswith("person:") and len(value) > len("person:"):
        return "person", value.removeprefix("person:")
    return None


class Person(Model):
    id: Identifier
    name: Text
    phone: Phone


class Roster(Model):
    """Who answers for one station, village or town (exactly one of the three)."""

    station: Identifier | None = None
    village: AdminCode | None = None
    town: AdminCode | None = None
    administrative: PersonIds = Field(default_factory=list, description="行政责任人")
    technical: PersonIds = Field(default_factory=list, description="技术责任人")
    patrol: PersonIds = Field(default_factory=list, description="巡查责任人")
    warning_officer: PersonIds = Field(default_factory=list, description="村预警员")
    flood_lead: PersonIds = Field(default_factory=list, description="镇防汛负责人")

    @property
    def scope(self) -> str:
        return "station" if self.station else "village" if self.village else "town"

    @property
    def subject(self) -> str:
        return self.station or self.village or self.town or ""

    def roles(self) -> dict[str, list[str]]:
        return {
            role: list(getattr(self, role))
            for role in (*STATION_ROLES, "warning_officer", "flood_lead")
            if getattr(self, role)
        }

    def problems(self) -> Problems:
        given = [k for k in ("station", "village", "town") if getattr(self, k) is not None]
        if len(given) != 1:
            yield (), "a roster names exactly one of station, village or town"
            return
        allowed = {
            "station": set(STATION_ROLES),
            "village": {"warning_officer"},
            "town": {"flood_lead"},
        }[given[0]]
        for role in self.roles():
            if role not in allowed:
                yield (role,), f"not a role of a {given[0]} (roles: {', '.join(sorted(allowed))})"


class Route(Model):
    to: list[Identifier] = Field(min_length=1)
    status: Status = Status.ACTUAL
    min_severity: Severity = Severity.INFO
    rules: list[str] | None = None
    stations: list[str] | None = None
    station_types: list[str] | None = None
    villages: list[str] | None = Field(None, description="village codes")
    towns: list[str] | None = Field(None, description="town codes")
    recipients: list[str] = Field(
        default_factory=list, description=f"sms: who gets it ({RECIPIENT_HELP})"
    )
    remind_every: Duration | None = Field(
        None, description="send again at this interval while active and unacknowledged"
    )

    def problems(self) -> Problems:
        for i, recipient in enumerate(self.recipients):
            if parse_recipient(recipient) is None:
                yield (
                    ("recipients", i),
                    f"unknown recipient {recipient!r}; expected {RECIPIENT_HELP}",
                )
        if self.remind_every is not None and self.remind_every < timedelta(minutes=1):
            yield ("remind_every",), "at least 1m"


class AnswerPolicy(Model):
    """Call-and-answer (叫应): a warning the responsible persons must acknowledge.

    The persons a route sends the warning to over `via` are called; unanswered
    after `after`, they are called again (`resends` times), then each tier of
    `escalate` in turn. An acknowledgement (an SMS reply or the command
    center) ends it; what nobody answered stays on the unanswered list.
    """

    severities: list[Severity] = Field(default_factory=lambda: [Severity.ORANGE, Severity.RED])
    after: Duration = Field(timedelta(minutes=5))
    resends: int = Field(1, ge=0)
    via: list[Identifier] = Field(min_length=1, description="sms destinations that call")
    escalate: list[list[str]] = Field(
        default_factory=lambda: [["village.warning_officer"], ["town.flood_lead"]],
        description="the next tiers, in order",
    )

    def problems(self) -> Problems:
        if self.after < timedelta(seconds=1):
            yield ("after",), "at least 1s"
        for i, tier in enumerate(self.escalate):
            for j, recipient in enumerate(tier):
                if parse_recipient(recipient) is None:
                    yield (
                        ("escalate", i, j),
                        f"unknown recipient {recipient!r}; expected {RECIPIENT_HELP}",
                    )


class SmsReply(Model):
    """Where the SMS gateway posts replies (acknowledgements), on `service.http`."""

    token_file: str | None = Field(
        None, description="file holding the token the gateway sends (?token= or X-Token)"
    )


class LostObservationRoute(Model):
    """Who is asked to go and read a gauge by hand (人工观测) when it falls silent
    while its incident is warned; they are called (call-and-answer). Roles
    resolve against the incident's station (the pond)."""

    to: list[Identifier] | None = Field(
        None, description="sms destinations (default: every sms destination of the alert's status)"
    )
    recipients: list[str] = Field(
        default_factory=lambda: ["station.technical", "station.patrol"],
        description=f"who goes to look ({RECIPIENT_HELP})",
    )

    def problems(self) -> Problems:
        for i, recipient in enumerate(self.recipients):
            if parse_recipient(recipient) is None:
                yield (
                    ("recipients", i),
                    f"unknown recipient {recipient!r}; expected {RECIPIENT_HELP}",
                )


class NotifySettings(Model):
    # Each destination is its sink's own model: the loader validates them
    # against the sinks it is given (`config/config_types.py`).
    destinations: dict[Identifier, DestinationBase] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    retry_max: Duration = Field(timedelta(seconds=30), description="longest wait between tries")
    keep: Duration = Field(
        timedelta(days=400),
        description="finished deliveries (and their attempts) older than this are pruned",
    )
    answer: AnswerPolicy | None = Field(None, description="call-and-answer (叫应)")
    lost_observation: LostObservationRoute = Field(
        default_factory=LostObservationRoute,
        description="who is called to observe by hand when a gauge falls silent in a warning",
    )

    def problems(self) -> Problems:
        for name, dest in self.destinations.items():
            for loc, message in dest.problems():
                yield ("destinations", name, *loc), message
        yield from self._route_problems()
        if self.answer is not None:
            for loc, message in self.answer.problems():
                yield ("answer", *loc), message
            for j, name in enumerate(self.answer.via):
                if name not in self.destinations or not self._is_sms(name):
                    yield ("answer", "via", j), f"no sms destination {name!r}"

        lost = self.lost_observation
        for loc, message in lost.problems():
            yield ("lost_observation", *loc), message
        for j, name in enumerate(lost.to or []):
            if name not in self.destinations or not self._is_sms(name):
                yield ("lost_observation", "to", j), f"no sms destination {name!r}"

    def _route_problems(self) -> Problems:
        known = ", ".join(sorted(self.destinations)) or "none"
        for i, route in enumerate(self.routes):
            for j, target in enumerate(route.to):
                if target not in self.destinations:
                    yield ("routes", i, "to", j), f"no destination {target!r} (known: {known})"
            for loc, message in route.problems():
                yield ("routes", i, *loc), message
            sms = [t for t in route.to if t in self.destinations and self._is_sms(t)]
            if sms and not route.recipients:
                yield ("routes", i, "recipients"), f"route to sms {sms[0]!r} names no recipients"

    def people(self, name: str) -> bool:
        """Whether a destination is read or heard by people (sms, broadcast)."""
        return self.destinations[name].people

    def lost_observation_to(self) -> list[str]:
        if self.lost_observation.to is not None:
            return list(self.lost_observation.to)
        return [n for n, d in self.destinations.items() if d.type == "sms"]

    def _is_sms(self, name: str) -> bool:
        return self.destinations[name].type == "sms"

    def broadcasts(self) -> list[str]:
        return [n for n, d in self.destinations.items() if d.type == "broadcast"]
