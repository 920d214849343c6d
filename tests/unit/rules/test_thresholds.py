"""`rules.thresholds`: a threshold resolved against a station — constant, or
seasonal by the local date (in the config's time zone), with an offset."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from floodwatch.config.values import parse_season
from floodwatch.rules.thresholds import Seasonal, Threshold

SHANGHAI = ZoneInfo("Asia/Shanghai")
# flood season 05-01..09-30 at 310.6, otherwise 311.0; a winter season that wraps the year
LIMIT = Seasonal(
    ((parse_season("05-01..09-30"), 310.6), (parse_season("12-01..02-15"), 311.2)), 311.0
)


def ms(*args: int, tz: ZoneInfo | None = None) -> int:
    return int(datetime(*args, tzinfo=tz or UTC).timestamp() * 1000)  # type: ignore[misc]


def test_a_constant_threshold_takes_its_offset_once() -> None:
    t = Threshold(constant=312.0, offset=-0.2)
    assert t.is_constant
    assert t.at(0) == t.at(ms(2026, 7, 1)) == pytest.approx(311.8)
    assert t.values() == [pytest.approx(311.8)]


def test_seasons_are_looked_up_by_the_local_date_with_their_ends_included() -> None:
    t = Threshold(seasonal=LIMIT, zone=SHANGHAI)
    assert not t.is_constant
    assert t.at(ms(2026, 5, 1, 0, 0, tz=SHANGHAI)) == 310.6
    assert t.at(ms(2026, 9, 30, 23, 59, tz=SHANGHAI)) == 310.6
    assert t.at(ms(2026, 10, 1, 0, 0, tz=SHANGHAI)) == 311.0
    assert t.at(ms(2026, 4, 30, 23, 59, tz=SHANGHAI)) == 311.0


def test_a_season_wrapping_the_new_year_holds_on_both_sides() -> None:
    t = Threshold(seasonal=LIMIT, zone=SHANGHAI)
    assert t.at(ms(2026, 12, 31, 12, tz=SHANGHAI)) == 311.2
    assert t.at(ms(2027, 1, 15, 12, tz=SHANGHAI)) == 311.2
    assert t.at(ms(2027, 2, 16, 12, tz=SHANGHAI)) == 311.0
    assert t.at(ms(2026, 11, 30, 12, tz=SHANGHAI)) == 311.0


def test_the_local_date_not_the_utc_date_decides() -> None:
    """2026-04-30 16:00 UTC is already 05-01 in Shanghai: flood season."""
    shanghai = Threshold(seasonal=LIMIT, zone=SHANGHAI)
    utc = Threshold(seasonal=LIMIT, zone=ZoneInfo("UTC"))
    at = ms(2026, 4, 30, 16, 0)
    assert shanghai.at(at) == 310.6
    assert utc.at(at) == 311.0


def test_the_cached_season_follows_time_going_back_and_forth() -> None:
    """The lookup is cached per 15 minutes of event time; a reading from another
    bucket (even an earlier one) is looked up anew."""
    t = Threshold(seasonal=LIMIT, offset=0.1, zone=SHANGHAI)
    before = ms(2026, 4, 30, 23, 50, tz=SHANGHAI)
    after = ms(2026, 5, 1, 0, 5, tz=SHANGHAI)
    assert [t.at(before), t.at(after), t.at(before), t.at(after + 60_000)] == [
        pytest.approx(311.1),
        pytest.approx(310.7),
        pytest.approx(311.1),
        pytest.approx(310.7),
    ]


def test_values_lists_every_value_a_seasonal_threshold_can_take_with_its_offset() -> None:
    t = Threshold(seasonal=LIMIT, offset=-0.05, zone=SHANGHAI)
    assert t.values() == [pytest.approx(v) for v in (310.55, 311.15, 310.95)]
    assert "310.55" in repr(t)


def test_seasonal_on_falls_back_to_its_default() -> None:
    assert LIMIT.on(3, 1) == 311.0
    assert Seasonal((), 309.0).on(7, 7) == 309.0
