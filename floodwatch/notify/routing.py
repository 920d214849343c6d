"""Which destinations (and which people, which villages) an alert transition
goes to. Pure.

Routes (in `service.notify.routes`) match on status (actual or exercise),
severity, rule, station, station type, village and town codes, and name
destinations. Whatever the routes say, a destination receives only alerts of
its own `status`: one bound to actual warnings never gets a drill, one bound to
exercise never gets a real warning (the check is here, in one place).

A target is a destination and, for an `sms` destination, one person (from the
route's `recipients`, resolved through the rosters); for a `broadcast`
destination, one village (those the station lies in or covers). Sensor and
operations notices (`info`) never go to a village broadcast.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.config.notify import NotifySettings, Route
from floodwatch.config.rosters import Rosters, villages_of
from floodwatch.notify.records import Person, Recipient, Village, recipient_id
from floodwatch.rules.compile import CompiledConfig


@dataclass(frozen=True)
class Target:
    destination: str
    recipient: Recipient | None = None  # sms: a person; broadcast: a village

    @property
    def person(self) -> Person | None:
        """The person of an sms target (None: a village or a machine)."""
        return self.recipient if isinstance(self.recipient, Person) else None

    @property
    def recipient_id(self) -> str:
        """The person id or village code (what the idempotency key names)."""
        return recipient_id(self.recipient)


class Router:
    def __init__(self, settings: NotifySettings, compiled: CompiledConfig) -> None:
        self.settings = settings
        self.compiled = compiled
        self.rosters = Rosters(compiled.config)

    def destinations(self, event: AlertEvent) -> list[str]:
        """The destinations `event` goes to, each once, in configuration order."""
        out: list[str] = []
        for route in self.matching(event):
            for name in route.to:
                if name not in out and self.allowed(name, event):
                    out.append(name)
        return out

    def targets(self, event: AlertEvent, routes: list[Route] | None = None) -> list[Target]:
        """Every (destination, recipient) of `event` under `routes` (default: the
        routes that match it), each once."""
        out: dict[Target, None] = {}
        for route in self.matching(event) if routes is None else routes:
            for name in route.to:
                if not self.allowed(name, event):
                    continue
                for target in self._expand(name, route.recipients, event):
                    out[target] = None
        return list(out)

    def allowed(self, name: str, event: AlertEvent) -> bool:
        dest = self.settings.destinations[name]
        if dest.status != event.status:
            return False
        return not (dest.type == "broadcast" and event.severity is Severity.INFO)

    def _expand(self, name: str, recipients: list[str], event: AlertEvent) -> list[Target]:
        kind = self.settings.destinations[name].type
        if kind == "sms":
            return [
                Target(name, person) for person in self.rosters.resolve(recipients, event.station)
            ]
        if kind == "broadcast":
            info = self.compiled.stations.get(event.station)
            return [
                Target(name, Village(code)) for code in villages_of(info.model if info else None)
            ]
        return [Target(name)]

    def matching(self, event: AlertEvent) -> list[Route]:
        return [route for route in self.settings.routes if self._matches(route, event)]

    def _matches(self, route: Route, event: AlertEvent) -> bool:
        if route.status != event.status or event.severity.rank < route.min_severity.rank:
            return False
        if route.rules is not None and event.rule not in route.rules:
            return False
        if route.stations is not None and event.station not in route.stations:
            return False
        info = self.compiled.stations.get(event.station)
        model = info.model if info is not None else None
        if route.station_types is not None and (
            model is None or model.type not in route.station_types
        ):
            return False
        if route.villages is not None and not set(villages_of(model)) & set(route.villages):
            return False
        return not (
            route.towns is not None
            and (model is None or model.town is None or model.town.code not in route.towns)
        )


def delivery_key(event: AlertEvent, destination: str, recipient: str = "", note: str = "") -> str:
    """Idempotency key of one delivery: the same transition (or the same
    reminder, resend, escalation) to the same place and person."""
    raw = "\x1f".join(
        [
            event.id,
            event.transition.value,
            event.severity.value,
            event.ts.isoformat(),
            destination,
            recipient,
            note,
        ]
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:32]
