"""`sim.scenarios`: named storms and the readings the three gauges of a pond
would send — deterministic for a seed, in event time, with an injected spike or
silence on the level gauge when asked."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from floodwatch.sim.scenarios import SCENARIOS, STEP_S, Scenario, simulate

START = datetime(2026, 7, 6, 16, 0, tzinfo=UTC)


def test_the_hyetograph_holds_the_storm_total_and_peaks_where_asked() -> None:
    storm = SCENARIOS["blocked"]
    steps = [storm.rain_mm_per_h(k / 60) for k in range(24 * 60)]
    assert sum(steps) / 60 == pytest.approx(storm.storm_total_mm, rel=1e-3)
    peak = max(range(len(steps)), key=steps.__getitem__) / 60
    assert peak == pytest.approx(
        storm.storm_start_h + storm.peak_at * storm.storm_hours, abs=1 / 60
    )
    assert storm.rain_mm_per_h(storm.storm_start_h - 0.01) == 0.0
    assert storm.rain_mm_per_h(storm.storm_start_h + storm.storm_hours + 0.01) == 0.0
    assert Scenario("dry", "no rain").rain_mm_per_h(5.0) == 0.0


def test_the_culvert_blocks_over_its_ramp_and_stays_blocked() -> None:
    storm = SCENARIOS["blocked"]
    assert storm.blockage(4.99) == 0.0
    assert storm.blockage(5.0 + 10 / 60) == pytest.approx(0.95 / 2)
    assert storm.blockage(12.0) == pytest.approx(0.95)
    assert SCENARIOS["open"].blockage(12.0) == 0.0


def test_every_scenario_is_described_in_both_languages() -> None:
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name and scenario.description and scenario.description_zh


def test_a_blocked_culvert_overtops_and_an_open_one_holds() -> None:
    blocked, open_ = simulate("blocked"), simulate("open")
    assert blocked.crest_reached is not None and blocked.max_level >= 312.0
    assert blocked.block_start == START + timedelta(hours=5)
    assert open_.crest_reached is None and open_.max_level < 312.0
    assert open_.block_start is None
    quiet = simulate("quiet")
    assert quiet.max_level - 310.3 < 0.2


def test_three_gauges_report_every_interval_from_the_start() -> None:
    result = simulate("flash", interval=timedelta(minutes=10))
    by = {(r.station, r.kind) for r in result.readings}
    assert by == {("maokeng-pond", "level"), ("maokeng-culvert", "flow"), ("maokeng-rain", "rain")}
    pond = [r for r in result.readings if r.kind == "level"]
    assert pond[0].ts == START and len(pond) == 24 * 6 + 1
    assert {b.ts - a.ts for a, b in itertools.pairwise(pond)} == {timedelta(minutes=10)}
    rain = sum(r.value for r in result.readings if r.kind == "rain")
    assert rain == pytest.approx(75.0, abs=0.5)  # each report says the rain since the last
    assert len(result.series["level"]) == 24 * 3600 // STEP_S + 1
    assert min(r.value for r in result.readings if r.kind == "flow") >= 0.0


def test_the_same_seed_gives_the_same_readings_and_another_seed_other_noise() -> None:
    assert simulate("open", seed=3).readings == simulate("open", seed=3).readings
    assert simulate("open", seed=3).readings != simulate("open", seed=4).readings


def test_a_spike_a_silence_and_quiet_ponds_on_request() -> None:
    spike = START + timedelta(hours=2)
    silent = START + timedelta(hours=20)
    result = simulate(
        "quiet", spike_at=spike, silence_from=silent, quiet_ponds={"xiawu-pond": 203.8}
    )
    level = {r.ts: r.value for r in result.readings if r.station == "maokeng-pond"}
    assert level[spike] - level[spike - timedelta(minutes=5)] > 4.9
    assert max(level) < silent  # the level gauge says nothing from then on
    assert max(r.ts for r in result.readings if r.station == "maokeng-rain") == START + timedelta(
        hours=24
    )
    xiawu = [r.value for r in result.readings if r.station == "xiawu-pond"]
    assert len(xiawu) == 24 * 12 + 1 and max(abs(v - 203.8) for v in xiawu) < 0.02


def test_an_unknown_scenario_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="monsoon"):
        simulate("monsoon")
