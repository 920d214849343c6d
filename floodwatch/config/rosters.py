"""Who is told: rosters of responsible persons, resolved per alert. Pure.

A route names recipients by role — `station.administrative`,
`station.technical`, `station.patrol` (the pond's 行政/技术/巡查责任人),
`village.warning_officer` (the village's 预警员), `town.flood_lead` (the
town's 防汛负责人) — or by person (`person:<id>`). A role is resolved against
the alert's station: its own roster, the villages it lies in or covers (a rain
gauge's `covers`), and its town.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from floodwatch.config.base import Problems
from floodwatch.config.models import Config, Station
from floodwatch.config.notify import ROLE_ZH, Person, parse_recipient


@dataclass(frozen=True)
class Recipient:
    person: str  # person id
    name: str
    phone: str
    role: str  # the role it was reached by ('station.patrol', …) or 'person'

    @property
    def role_zh(self) -> str:
        return ROLE_ZH.get(self.role.partition(".")[2], "")


def villages_of(station: Station | None) -> list[str]:
    """Codes of the villages an alert at `station` concerns, its own first."""
    if station is None:
        return []
    codes = [station.village.code] if station.village else []
    return codes + [c for c in station.covers if c not in codes]


class Rosters:
    def __init__(self, config: Config) -> None:
        self.people: dict[str, Person] = {p.id: p for p in config.people}
        self.stations = {s.id: s for s in config.stations}
        # (scope, subject) -> role -> person ids
        self.roles: dict[tuple[str, str], dict[str, list[str]]] = {
            (r.scope, r.subject): r.roles() for r in config.rosters
        }

    def resolve(self, specs: Iterable[str], station_id: str) -> list[Recipient]:
        """The persons `specs` name for an alert at `station_id`, each once, in order."""
        out: dict[str, Recipient] = {}
        station = self.stations.get(station_id)
        for spec in specs:
            for person_id, role in self._persons(spec, station_id, station):
                person = self.people.get(person_id)
                if person is not None and person_id not in out:
                    out[person_id] = Recipient(person.id, person.name, person.phone, role)
        return list(out.values())

    def person_by_phone(self, phone: str) -> Person | None:
        digits = _digits(phone)
        for person in self.people.values():
            if _digits(person.phone) == digits:
                return person
        return None

    def _persons(
        self, spec: str, station_id: str, station: Station | None
    ) -> Iterator[tuple[str, str]]:
        parsed = parse_recipient(spec)
        if parsed is None:
            return
        what, value = parsed
        if what == "person":
            yield value, "person"
            return
        scope, role = value.split(".")
        if scope == "station":
            subjects = [station_id]
        elif scope == "village":
            subjects = villages_of(station)
        else:
            subjects = [station.town.code] if station is not None and station.town else []
        for subject in subjects:
            for person_id in self.roles.get((scope, subject), {}).get(role, []):
                yield person_id, value


def _digits(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def check(config: Config) -> Problems:
    """Cross-references of people, rosters and recipients, as (path, message)."""
    people: set[str] = set()
    for i, person in enumerate(config.people):
        if person.id in people:
            yield ("people", i, "id"), f"duplicate person id {person.id!r}"
        people.add(person.id)
    stations = {s.id for s in config.stations}
    villages = {c for s in config.stations for c in villages_of(s)}
    towns = {s.town.code for s in config.stations if s.town}
    known = {"station": stations, "village": villages, "town": towns}
    seen: set[tuple[str, str]] = set()
    for i, roster in enumerate(config.rosters):
        subject = (roster.scope, roster.subject)
        if roster.subject not in known[roster.scope]:
            yield (
                ("rosters", i, roster.scope),
                f"no {roster.scope} {roster.subject!r} among the stations",
            )
        if subject in seen:
            yield ("rosters", i, roster.scope), f"a second roster for {roster.scope} {subject[1]!r}"
        seen.add(subject)
        for role, ids in roster.roles().items():
            for j, person_id in enumerate(ids):
                if person_id not in people:
                    yield ("rosters", i, role, j), f"no person {person_id!r} in people"
    notify = config.service.notify
    if notify is None:
        return
    specs: list[tuple[tuple[str | int, ...], str]] = [
        (("service", "notify", "routes", i, "recipients", j), spec)
        for i, route in enumerate(notify.routes)
        for j, spec in enumerate(route.recipients)
    ]
    if notify.answer is not None:
        specs += [
            (("service", "notify", "answer", "escalate", i, j), spec)
            for i, tier in enumerate(notify.answer.escalate)
            for j, spec in enumerate(tier)
        ]
    for loc, spec in specs:
        parsed = parse_recipient(spec)
        if parsed is not None and parsed[0] == "person" and parsed[1] not in people:
            yield loc, f"no person {parsed[1]!r} in people"
