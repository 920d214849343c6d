"""`floodwatch test-rules`: unit tests for threshold configs, like `promtool test rules`.

A tests file names a config directory, gives short input series in a compact
notation and the alert timeline it expects; each test runs the engine over its
input (to the end: the reorder buffer is flushed) and compares.

    config: ..                      # the config directory, relative to this file
    start: 2026-07-07T00:00:00Z     # default: the time of the first test's input
    interval: 5m                    # default spacing of input values
    tests:
      - name: pond level rises through blue to red
        input:
          maokeng-pond/level: 310.0+0.1x20 312.0x10
          maokeng-culvert/flow: 1.2x30
        stations: [maokeng-pond]    # compare only alerts at these stations (default: all)
        rules: [pond-level]         # compare only these rules' alerts (default: all)
        expect:
          - {at: 1h, rule: pond-level, station: maokeng-pond, severity: blue, transition: firing}

Series notation (as promtool's): `a` one value; `a+bxN` the N+1 values a,
a+b, …, a+N·b (`a-bxN` going down); `axN` N+1 times a; `_` no reading at that
step, `_xN` N+1 steps without one. Items are separated by spaces.

`at` is a duration after `start` (`40m`, `1h5m`) or an ISO time. A test fails
on every expected transition that did not happen and every transition that
happened without being expected, each named on its own line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationError, field_validator

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.config.base import Model
from floodwatch.config.errors import ConfigError, ConfigIssue
from floodwatch.config.loader import _from_validation_error
from floodwatch.config.values import Duration, parse_duration
from floodwatch.config.yamlpos import parse_yaml
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import KINDS, Reading, format_ts, parse_ts
from floodwatch.replay.run import run_readings
from floodwatch.rules.clock import RULE as CLOCK_RULE
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.rules.kinds.health import CHECKS, SensorHealthRule

_ITEM = re.compile(
    r"^(?:(?P<gap>_)|(?P<a>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))"
    r"(?:(?P<sign>[-+])(?P<b>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))?"
    r"(?:x(?P<n>\d+))?$"
)
MAX_VALUES = 100_000


def expand(notation: str) -> list[float | None]:
    """`310+0.1x3 _ 5x1` → [310.0, 310.1, 310.2, 310.3, None, 5.0, 5.0]."""
    out: list[float | None] = []
    for item in notation.split():
        m = _ITEM.match(item)
        if m is None or (m["gap"] and m["b"]):
            raise ValueError(f"{item!r} is not a value, `a+bxN`, `axN`, `_` or `_xN`")
        count = int(m["n"]) + 1 if m["n"] is not None else 1
        if m["b"] is not None and m["n"] is None:
            raise ValueError(f"{item!r}: a step needs a count, as in `{item}x10`")
        if len(out) + count > MAX_VALUES:
            raise ValueError(f"more than {MAX_VALUES} values")
        if m["gap"]:
            out.extend([None] * count)
            continue
        a = float(m["a"])
        step = float(m["b"] or 0) * (-1 if m["sign"] == "-" else 1)
        out.extend(round(a + i * step, 9) for i in range(count))
    return out


class Expected(Model):
    at: str = Field(description="duration after start (40m, 1h5m) or an ISO 8601 time")
    rule: str
    station: str
    severity: Severity
    transition: Transition


def _notation(text: str) -> str:
    expand(text)
    return text


SeriesKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}/[a-z_]+$")]
Notation = Annotated[str, AfterValidator(_notation)]


class RuleTest(Model):
    name: str
    start: datetime | None = None
    interval: Duration | None = None
    input: dict[SeriesKey, Notation]
    stations: list[str] | None = Field(
        None, description="compare only alerts at these stations (default: the file's, or all)"
    )
    rules: list[str] | None = Field(
        None, description="compare only these rules' alerts (default: the file's, or all)"
    )
    expect: list[Expected] = Field(default_factory=list)

    @field_validator("input")
    @classmethod
    def _series(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            kind = key.split("/", 1)[1]
            if kind not in KINDS:
                raise ValueError(f"{key}: kind {kind!r} is not one of {', '.join(KINDS)}")
        return value


class TestsFile(Model):
    config: str = Field("..", description="config directory, relative to this file")
    start: datetime = datetime.fromisoformat("2026-07-07T00:00:00+00:00")
    interval: Duration = timedelta(minutes=5)
    stations: list[str] | None = Field(None, description="default `stations` of every test")
    rules: list[str] | None = Field(None, description="default `rules` of every test")
    tests: list[RuleTest]


Key = tuple[datetime, str, str, Severity, Transition]


@dataclass
class Outcome:
    name: str
    line: int | None
    missing: list[Key]
    unexpected: list[Key]
    start: datetime

    @property
    def passed(self) -> bool:
        return not self.missing and not self.unexpected

    def report(self, file: Path) -> str:
        where = f"{file}:{self.line}" if self.line else str(file)
        if self.passed:
            return f"ok    {self.name}"
        lines = [f"FAIL  {self.name} ({where})"]
        lines += [f"  missing:    {self._text(k)}" for k in self.missing]
        lines += [f"  unexpected: {self._text(k)}" for k in self.unexpected]
        return "\n".join(lines)

    def _text(self, key: Key) -> str:
        ts, rule, station, severity, transition = key
        offset = _offset(ts - self.start)
        return (
            f"at {offset} ({format_ts(ts)}): {rule} {station} {severity.value} {transition.value}"
        )


def load_tests(file: Path) -> tuple[TestsFile, dict[int, int]]:
    """The parsed tests file and the line of each test; ConfigError when invalid."""
    located, issues = parse_yaml(file, file.read_text(encoding="utf-8"))
    if located is None or issues:
        raise ConfigError(issues)
    # Series as written: YAML would read `0x14` as hex 20 and `5` as a number.
    tests = located.data.get("tests") if isinstance(located.data, dict) else None
    for i, test in enumerate(tests if isinstance(tests, list) else []):
        series = test.get("input") if isinstance(test, dict) else None
        if not isinstance(series, dict):
            continue
        for key in list(series):
            written = located.raw_text.get(("tests", i, "input", key))
            if written is not None:
                series[key] = written
    try:
        parsed = TestsFile.model_validate(located.data)
    except ValidationError as exc:
        raise ConfigError(_from_validation_error(located, exc)) from None
    lines = {i: located.positions.get(("tests", i), (0, 0))[0] for i in range(len(parsed.tests))}
    problems: list[ConfigIssue] = []
    for i, test in enumerate(parsed.tests):
        for j, exp in enumerate(test.expect):
            try:
                _at(exp.at, parsed.start)
            except ValueError as exc:
                loc = ("tests", i, "expect", j, "at")
                line = located.position(loc)
                problems.append(ConfigIssue(file, line[0] if line else None, None, loc, str(exc)))
    if problems:
        raise ConfigError(problems)
    return parsed, lines


def run_tests(file: Path) -> list[Outcome]:
    """Run every test of a tests file; ConfigError for a bad file or config."""
    parsed, lines = load_tests(file)
    compiled = compile_config(load_config_dir(file.parent / parsed.config))
    scope_problems(file, parsed, compiled)
    outcomes = []
    for i, test in enumerate(parsed.tests):
        stations = test.stations if test.stations is not None else parsed.stations
        rules = test.rules if test.rules is not None else parsed.rules
        start = test.start or parsed.start
        every = test.interval or parsed.interval
        readings = []
        for key, notation in test.input.items():
            station, kind = key.split("/", 1)
            for step, value in enumerate(expand(str(notation))):
                if value is not None:
                    readings.append(Reading(station, kind, value, start + step * every))  # type: ignore[arg-type]
        readings.sort(key=lambda r: r.ts)
        out = run_readings(compiled, readings)
        if out.rejected:
            first = out.rejected[0]
            raise ConfigError(
                [
                    ConfigIssue(
                        file,
                        lines[i],
                        None,
                        ("tests", i, "input"),
                        f"input refused by the engine: {first.reason.value}: {first.detail}",
                    )
                ]
            )
        actual = [
            _key(e)
            for e in out.alerts
            if (rules is None or e.rule in rules) and (stations is None or e.station in stations)
        ]
        expected = [
            (_at(e.at, start), e.rule, e.station, e.severity, e.transition) for e in test.expect
        ]
        outcomes.append(
            Outcome(
                test.name,
                lines[i],
                missing=_minus(expected, actual),
                unexpected=_minus(actual, expected),
                start=start,
            )
        )
    return outcomes


def scope_problems(file: Path, parsed: TestsFile, compiled: CompiledConfig) -> None:
    """ConfigError for a scope naming what the config lacks, or an expectation
    outside its test's scope (it could never be compared)."""
    located, _ = parse_yaml(file, file.read_text(encoding="utf-8"))
    rules = _rule_names(compiled)
    problems: list[ConfigIssue] = []

    def add(loc: tuple[str | int, ...], message: str) -> None:
        where = located.position(loc) if located is not None else None
        line, column = where if where else (None, None)
        problems.append(ConfigIssue(file, line, column, loc, message))

    scopes: list[tuple[tuple[str | int, ...], RuleTest | TestsFile]] = [((), parsed)]
    scopes += [(("tests", i), test) for i, test in enumerate(parsed.tests)]
    for loc, scope in scopes:
        for j, station in enumerate(scope.stations or []):
            if station not in compiled.stations:
                add((*loc, "stations", j), f"no station {station!r} in the config")
        for j, rule in enumerate(scope.rules or []):
            if rule not in rules:
                add((*loc, "rules", j), f"no rule {rule!r} in the config")
    for i, test in enumerate(parsed.tests):
        stations = test.stations if test.stations is not None else parsed.stations
        named = test.rules if test.rules is not None else parsed.rules
        for j, exp in enumerate(test.expect):
            if stations is not None and exp.station not in stations:
                add(
                    ("tests", i, "expect", j, "station"),
                    f"{exp.station!r} is not among the test's stations ({', '.join(stations)})",
                )
            if named is not None and exp.rule not in named:
                add(
                    ("tests", i, "expect", j, "rule"),
                    f"{exp.rule!r} is not among the test's rules ({', '.join(named)})",
                )
    if problems:
        raise ConfigError(problems)


def _rule_names(compiled: CompiledConfig) -> set[str]:
    """The rule names alerts can carry: rule ids, `id/check` of sensor health
    (`sensor-health/stale`) and the engine's clock notices."""
    names = {CLOCK_RULE}
    for rule in compiled.config.rules:
        names.add(rule.id)
        if isinstance(rule, SensorHealthRule):
            names.update(f"{rule.id}/{check}" for check in CHECKS)
    return names


def _key(e: AlertEvent) -> Key:
    return (e.ts, e.rule, e.station, e.severity, e.transition)


def _minus(a: list[Key], b: list[Key]) -> list[Key]:
    """Multiset difference, in time order."""
    left = list(b)
    out = []
    for key in a:
        if key in left:
            left.remove(key)
        else:
            out.append(key)
    return sorted(out, key=lambda k: (k[0], k[1], k[2]))


def _at(text: str, start: datetime) -> datetime:
    try:
        return start + parse_duration(text)
    except ValueError:
        pass
    try:
        ts = parse_ts(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration after start (40m, 1h5m) nor an ISO 8601 time"
        ) from None
    if ts.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (add Z or +08:00)")
    return ts


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}h{rest:02d}m" if hours else f"{sign}{rest}m"
