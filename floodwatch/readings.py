"""The reading contract: what every source produces and the engine consumes.

A `Reading` is one measurement at one station, stamped with its event time (UTC).
Units: level in metres of elevation (same datum as the station's characteristic
levels), rain in millimetres per report interval, flow in m³/s.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Literal

import msgspec

Kind = Literal["level", "rain", "flow"]
KINDS: tuple[Kind, ...] = ("level", "rain", "flow")
UNITS: dict[str, str] = {"level": "m", "rain": "mm", "flow": "m³/s"}


class Reading(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """One measurement. `ts` is the event time, timezone-aware (UTC on decode).

    Not tracked by the cyclic garbage collector (`gc=False`): it holds only
    strings, a float and a datetime, so it can never be part of a cycle, and
    decoding a million of them then triggers no collections."""

    station: str
    kind: Kind
    value: float
    ts: datetime
    quality: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "station": self.station,
            "kind": self.kind,
            "value": self.value,
            "ts": format_ts(self.ts),
        }
        if self.quality is not None:
            out["quality"] = self.quality
        return out


class RejectReason(enum.StrEnum):
    """Why a reading or a payload did not reach the rules (dead-letter reason codes)."""

    DECODE = "decode_error"
    DUPLICATE_KEY = "duplicate_key"  # a key repeated in one JSON object
    TOO_LARGE = "payload_too_large"
    SCHEMA = "schema_error"
    BAD_TOPIC = "bad_topic"
    UNKNOWN_STATION = "unknown_station"
    UNEXPECTED_KIND = "unexpected_kind"
    NOT_FINITE = "not_finite"
    NAIVE_TIME = "naive_timestamp"
    BEFORE_1970 = "before_1970"  # the engine counts time in ms since 1970 (a 2-digit year as 19xx)
    TOO_LATE = "too_late"
    TOO_EARLY = "too_far_in_future"
    DUPLICATE = "duplicate"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    WRONG_PARTITION = "wrong_partition"
    NOT_ALLOWED = "not_allowed"  # a gateway reporting a station it is not listed for
    DELIVERY = "delivery_refused"  # a destination refused an alert for good (4xx)
    BAD_FRAME = "bad_frame"  # SL 651: bytes that are no good frame (CRC, truncated, …)
    UNKNOWN_ADDRESS = "unknown_address"  # SL 651: no station has the RTU's address
    BAD_PASSWORD = "bad_password"  # SL 651: the RTU's password does not match
    UNSUPPORTED_FUNCTION = "unsupported_function"  # SL 651: a function code not handled
    NOT_DECODED = "not_decoded"  # SL 651: kept as received (manual entry, picture)


class Rejected(msgspec.Struct, frozen=True):
    """A reading (or raw payload) that was set aside, with the reason and detail."""

    reason: RejectReason
    detail: str
    reading: Reading | None = None
    raw: str | None = None
    source: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"reason": str(self.reason), "detail": self.detail}
        if self.reading is not None:
            out["reading"] = self.reading.to_json()
        if self.raw is not None:
            out["raw"] = self.raw
        if self.source is not None:
            out["source"] = self.source
        return out


def ts_to_ms(ts: datetime) -> int:
    """Epoch milliseconds of an aware datetime (the engine's internal time)."""
    return round(ts.timestamp() * 1000)


def ms_to_dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def parse_ts(text: str) -> datetime:
    """An ISO 8601 time (`Z` or an offset; naive when it has neither)."""
    return datetime.fromisoformat(text)


def format_ts(ts: datetime | int) -> str:
    """ISO 8601 UTC with a `Z`: seconds, or milliseconds, or microseconds — as
    precise as the time is (so it decodes back to the same time)."""
    dt = ms_to_dt(ts) if isinstance(ts, int) else ts.astimezone(UTC)
    micro = dt.microsecond
    spec = "seconds" if not micro else "milliseconds" if micro % 1000 == 0 else "microseconds"
    text = dt.isoformat(timespec=spec)
    return text.replace("+00:00", "Z")
