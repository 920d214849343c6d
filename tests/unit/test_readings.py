"""`floodwatch.readings`: the reading every source produces, the reject with its
reason, and the time helpers. Times are UTC with a `Z` in JSON, exactly as
precise as the time is, so a time written and read back is the same time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from floodwatch.readings import (
    KINDS,
    UNITS,
    Reading,
    Rejected,
    RejectReason,
    format_ts,
    ms_to_dt,
    parse_ts,
    ts_to_ms,
)

AT = datetime(2026, 7, 7, 3, 15, tzinfo=UTC)
T = 1_783_394_100_000  # AT in epoch ms


def test_every_kind_has_a_unit() -> None:
    assert set(KINDS) == set(UNITS) == {"level", "rain", "flow"}


def test_a_reading_writes_the_canonical_json_line() -> None:
    reading = Reading("maokeng-pond", "level", 310.42, AT)
    assert reading.to_json() == {
        "station": "maokeng-pond",
        "kind": "level",
        "value": 310.42,
        "ts": "2026-07-07T03:15:00Z",
    }
    assert Reading("g", "rain", 1.0, AT, quality="suspect").to_json()["quality"] == "suspect"


def test_a_reading_is_frozen_and_refuses_unknown_fields_and_kinds() -> None:
    reading = Reading("maokeng-pond", "level", 310.42, AT)
    with pytest.raises(AttributeError):
        reading.value = 1.0  # type: ignore[misc]
    line = b'{"station": "s", "kind": "level", "value": 1, "ts": "2026-07-07T00:00:00Z"'
    with pytest.raises(msgspec.ValidationError, match="unknown field `unit`"):
        msgspec.json.decode(line + b', "unit": "m"}', type=Reading)
    with pytest.raises(msgspec.ValidationError, match=r"\$\.kind"):
        msgspec.json.decode(line.replace(b"level", b"snow") + b"}", type=Reading)


def test_a_reject_says_only_what_it_has() -> None:
    assert Rejected(RejectReason.DECODE, "not JSON", raw="{oops").to_json() == {
        "reason": "decode_error",
        "detail": "not JSON",
        "raw": "{oops",
    }
    reading = Reading("maokeng-pond", "level", 3.0, AT)
    full = Rejected(RejectReason.TOO_LATE, "40 min late", reading=reading, source="mqtt:x/y")
    assert full.to_json() == {
        "reason": "too_late",
        "detail": "40 min late",
        "reading": reading.to_json(),
        "source": "mqtt:x/y",
    }


def test_reject_reasons_are_unique_codes() -> None:
    codes = [str(r) for r in RejectReason]
    assert len(codes) == len(set(codes))
    assert RejectReason("naive_timestamp") is RejectReason.NAIVE_TIME


def test_milliseconds_and_datetimes_convert_both_ways() -> None:
    assert ts_to_ms(AT) == T
    assert ms_to_dt(T) == AT and ms_to_dt(T).tzinfo is UTC
    beijing = AT.astimezone(timezone(timedelta(hours=8)))
    assert ts_to_ms(beijing) == T  # the same instant in another zone
    assert ts_to_ms(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    assert ts_to_ms(AT + timedelta(microseconds=1500)) == T + 2  # rounded, not cut
    assert ms_to_dt(-1000) == datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ts", "text"),
    [
        (AT, "2026-07-07T03:15:00Z"),
        (AT + timedelta(milliseconds=250), "2026-07-07T03:15:00.250Z"),
        (AT + timedelta(microseconds=17), "2026-07-07T03:15:00.000017Z"),
        (AT.astimezone(timezone(timedelta(hours=8))), "2026-07-07T03:15:00Z"),
        (T + 5, "2026-07-07T03:15:00.005Z"),
    ],
)
def test_times_are_written_in_utc_as_precise_as_they_are(ts: datetime | int, text: str) -> None:
    assert format_ts(ts) == text
    back = parse_ts(text)
    assert back == (ms_to_dt(ts) if isinstance(ts, int) else ts)


def test_parse_keeps_an_offset_and_leaves_a_time_without_one_naive() -> None:
    assert parse_ts("2026-07-07T11:15:00+08:00") == AT
    assert parse_ts("2026-07-07T03:15:00").tzinfo is None  # refused later as naive_timestamp
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_ts("07/07/2026 03:15")
