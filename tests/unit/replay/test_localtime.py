"""Naive time stamps in recorded input get their zone: the station's, else the
command's default; readings with a zone, and those with no zone to read them
in, are left as they are (the engine refuses the naive ones)."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from floodwatch.readings import Reading
from floodwatch.replay.localtime import LocalTime, UnknownZoneError, zone
from floodwatch.testing import compile_yaml

STATIONS = """
stations:
  - id: sh
    name: 上海站
    type: rain_gauge
    interval: 5m
    timezone: Asia/Shanghai
  - id: plain
    name: 无时区站
    type: rain_gauge
    interval: 5m
"""
NO_ZONES = """
stations:
  - id: plain
    name: 无时区站
    type: rain_gauge
    interval: 5m
"""
NAIVE = datetime(2026, 7, 7, 8, 0)  # noqa: DTZ001 (naive on purpose: 08:00 local, no zone)


def _reading(station: str, ts: datetime) -> Reading:
    return Reading(station, "rain", 1.0, ts)


def test_the_station_zone_wins_over_the_default() -> None:
    local = LocalTime(compile_yaml(stations=STATIONS), default="Europe/Berlin")
    sh, plain = local.fix([_reading("sh", NAIVE), _reading("plain", NAIVE)])
    assert sh.ts == datetime(2026, 7, 7, 0, 0, tzinfo=UTC)  # UTC+8
    assert plain.ts == datetime(2026, 7, 7, 6, 0, tzinfo=UTC)  # CEST, UTC+2


def test_no_zone_to_read_it_in_leaves_it_naive_and_aware_ones_alone() -> None:
    local = LocalTime(compile_yaml(stations=STATIONS))
    aware = datetime(2026, 7, 7, 8, 0, tzinfo=UTC)
    fixed = local.fix([_reading("plain", NAIVE), _reading("sh", aware)])
    assert fixed[0].ts == NAIVE  # no default: the engine will refuse it
    assert fixed[1].ts == aware
    assert bool(LocalTime(compile_yaml(stations=NO_ZONES))) is False


def test_fix_line_gives_a_naive_json_line_its_offset_else_none() -> None:
    local = LocalTime(compile_yaml(stations=STATIONS))
    line = msgspec.json.encode(
        {"station": "sh", "kind": "rain", "value": 1.0, "ts": "2026-07-07 08:00:00"}
    )
    doc = msgspec.json.decode(local.fix_line(line) or b"null")
    assert doc["ts"] == "2026-07-07T08:00:00+08:00"
    aware = line.replace(b"08:00:00", b"08:00:00Z")
    assert local.fix_line(aware) is None  # already has a zone
    assert local.fix_line(line.replace(b'"sh"', b'"plain"')) is None  # no zone for it
    assert local.fix_line(b"not json") is None


def test_an_unknown_zone_is_named() -> None:
    with pytest.raises(UnknownZoneError, match="unknown time zone 'Mars/Olympus'"):
        zone("Mars/Olympus")
