"""What the stages' tests share (notify/stages/): the example config, a router
over it, alert transitions at the pond and incident changes made of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.notify.routing import Router
from floodwatch.notify.sinks import load_config_dir, notify_settings
from floodwatch.rules.compile import compile_config
from floodwatch.rules.incidents.tracker import IncidentChange, IncidentTracker
from floodwatch.store.ledger import Silence
from tests.events import alert_event

CONFIG = compile_config(load_config_dir("config"))
STATIONS = {s.id: s for s in CONFIG.config.stations}
T0 = datetime(2026, 7, 7, 6, 0, tzinfo=UTC)
ROUTER = Router(
    notify_settings(
        {
            "destinations": {
                "sms": {"type": "sms", "provider": {"url": "http://127.0.0.1:9/"}},
                "village": {"type": "broadcast"},
                "bus": {"type": "kafka", "topic": "alerts"},
            },
            "routes": [
                {"to": ["sms"], "min_severity": "orange", "recipients": ["station.patrol"]},
                {"to": ["village"], "min_severity": "red", "rules": ["pond-overtop"]},
                {"to": ["bus"]},
            ],
        }
    ),
    CONFIG,
)


def alert(rule: str, kind: str, severity: Severity, station: str = "maokeng-pond",
          transition: Transition = Transition.FIRING, minute: int = 0) -> AlertEvent:  # fmt: skip
    return alert_event(
        rule,
        kind,
        severity,
        station,
        T0 + timedelta(minutes=minute),
        station_name=STATIONS[station].name,
        transition=transition,
        episode_start=T0,
    )


LEVEL = alert("pond-level", "level", Severity.RED)
CREST = alert("pond-overtop", "time_to_crest", Severity.RED)
RAIN = alert("rain-accumulation", "rainfall", Severity.ORANGE, "maokeng-rain")


def change_of(*events: AlertEvent) -> IncidentChange:
    tracker = IncidentTracker(CONFIG.config.stations, CONFIG.config.engine.incidents)
    return tracker.apply(events).changes[-1]


def silence(**matchers: list[str]) -> Silence:
    return Silence("s1", 0.0, 1e12, "李工", "检修", **matchers)
