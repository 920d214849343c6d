"""Routing: routes pick destinations; a drill never reaches an actual-bound one."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Status, Transition
from floodwatch.notify.routing import Router, delivery_key
from floodwatch.notify.sinks import load_config_dir, notify_settings
from floodwatch.rules.compile import compile_config

CONFIG = compile_config(load_config_dir("config"))
STATIONS = sorted(CONFIG.stations)


def event(station: str, severity: Severity, status: Status, rule: str = "pond-level") -> AlertEvent:
    ts = datetime(2026, 7, 7, 5, 0, tzinfo=UTC)
    return AlertEvent(
        id=f"{station}:{rule}:x",
        rule=rule,
        kind="level",
        station=station,
        station_name=station,
        severity=severity,
        previous_severity=None,
        transition=Transition.FIRING,
        ts=ts,
        episode_start=ts,
        value=1.0,
        threshold=1.0,
        unit="m",
        status=status,
        message_zh="",
        message_en="",
    )


routes = st.lists(
    st.fixed_dictionaries(
        {
            "to": st.lists(st.sampled_from(["a1", "a2", "e1"]), min_size=1, max_size=3),
            "status": st.sampled_from(["actual", "exercise"]),
            "min_severity": st.sampled_from([s.value for s in Severity]),
        }
    ),
    max_size=6,
)


@given(
    routes,
    st.sampled_from(STATIONS),
    st.sampled_from(list(Severity)),
    st.sampled_from(list(Status)),
)
def test_no_route_can_send_a_drill_to_an_actual_destination_or_back(
    chosen: list[dict[str, object]], station: str, severity: Severity, status: Status
) -> None:
    settings = notify_settings(
        {
            "destinations": {
                "a1": {"type": "console"},
                "a2": {"type": "console", "status": "actual"},
                "e1": {"type": "console", "status": "exercise"},
            },
            "routes": chosen,
        }
    )
    router = Router(settings, CONFIG)
    for name in router.destinations(event(station, severity, status)):
        assert settings.destinations[name].status == status


def test_routes_match_severity_station_type_and_village() -> None:
    settings = notify_settings(
        {
            "destinations": {"duty": {"type": "console"}, "village": {"type": "console"}},
            "routes": [
                {"to": ["duty"], "min_severity": "orange"},
                {"to": ["village"], "villages": ["330182104201"], "station_types": ["pond"]},
            ],
        }
    )
    router = Router(settings, CONFIG)
    assert router.destinations(event("maokeng-pond", Severity.RED, Status.ACTUAL)) == [
        "duty",
        "village",
    ]
    assert router.destinations(event("maokeng-pond", Severity.BLUE, Status.ACTUAL)) == ["village"]
    assert router.destinations(event("xiawu-pond", Severity.BLUE, Status.ACTUAL)) == []
    assert router.destinations(event("maokeng-rain", Severity.RED, Status.ACTUAL)) == ["duty"]


def test_delivery_keys_differ_by_destination_and_transition() -> None:
    e = event("maokeng-pond", Severity.RED, Status.ACTUAL)
    assert delivery_key(e, "duty") == delivery_key(e, "duty")
    assert delivery_key(e, "duty") != delivery_key(e, "village")
