"""`config.values`: durations, threshold expressions and seasons as YAML hands
them over — units required, YAML 1.1's sexagesimal and booleans refused,
`.nan`/`.inf` refused (a line no reading ever crosses), full-width digits
named, each error saying what would be valid."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
import yaml

from floodwatch.config.values import (
    EXPR_SCHEMA_PATTERN,
    Expr,
    Season,
    format_duration,
    parse_duration,
    parse_expr,
    parse_season,
)
from floodwatch.notify.sinks import config_schema


def yaml_value(text: str) -> object:
    """What the loader's YAML (SafeLoader, YAML 1.1) makes of `key: <text>`."""
    return yaml.safe_load(f"key: {text}")["key"]


# --- durations ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 1h 30m ", timedelta(hours=1, minutes=30)),
        ("90m", timedelta(minutes=90)),  # not normalised, just added up
        ("0s", timedelta(0)),  # parsed; the fields that need more say so themselves
    ],
)
def test_a_duration_with_units(text: str, want: timedelta) -> None:
    assert parse_duration(text) == want


@pytest.mark.parametrize(
    "text",
    ["90 min", "1H", "10", "", "   ", "1h30", "30m1h", "-5m", "1.5h", "PT1H", "10 m s", "1w"],
)
def test_a_duration_without_a_known_unit_says_what_would_be_valid(text: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    assert str(err.value) == (
        f"expected a duration with units, e.g. '90s', '10m', '1h30m', '2d'; got {text!r}"
    )


def test_yaml_numbers_and_booleans_are_not_durations() -> None:
    # YAML 1.1 reads `1:30` as sexagesimal 90, `010` as octal 8, `no` as False
    for text, value in (("1:30", 90), ("010", 8), ("600", 600), ("no", False), ("1.5", 1.5)):
        assert yaml_value(text) == value
        with pytest.raises(ValueError, match=r"; got .* \(give a unit\)$"):
            parse_duration(value)


def test_a_full_width_duration_is_refused_and_named() -> None:
    with pytest.raises(ValueError) as err:
        parse_duration("１０m")
    assert str(err.value).endswith("got '１０m' (type the digits in ASCII, not full-width)")


def test_an_absurdly_long_duration_is_an_error_not_a_crash() -> None:
    # timedelta's own limit raised OverflowError, which pydantic does not turn into a
    # config error: `floodwatch check` ended in a traceback
    with pytest.raises(ValueError, match="of at most 100 years; got '9999999999d'"):
        parse_duration("9999999999d")
    assert parse_duration("36600d") == timedelta(days=36600)  # the limit itself is fine


def test_a_timedelta_passes_through() -> None:
    assert parse_duration(timedelta(minutes=5)) == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=1, seconds=1), "1d1s"),
        (timedelta(milliseconds=1500), "1s"),  # whole seconds only
    ],
)
def test_format_duration_is_the_shortest_parseable_form(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == timedelta(seconds=int(value.total_seconds()))


# --- threshold expressions --------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "want"),
    [
        (310.5, Expr(None, 310.5)),
        (0, Expr(None, 0.0)),
        (-2, Expr(None, -2.0)),
        ("310.5", Expr(None, 310.5)),
        ("1e3", Expr(None, 1000.0)),  # YAML 1.1 reads 1e3 (no dot) as text
        (" .5 ", Expr(None, 0.5)),
        ("crest", Expr("crest", 0.0)),
        ("crest - 0.3", Expr("crest", -0.3)),
        ("flood_limit+1", Expr("flood_limit", 1.0)),
        ("  check_flood   -   0.25 ", Expr("check_flood", -0.25)),
    ],
)
def test_a_threshold_is_a_number_or_a_station_level(given: object, want: Expr) -> None:
    assert parse_expr(given) == want


@pytest.mark.parametrize(
    "given", ["crst - 0.3", "crest * 2", "crest - x", "crest - -1", "", "0x10", "1_000", "1e"]
)
def test_anything_else_says_what_would_be_valid(given: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_expr(given)
    assert str(err.value).startswith("expected a number, or a station level with an optional")
    assert str(err.value).endswith(f"got {given!r}")
    assert "crest, spillway_crest, check_flood" in str(err.value)


@pytest.mark.parametrize(
    "given",
    [
        yaml_value(".nan"),
        yaml_value(".inf"),
        yaml_value("-.inf"),
        10**400,  # an int YAML gives, too large for a float
        "1" * 400,
        "1e400",
        "crest - " + "9" * 400,
    ],
    ids=["nan", "inf", "-inf", "huge int", "huge text", "1e400", "huge offset"],
)
def test_a_threshold_that_no_reading_can_cross_is_refused(given: object) -> None:
    # float('nan') >= x is always False: such a line would never fire
    with pytest.raises(ValueError, match="expected a finite number or a station level"):
        parse_expr(given)


@pytest.mark.parametrize("given", ["nan", "inf", "-Infinity", "NaN"])
def test_nan_and_inf_in_quotes_are_refused_too(given: str) -> None:
    with pytest.raises(ValueError, match="expected a number, or a station level"):
        parse_expr(given)


def test_a_boolean_is_no_threshold() -> None:
    # YAML 1.1: `enter: yes` is True, which Python would take as 1.0
    for text in ("yes", "on", "no"):
        with pytest.raises(ValueError, match=r"got (True|False)$"):
            parse_expr(yaml_value(text))


def test_full_width_digits_in_a_threshold_are_named() -> None:
    with pytest.raises(ValueError) as err:
        parse_expr("３１０.５")
    assert "(type the digits in ASCII, not full-width)" in str(err.value)


def test_a_threshold_prints_as_it_is_written() -> None:
    assert str(parse_expr("crest - 0.3")) == "crest - 0.3"
    assert str(parse_expr("warning + 1.5")) == "warning + 1.5"
    assert str(parse_expr("crest")) == "crest"
    assert str(parse_expr(311)) == "311"
    assert str(parse_expr("-0.5")) == "-0.5"
    expr = Expr("crest", -0.3)
    assert parse_expr(expr) is expr


# --- seasons ----------------------------------------------------------------------


def test_a_season_within_the_year() -> None:
    flood = parse_season("05-01..06-30")
    assert flood == Season((5, 1), (6, 30))
    assert str(flood) == "05-01..06-30"
    assert flood.contains(5, 1) and flood.contains(6, 30) and flood.contains(6, 1)
    assert not flood.contains(4, 30) and not flood.contains(7, 1)


def test_a_season_over_the_new_year() -> None:
    winter = parse_season("11-01..02-29")
    assert winter.contains(11, 1) and winter.contains(12, 31) and winter.contains(1, 1)
    assert winter.contains(2, 29)
    assert not winter.contains(3, 1) and not winter.contains(10, 31)


def test_a_one_day_season() -> None:
    day = parse_season("07-07..07-07")
    assert day.contains(7, 7) and not day.contains(7, 8) and not day.contains(7, 6)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5-1..6-30", "a season is written MM-DD..MM-DD, e.g. '05-01..06-30'; got '5-1..6-30'"),
        ("05-01 .. 06-30", "a season is written MM-DD..MM-DD"),
        ("０５-01..06-30", "a season is written MM-DD..MM-DD"),
        ("13-01..06-30", "13-01 in '13-01..06-30' is not a day of the year"),
        ("02-30..06-30", "02-30 in '02-30..06-30' is not a day of the year"),
        ("05-01..04-31", "04-31 in '05-01..04-31' is not a day of the year"),
        ("00-10..06-30", "00-10 in '00-10..06-30' is not a day of the year"),
        ("05-00..06-30", "05-00 in '05-00..06-30' is not a day of the year"),
    ],
)
def test_a_season_that_is_no_range_of_days(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_season(text)
    assert str(err.value).startswith(message)


# --- the same values in the JSON Schema (`floodwatch schema`) ---------------------

TEXTS = [
    "crest", "crest - 0.3", " warning+1 ", "310.5", "-2", ".5", "1e3", "1.", "crst - 0.3",
    "crest - x", "nan", "inf", "1_000", "0x10", "３１０.５", "", "crest -", "crest - 1e3",
]  # fmt: skip


@pytest.mark.parametrize("text", TEXTS)
def test_the_schema_takes_the_threshold_texts_the_loader_takes(text: str) -> None:
    try:
        parse_expr(text)
        loads = True
    except ValueError:
        loads = False
    assert (re.search(EXPR_SCHEMA_PATTERN, text) is not None) == loads


@pytest.mark.skipif(shutil.which("node") is None, reason="node (ECMA-262 RegExp) not installed")
def test_every_pattern_of_the_schema_is_an_ecma_262_regex() -> None:
    """Editors check YAML against the schema with JavaScript's RegExp, which has no
    `(?P<name>...)`: such a pattern is reported as broken, or the key unchecked."""
    patterns: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.add(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config_schema())
    assert EXPR_SCHEMA_PATTERN in patterns
    script = (
        "const bad = JSON.parse(process.argv[1]).filter(p => "
        "{ try { new RegExp(p, 'u'); return false } catch (e) { return true } });"
        "console.log(JSON.stringify(bad))"
    )
    out = subprocess.run(
        ["node", "-e", script, json.dumps(sorted(patterns))],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(out.stdout) == []
