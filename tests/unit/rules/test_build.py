"""`rules.build`: fresh runtime state from a compiled config — one series per
(station, kind) it reports, each ring sized for the longest window read on it,
window probes shared between the rules that ask for the same window, each rule
instance on the series it watches, and a quality gate where limits are given
(rain always: it is never negative)."""

from __future__ import annotations

import math

from floodwatch.rules.build import RING_SLACK, Series, build_series
from floodwatch.rules.kinds.compound import CompoundInstance
from floodwatch.rules.kinds.threshold import LevelInstance, RateInstance
from floodwatch.rules.store import Store
from floodwatch.testing import compile_yaml
from tests.conftest import POND

MIN = 60_000

RULES = """
rules:
  - id: level
    kind: level
    stations: [p1]
    levels: {yellow: {enter: design_flood}}
  - id: rise
    kind: rate_of_rise
    stations: [p1]
    window: 30m
    levels: {yellow: {enter: 0.3}}
  - id: rise-fast
    kind: rate_of_rise
    stations: [p1]
    window: 30m
    levels: {red: {enter: 1.0}}
  - id: rise-slow
    kind: rate_of_rise
    stations: [p1]
    window: 2h
    levels: {yellow: {enter: 0.1}}
  - id: rain
    kind: rainfall
    stations: [r1]
    levels: {blue: {within: {1h: 30, 3h: 50}}}
  - id: blocked
    kind: compound
    stations: [p1]
    all:
      - {station: self, metric: rate_of_rise, window: 30m, above: 0.1}
      - {station: $outlet, kind: flow, metric: value, below: 0.05}
    severity: orange
"""


def built(rules: str = RULES) -> dict[tuple[str, str], Series]:
    return build_series(compile_yaml(stations=POND, rules=rules))


def test_one_series_per_station_and_kind_in_a_stable_order() -> None:
    series = built()
    assert list(series) == [("p1", "level"), ("c1", "flow"), ("r1", "rain")]
    assert [s.order for s in series.values()] == [0, 1, 2]
    assert all(s.kind == kind and s.station.id == sid for (sid, kind), s in series.items())


def test_a_ring_holds_the_longest_window_of_its_series_with_slack() -> None:
    series = built()
    level, flow, rain = series.values()
    assert level.window_ms == 120 * MIN and rain.window_ms == 180 * MIN
    assert level.ring is not None and level.ring.cap == math.ceil(24 * RING_SLACK) + 4
    assert rain.ring is not None and rain.ring.cap == math.ceil(36 * RING_SLACK) + 4
    assert flow.ring is None and flow.window_ms == 0  # its last value is all it keeps


def test_rules_asking_for_the_same_window_share_one_probe() -> None:
    level = built()[("p1", "level")]
    windows = sorted(p.window for p in level.rate_probes())
    assert windows == [30 * MIN, 120 * MIN]  # rise, rise-fast and the compound share 30m
    rates = [r for r in level.rules if isinstance(r, RateInstance)]
    assert len(rates) == 3
    assert rates[0].probe is rates[1].probe and rates[0].probe is not rates[2].probe
    assert level.rate_probe(30 * MIN) is rates[0].probe
    assert level.probes == [*level.rate_probes(), *level.accum_probes()]


def test_accumulation_probes_are_one_per_window_and_tolerance() -> None:
    rain = built()[("r1", "rain")]
    probes = rain.accum_probes()
    assert [p.window for p in probes] == [60 * MIN, 180 * MIN]
    tolerance = 0.1  # the rule's missing_tolerance (default)
    assert rain.accum_probe(60 * MIN, tolerance) is probes[0]
    other = rain.accum_probe(60 * MIN, 0.5)  # another tolerance: another probe
    assert other not in probes and len(rain.accum_probes()) == 3


def test_each_rule_instance_sits_on_the_series_it_watches() -> None:
    series = built()
    level, flow, rain = series.values()
    assert [type(r) for r in level.rules][:1] == [LevelInstance]
    assert [r.ctx.rule for r in level.rules] == ["level", "rise", "rise-fast", "rise-slow"]
    assert [r.ctx.rule for r in rain.rules] == ["rain"]
    # a compound rule hangs on every series it reads, as a dependent
    [blocked] = level.dependents
    assert isinstance(blocked, CompoundInstance) and flow.dependents == [blocked]
    assert flow.rules == []


def test_a_gate_where_limits_are_declared_and_on_every_rain_gauge() -> None:
    level, flow, rain = built().values()
    assert level.health is not None and level.health.limits.max_step == 0.3
    assert rain.health is not None and rain.health.limits.min == 0.0  # rain is never negative
    assert flow.health is None  # no limits, not rain: no gate
    assert level.health.interval_ms == 5 * MIN


def test_sensor_health_fits_its_station_with_a_tracking_gate_and_a_stale_time() -> None:
    rules = """
rules:
  - id: health
    kind: sensor_health
    stations: [c1]
"""
    flow = built(rules)[("c1", "flow")]
    assert flow.health is not None and flow.health.track and flow.stale_ms == 15 * MIN


def test_bind_points_a_series_and_its_gate_at_the_stores_row() -> None:
    series = list(built().values())
    store = Store(series)
    rain = series[2]
    rain.last_ts = 123
    rain.last.value = 4.5
    assert rain.health is not None
    rain.health.last_good_ts = 99
    assert store.series["last_ts"][2] == 123 and store.series["lv_value"][2] == 4.5
    assert store.series["h_last_good_ts"].tolist() == [-1, -1, 99]


def test_a_station_without_rules_gets_plain_series() -> None:
    series = built("rules: []\n")
    assert all(s.rules == [] and s.ring is None and s.probes == [] for s in series.values())
