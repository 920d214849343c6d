"""Which destinations an alert transition goes to. Pure.

Routes (in `service.notify.routes`) match on status (actual or exercise),
severity, rule, station, station type, village and town codes, and name
destinations. Whatever the routes say, a destination receives only alerts of
its own `status`: one bound to actual warnings never gets a drill, one bound to
exercise never gets a real warning (the check is here, in one place).
"""

from __future__ import annotations

import hashlib

from floodwatch.alerts.event import AlertEvent
from floodwatch.config.models import NotifySettings, Route
from floodwatch.rules.compile import CompiledConfig


class Router:
    def __init__(self, settings: NotifySettings, compiled: CompiledConfig) -> None:
        self.settings = settings
        self.compiled = compiled

    def destinations(self, event: AlertEvent) -> list[str]:
        """The destinations `event` goes to, each once, in configuration order."""
        out: list[str] = []
        for route in self.settings.routes:
            if not self._matches(route, event):
                continue
            for name in route.to:
                if name not in out and self.settings.destinations[name].status == event.status:
                    out.append(name)
        return out

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
        if route.villages is not None and (
            model is None or model.village is None or model.village.code not in route.villages
        ):
            return False
        return not (
            route.towns is not None
            and (model is None or model.town is None or model.town.code not in route.towns)
        )


def delivery_key(event: AlertEvent, destination: str, recipient: str = "") -> str:
    """Idempotency key of one delivery: the same transition to the same place."""
    raw = "\x1f".join(
        [
            event.id,
            event.transition.value,
            event.severity.value,
            event.ts.isoformat(),
            destination,
            recipient,
        ]
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:32]
