"""Scenario tests: physically simulated storms through the example config."""

from __future__ import annotations

from datetime import timedelta

from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import compile_config
from floodwatch.sim import simulate
from floodwatch.testing import run

CONFIG = compile_config(load_config_dir("config"))
POND_RULES = {"pond-level", "pond-freeboard", "pond-rise", "pond-overtop", "culvert-blocked"}


def test_blocked_culvert_gives_red_30_min_before_overtopping_and_blocked_alert_first() -> None:
    result = simulate("blocked")
    assert result.crest_reached is not None
    events = run(CONFIG, result.readings)
    red = [e for e in events if e.severity.value == "red" and e.rule in POND_RULES]
    assert red, "no red pond warning"
    assert result.crest_reached - red[0].ts >= timedelta(minutes=30)
    blocked = [e for e in events if e.rule == "culvert-blocked"]
    assert blocked and blocked[0].ts < red[0].ts
    # the water balance's own red line (water_balance.levels.red: 1h); what it
    # said is close to the truth, not a straight line's over-forecast
    assert red[0].rule == "pond-overtop" and red[0].forecast
    said = timedelta(minutes=red[0].forecast["minutes_to_crest"])
    assert said <= timedelta(minutes=60)
    assert abs(said - (result.crest_reached - red[0].ts)) <= timedelta(minutes=10)


def test_culvert_open_gives_no_red_pond_warning() -> None:
    result = simulate("open")
    assert result.crest_reached is None
    events = run(CONFIG, result.readings)
    assert not [e for e in events if e.severity.value == "red" and e.rule in POND_RULES]
    assert not [e for e in events if e.rule == "culvert-blocked"]


def test_single_spike_gives_a_sensor_alert_not_a_flood_alert() -> None:
    start = simulate("quiet").readings[0].ts
    result = simulate("quiet", spike_at=start + timedelta(hours=2))
    events = run(CONFIG, result.readings)
    pond = [e for e in events if e.station == "maokeng-pond"]
    assert pond, "expected a sensor alert"
    assert all(e.severity.value == "info" and e.rule.startswith("sensor-health/") for e in pond)


def test_gauge_silent_mid_storm_is_stale_within_15_min_and_keeps_its_alert() -> None:
    base = simulate("blocked")
    silence = base.readings[0].ts + timedelta(hours=6, minutes=30)
    result = simulate("blocked", silence_from=silence)
    events = run(CONFIG, result.readings)
    stale = [e for e in events if e.rule == "sensor-health/stale" and e.station == "maokeng-pond"]
    assert stale and stale[0].ts - silence <= timedelta(minutes=15)
    pond = [e for e in events if e.station == "maokeng-pond" and e.rule in POND_RULES]
    active_before = {e.rule for e in pond if e.ts < silence}
    assert active_before, "expected flood alerts before the silence"
    resolved_after = [e for e in pond if e.ts >= silence and e.transition.value == "resolved"]
    assert resolved_after == []


def test_flash_flood_burst_raises_rain_warnings() -> None:
    events = run(CONFIG, simulate("flash").readings)
    assert any(e.rule == "rain-accumulation" for e in events)


def test_quiet_day_is_quiet() -> None:
    events = run(CONFIG, simulate("quiet", quiet_ponds={"xiawu-pond": 203.8}).readings)
    assert events == []
