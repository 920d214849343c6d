"""Every alert event the engine emits reads back from its stored JSON as the same
event: a restart restores active alerts and incidents from those rows."""

from __future__ import annotations

import msgspec

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.sinks import load_config_dir
from floodwatch.replay.run import run_readings
from floodwatch.rules.compile import compile_config
from floodwatch.sim import simulate
from tests.integration.services import ROOT


def test_every_event_of_the_example_storms_survives_its_stored_json() -> None:
    compiled = compile_config(load_config_dir(ROOT / "config"))
    events = []
    for scenario in ("blocked", "flash"):
        storm = simulate(scenario, quiet_ponds={"xiawu-pond": 203.8})
        events += run_readings(compiled, storm.readings).alerts
    assert any(e.forecast and e.forecast.get("overtopping") for e in events)
    for event in events:
        stored = msgspec.json.decode(msgspec.json.encode(event.to_json()))
        assert AlertEvent.from_json(stored) == event
