"""Each dispatch stage on its own (notify/stages/): pure functions over an
incident change, silences and the example config's routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.notify.records import Person, Recipient, Village
from floodwatch.notify.routing import Router, Target
from floodwatch.notify.sinks import load_config_dir, notify_settings
from floodwatch.notify.stages.enqueue import outgoing
from floodwatch.notify.stages.follow import followers
from floodwatch.notify.stages.inhibit import shown
from floodwatch.notify.stages.route import incident_targets, machine_targets, people_targets
from floodwatch.notify.stages.silence import about, silence_of, split
from floodwatch.rules.compile import compile_config
from floodwatch.rules.incidents.text import notice, rule_names
from floodwatch.rules.incidents.tracker import Change, IncidentChange, IncidentTracker
from floodwatch.store.ledger import Silence

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
    return AlertEvent(
        id=f"{station}:{rule}",
        rule=rule,
        kind=kind,
        station=station,
        station_name=STATIONS[station].name,
        severity=severity,
        previous_severity=None,
        transition=transition,
        ts=T0 + timedelta(minutes=minute),
        episode_start=T0,
        value=None,
        threshold=None,
        unit="",
        message_zh="",
        message_en="",
    )


LEVEL = alert("pond-level", "level", Severity.RED)
CREST = alert("pond-overtop", "time_to_crest", Severity.RED)
RAIN = alert("rain-accumulation", "rainfall", Severity.ORANGE, "maokeng-rain")


def change_of(*events: AlertEvent) -> IncidentChange:
    tracker = IncidentTracker(CONFIG.config.stations, CONFIG.config.engine.incidents)
    return tracker.apply(events).changes[-1]


def silence(**matchers: list[str]) -> Silence:
    return Silence("s1", 0.0, 1e12, "李工", "检修", **matchers)


def test_inhibit_stage_shows_what_the_inhibition_rules_leave() -> None:
    change = change_of(LEVEL, CREST, RAIN)
    assert [a.rule for a in shown(change)] == ["pond-overtop", "rain-accumulation"]


def test_silence_stage_splits_the_alerts_and_an_all_clear_is_about_its_last_alert() -> None:
    change = change_of(LEVEL, CREST, RAIN)
    live, held = split(about(change), [silence(stations=["maokeng-rain"])], STATIONS)
    assert [a.rule for a in live] == ["pond-overtop"] and [a.rule for a in held] == [
        "rain-accumulation"
    ]
    assert silence_of(RAIN, [silence(rules=["pond-level"])], STATIONS) is None
    tracker = IncidentTracker(CONFIG.config.stations, CONFIG.config.engine.incidents)
    tracker.apply([RAIN])
    clear = tracker.apply(
        [alert("rain-accumulation", "rainfall", Severity.ORANGE, "maokeng-rain",
               Transition.RESOLVED, 30)]
    ).changes[0]  # fmt: skip
    assert clear.change is Change.ALL_CLEAR and about(clear) == [clear.cause]


def test_route_stage_machines_per_alert_people_per_incident() -> None:
    change = change_of(LEVEL, CREST, RAIN)
    note = notice(change, STATIONS, rule_names(CONFIG.config.rules))
    assert [t.destination for t in machine_targets(ROUTER, RAIN)] == ["bus"]
    assert people_targets(ROUTER, RAIN) == []  # the rain gauge has no patrol of its own
    targets = incident_targets(ROUTER, change, note, shown(change))
    assert sorted(t.destination for t in targets) == ["sms", "village"]
    assert incident_targets(ROUTER, change, note, [RAIN]) == []


def test_follow_stage_keeps_everyone_told_once() -> None:
    rows: list[tuple[str, Recipient | None]] = [
        ("sms", Person("a", "A", "1", "station.patrol")),
        ("sms", Person("a", "A", "1", "town.flood_lead")),
        ("village", Village("330182104201")),
        ("gone", None),
    ]
    told = followers(rows, lambda d: d != "gone")
    assert [(t.destination, t.recipient_id) for t in told] == [
        ("sms", "a"),
        ("village", "330182104201"),
    ]


def test_enqueue_stage_keys_a_row_by_what_and_to_whom() -> None:
    change = change_of(LEVEL, CREST)
    note = notice(change, STATIONS, rule_names(CONFIG.config.rules))
    one = outgoing(note, Target("village", Village("330182104201")))
    again = outgoing(note, Target("village", Village("330182104201")))
    reminder = outgoing(note, Target("village", Village("330182104201")), "reminder:1")
    assert one.key == again.key != reminder.key and one.event.id == change.incident
