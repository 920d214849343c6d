"""Small value types of the YAML: durations, threshold expressions, ids, seasons.

Each validates on construction and says what would be valid.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    PlainSerializer,
    Strict,
    StringConstraints,
    WithJsonSchema,
)

# --- patterns -------------------------------------------------------------------

# What a text pattern asks for, in words, by pattern: a config error says this
# ("'33' is not an administrative division code: ...") instead of the regex.
PATTERN_WORDS: dict[str, str] = {}


def described(pattern: str, words: str) -> str:
    """`pattern`, with the words a config error uses for a text not matching it."""
    PATTERN_WORDS[pattern] = words
    return pattern


# --- ids ----------------------------------------------------------------------

ID_PATTERN = described(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    "a valid id: use letters, digits, '_', '-', '.', starting with a letter or digit, "
    "at most 64 characters",
)
Identifier = Annotated[str, Strict(), StringConstraints(pattern=ID_PATTERN)]
AdminCode = Annotated[
    str,
    Strict(),
    StringConstraints(
        pattern=described(
            r"^[0-9]{6,15}$", 'an administrative division code: 6 to 15 digits, e.g. "330182104"'
        )
    ),
]
Text = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=200)]

# --- durations ----------------------------------------------------------------

# [0-9], not \d: the same digits (ASCII) in Python and in an editor's ECMA-262
# regex when the pattern is used in the JSON Schema
_DURATION_RE = re.compile(
    r"^\s*(?:([0-9]+)d)?\s*(?:([0-9]+)h)?\s*(?:([0-9]+)m)?\s*(?:([0-9]+)s)?\s*$"
)
DURATION_HELP = "a duration with units, e.g. '90s', '10m', '1h30m', '2d'"
_LONGEST = timedelta(days=100 * 366)  # longer than any window, dwell or retention


def _full_width(value: str) -> str:
    """A hint when `value` holds digits other than ASCII ones (a full-width '１０')."""
    if any(c.isdigit() and not c.isascii() for c in value):
        return " (type the digits in ASCII, not full-width)"
    return ""


def parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected {DURATION_HELP}; got {value!r} (give a unit)")
    match = _DURATION_RE.match(value)
    if not value.strip() or match is None or not any(match.groups()):
        raise ValueError(f"expected {DURATION_HELP}; got {value!r}{_full_width(value)}")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    total = days * 86400 + hours * 3600 + minutes * 60 + seconds
    if total > _LONGEST.total_seconds():
        raise ValueError(f"expected {DURATION_HELP} of at most 100 years; got {value!r}")
    return timedelta(seconds=total)


def format_duration(value: timedelta) -> str:
    total = int(value.total_seconds())
    if total == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": _DURATION_RE.pattern, "examples": ["10m", "1h30m"]}
    ),
]

# --- threshold expressions ------------------------------------------------------

STATION_ATTRIBUTES = (
    "crest",
    "spillway_crest",
    "check_flood",
    "design_flood",
    "flood_limit",
    "warning",
    "guarantee",
)
_EXPR_RE = re.compile(
    r"^\s*(?P<attr>[a-z_]+)\s*(?:(?P<op>[+-])\s*(?P<num>\d+(?:\.\d+)?))?\s*$", re.ASCII
)
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER_RE = re.compile(rf"^\s*{_NUMBER}\s*$")
# What the loader takes as text, for the JSON Schema: no named groups (not
# ECMA-262, which editors use), and a number in quotes ("310.5") as well
EXPR_SCHEMA_PATTERN = (
    rf"^\s*(?:(?:{'|'.join(STATION_ATTRIBUTES)})\s*(?:[+-]\s*[0-9]+(?:\.[0-9]+)?)?|{_NUMBER})\s*$"
)
EXPR_HELP = (
    "a number, or a station level with an optional offset such as "
    "'crest - 0.3' (levels: " + ", ".join(STATION_ATTRIBUTES) + ")"
)


@dataclass(frozen=True)
class Expr:
    """A threshold value: a literal, or a station attribute plus an offset."""

    attribute: str | None
    offset: float

    def __str__(self) -> str:
        if self.attribute is None:
            return f"{self.offset:g}"
        if self.offset == 0:
            return self.attribute
        sign = "+" if self.offset > 0 else "-"
        return f"{self.attribute} {sign} {abs(self.offset):g}"


def parse_expr(value: Any) -> Expr:
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected {EXPR_HELP}; got {value!r}")
    if isinstance(value, int | float):
        return Expr(None, _finite(value, value))
    if isinstance(value, str):
        match = _EXPR_RE.match(value)
        if match and match["attr"] in STATION_ATTRIBUTES:
            offset = _finite(match["num"] or 0.0, value)
            return Expr(match["attr"], -offset if match["op"] == "-" else offset)
        if _NUMBER_RE.match(value):  # not 'nan', 'inf', '1_0', '0x10' or full-width
            return Expr(None, _finite(value, value))
        raise ValueError(f"expected {EXPR_HELP}; got {value!r}{_full_width(value)}")
    raise ValueError(f"expected {EXPR_HELP}; got {value!r}")


def _finite(number: str | float, given: Any) -> float:
    """`number` as a float; YAML's .nan / .inf or a number too large for a float
    would be a line no reading ever crosses (an alert that can never fire)."""
    try:
        out = float(number)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        raise ValueError(f"expected a finite number or a station level; got {given!r}")
    return out


ThresholdExpr = Annotated[
    Expr,
    BeforeValidator(parse_expr),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": EXPR_SCHEMA_PATTERN, "examples": ["crest - 0.3"]},
            ]
        }
    ),
]

# --- seasons (month-day ranges) -------------------------------------------------

_SEASON_RE = re.compile(r"^(\d\d)-(\d\d)\.\.(\d\d)-(\d\d)$", re.ASCII)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class Season:
    """An inclusive range of month-days, e.g. 05-01..06-30 (may wrap the new year)."""

    start: tuple[int, int]
    end: tuple[int, int]

    def contains(self, month: int, day: int) -> bool:
        if self.start <= self.end:
            return self.start <= (month, day) <= self.end
        return (month, day) >= self.start or (month, day) <= self.end

    def __str__(self) -> str:
        return f"{self.start[0]:02d}-{self.start[1]:02d}..{self.end[0]:02d}-{self.end[1]:02d}"


def parse_season(text: str) -> Season:
    match = _SEASON_RE.match(text)
    if match is None:
        raise ValueError(f"a season is written MM-DD..MM-DD, e.g. '05-01..06-30'; got {text!r}")
    m1, d1, m2, d2 = (int(g) for g in match.groups())
    for month, day in ((m1, d1), (m2, d2)):
        if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
            raise ValueError(f"{month:02d}-{day:02d} in {text!r} is not a day of the year")
    return Season((m1, d1), (m2, d2))
