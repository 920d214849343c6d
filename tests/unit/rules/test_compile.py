"""`rules.compile`: validated config models into immutable runtime bindings —
each rule bound to each station it selects, thresholds resolved against the
station (seasonal ones included), dwells in milliseconds — and the checks that
cross models (unique ids and SL 651 addresses, known stations, links and
incident groups, the time zone), every problem reported at once at file:line.
The per-kind checks (level order, hysteresis, rain windows ...) are the kinds'
own and have their own tests (tests/config/test_errors.py names each)."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from floodwatch.config.errors import ConfigError
from floodwatch.config.values import Expr
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import (
    CompiledConfig,
    compile_config,
    dwell_ms,
    ms,
    resolve,
    sorted_levels,
    suggest,
    unit_of,
    window_ms,
)
from floodwatch.testing import compile_yaml
from tests.conftest import POND

LEVEL = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    levels: {yellow: {enter: design_flood}, red: {enter: crest - 0.2}}
"""


def problems(**files: str) -> list[str]:
    """The issues of a config that does not compile, without the temporary path."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files.items():
            Path(tmp, f"{name}.yaml").write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            compile_config(load_config_dir(tmp))
        return [str(issue).replace(f"{tmp}/", "") for issue in caught.value.issues]


def bound(compiled: CompiledConfig) -> list[tuple[str, str]]:
    return [(b.rule.id, b.station.id) for b in compiled.bindings]  # type: ignore[attr-defined]


def test_a_rule_binds_its_named_stations_and_every_station_of_its_types_once() -> None:
    rules = """
rules:
  - id: health
    kind: sensor_health
    stations: [c1]
    station_types: [culvert, rain_gauge]
  - id: lvl
    kind: level
    station_types: [pond]
    levels: {yellow: {enter: design_flood}}
"""
    compiled = compile_yaml(stations=POND, rules=rules)
    assert bound(compiled) == [("health", "c1"), ("health", "r1"), ("lvl", "p1")]
    assert [b.rule_index for b in compiled.bindings] == [0, 0, 1]


def test_a_disabled_rule_is_not_bound_but_still_checked_for_a_unique_id() -> None:
    off = LEVEL + "    enabled: false\n"
    assert bound(compile_yaml(stations=POND, rules=off)) == []
    twice = off + LEVEL.removeprefix("\nrules:\n")
    assert problems(stations=POND, rules=twice) == [
        "rules.yaml:8:5: rules[1].id: duplicate rule id 'lvl'"
    ]


def test_thresholds_dwells_and_station_facts_are_resolved_once() -> None:
    rules = LEVEL.replace("levels:", "for: 10m\n    clear_for: 5m\n    levels:").replace(
        "red: {enter: crest - 0.2}", "red: {enter: crest - 0.2, for: 0s}"
    )
    compiled = compile_yaml(stations=POND, rules=rules)
    [binding] = compiled.bindings
    yellow, red = binding.levels
    assert (yellow.severity.value, yellow.enter.at(0), yellow.for_ms, yellow.clear_ms) == (
        "yellow",
        311.4,
        600_000,
        300_000,
    )
    assert red.enter.at(0) == pytest.approx(311.8)
    assert red.for_ms == 0  # its own 0s: at once, not the rule's 10m
    info = binding.station
    assert (info.id, info.interval_ms, info.place.zh, info.place.en) == (
        "p1",
        300_000,
        "测试山塘",
        "Test pond",
    )
    assert compiled.lateness_ms == 120_000 and compiled.max_future_ms == 600_000
    assert str(compiled.zone) == "Asia/Shanghai" and compiled.exercise is False
    assert compiled.longest_hold_ms() == 600_000


def test_every_cross_reference_problem_is_reported_at_once() -> None:
    stations = (
        POND.replace("links: {outlet: c1}", "links: {outlet: c2}")
        + """
  - id: p1
    name: 重复
    type: pond
"""
    )
    engine = """
engine:
  timezone: Asia/Shangai
  incidents:
    groups: [[p1, r2]]
"""
    rules = LEVEL.replace("stations: [p1]", "stations: [p1, p11]")
    assert problems(stations=stations, rules=rules, engine=engine) == [
        "engine.yaml:3:3: engine.timezone: unknown time zone 'Asia/Shangai'; use an IANA "
        "name such as 'Asia/Shanghai'",
        "engine.yaml:5:19: engine.incidents.groups[0][1]: unknown station 'r2' in an "
        "incident group",
        "rules.yaml:5:20: rules[0].stations[1]: unknown station 'p11' (rule 'lvl') — did "
        "you mean 'p1'?",
        "stations.yaml:10:13: stations[0].links.outlet: links to unknown station 'c2' "
        "(station 'p1')",
        "stations.yaml:20:5: stations[3].id: duplicate station id 'p1'",
    ]


def test_two_stations_with_one_sl651_address_are_refused() -> None:
    stations = POND.replace(
        "    interval: 5m\n    levels:",
        '    interval: 5m\n    sl651: {address: "0033018201", password: "1234"}\n    levels:',
    ).replace(
        "    type: culvert\n",
        '    type: culvert\n    sl651: {address: "0033018201", password: "1234"}\n',
    )
    [issue] = problems(stations=stations)
    assert issue.endswith(
        "stations[1].sl651.address: SL 651 address 0033018201 is already used by station 'p1'"
    )


def test_a_station_that_does_not_report_what_the_rule_reads_is_not_bound() -> None:
    rules = LEVEL.replace("stations: [p1]", "stations: [p1, r1]")
    [issue] = problems(stations=POND, rules=rules)
    assert issue.endswith(
        "rules[0]: station 'r1' does not report 'level' (it reports rain) "
        "(rule 'lvl', station 'r1')"
    )


def test_resolve_a_literal_an_attribute_with_its_offset_a_season_or_nothing() -> None:
    seasonal = POND.replace(
        "flood_limit: 310.6}", "flood_limit: {05-01..09-30: 310.6, default: 311.0}}"
    )
    compiled = compile_yaml(stations=seasonal)
    info, zone = compiled.stations["p1"], compiled.zone
    literal = resolve(Expr(None, 1.5), info, zone)
    assert literal is not None and literal.is_constant and literal.at(0) == 1.5
    crest = resolve(Expr("crest", -0.25), info, zone)
    assert crest is not None and crest.at(0) == 311.75
    limit = resolve(Expr("flood_limit", 0.1), info, zone)
    assert limit is not None and not limit.is_constant
    assert sorted(limit.values()) == [pytest.approx(310.7), pytest.approx(311.1)]
    assert resolve(Expr("warning", 0.0), info, zone) is None  # not given for p1
    assert resolve(Expr("crest", 0.0), compiled.stations["r1"], zone) is None  # no levels


def test_subset_keeps_the_stations_given_and_their_bindings() -> None:
    rules = (
        LEVEL
        + """
  - id: health
    kind: sensor_health
    stations: [p1, c1, r1]
"""
    )
    compiled = compile_yaml(stations=POND, rules=rules)
    part = compiled.subset(["c1", "r1", "nowhere"])
    assert sorted(part.stations) == ["c1", "r1"]
    assert bound(part) == [("health", "c1"), ("health", "r1")]
    assert bound(compiled) != bound(part)  # the original is left as it was


def test_linked_names_the_stations_a_rule_evaluates_together() -> None:
    compound = """
rules:
  - id: blocked
    kind: compound
    stations: [p1]
    severity: orange
    all:
      - {station: self, metric: value, above: design_flood}
      - {station: $outlet, kind: flow, metric: value, below: 0.3}
"""
    assert compile_yaml(stations=POND, rules=compound).linked() == [{"p1", "c1"}]
    assert compile_yaml(stations=POND, rules=LEVEL).linked() == []


def test_the_small_helpers() -> None:
    assert ms(None) == 0 and ms(timedelta(minutes=1, milliseconds=5)) == 60_005
    assert dwell_ms(None, timedelta(minutes=10)) == 600_000
    assert dwell_ms(timedelta(0), timedelta(minutes=10)) == 0
    assert dwell_ms(None, None) == 0
    assert window_ms("1h30m") == 5_400_000
    assert unit_of("level", "freeboard") == "m" and unit_of("level", "rate_of_rise") == "m/h"
    assert unit_of("level", "time_to_crest") == "min" and unit_of("rain", "rainfall") == "mm"
    assert unit_of("weird", "level") == ""
    order = sorted_levels({"red": 1, "blue": 2, "orange": 3, "yellow": 4})
    assert [name for name, _ in order] == ["blue", "yellow", "orange", "red"]
    assert suggest("maokeng-pnd", {"maokeng-pond": None}) == " — did you mean 'maokeng-pond'?"  # type: ignore[dict-item]
    assert suggest("zzz", {"maokeng-pond": None}) == ""  # type: ignore[dict-item]
