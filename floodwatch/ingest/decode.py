"""Decode the canonical JSON reading (one object per line). Pure.

`{"station": "...", "kind": "level", "value": 310.42, "ts": "2026-07-07T03:15:00Z"}`
A payload that does not decode comes back as a `Rejected` with a reason code
and a safe excerpt of the raw bytes; the stream goes on.
"""

from __future__ import annotations

import re

import msgspec

from floodwatch.readings import Reading, Rejected, RejectReason

MAX_PAYLOAD = 64 * 1024
EXCERPT = 200
STATION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

_decoder = msgspec.json.Decoder(Reading)


def excerpt(raw: bytes) -> str:
    text = raw[:EXCERPT].decode("utf-8", errors="replace")
    return text + ("…" if len(raw) > EXCERPT else "")


def decode_reading(raw: bytes, source: str | None = None) -> Reading | Rejected:
    """One canonical JSON reading, or the reason it is not one."""
    if len(raw) > MAX_PAYLOAD:
        return Rejected(
            RejectReason.DECODE,
            f"payload of {len(raw)} bytes exceeds {MAX_PAYLOAD}",
            raw=excerpt(raw),
            source=source,
        )
    try:
        reading = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return Rejected(RejectReason.SCHEMA, str(exc), raw=excerpt(raw), source=source)
    except msgspec.DecodeError as exc:
        return Rejected(RejectReason.DECODE, str(exc), raw=excerpt(raw), source=source)
    if not STATION_RE.match(reading.station):
        return Rejected(
            RejectReason.SCHEMA,
            f"station id {reading.station!r} is not a valid id",
            raw=excerpt(raw),
            source=source,
        )
    return reading
