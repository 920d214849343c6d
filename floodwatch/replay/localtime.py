"""Time stamps without a zone in recorded input (`replay`, `backtest`).

SCADA and database exports often write local time with no offset
(`2026-07-07 00:00:00`). The engine refuses such a reading (`naive_timestamp`)
rather than guess; a replay or backtest can say which zone they are in: a
station's configured `timezone` (stations.yaml) for its own readings, else the
`--timezone` of the command. Readings that carry a zone are left alone.
"""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from floodwatch.readings import Reading, parse_ts
from floodwatch.rules.compile import CompiledConfig


class UnknownZoneError(ValueError):
    """A time zone name that the zone database does not know."""


def zone(name: str) -> ZoneInfo:
    """The zone called `name` (IANA, e.g. Asia/Shanghai), or UnknownZoneError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownZoneError(
            f"unknown time zone {name!r} (use an IANA name, e.g. Asia/Shanghai)"
        ) from exc


class LocalTime:
    """Gives naive time stamps their zone: the station's, else the default."""

    def __init__(self, compiled: CompiledConfig, default: str | None = None) -> None:
        self.default = zone(default) if default else None
        self.by_station = {
            sid: zone(info.model.timezone)
            for sid, info in compiled.stations.items()
            if info.model.timezone
        }

    def __bool__(self) -> bool:
        return self.default is not None or bool(self.by_station)

    def fix(self, readings: list[Reading]) -> list[Reading]:
        """The readings with every naive time stamp read in its zone (as UTC);
        one with no zone to read it in stays naive (the engine refuses it)."""
        if not self or all(r.ts.tzinfo is not None for r in readings):
            return readings
        return [self._one(r) if r.ts.tzinfo is None else r for r in readings]

    def _one(self, r: Reading) -> Reading:
        tz = self.by_station.get(r.station, self.default)
        if tz is None:
            return r
        return Reading(
            r.station, r.kind, r.value, r.ts.replace(tzinfo=tz).astimezone(UTC), r.quality
        )

    def fix_line(self, raw: bytes) -> bytes | None:
        """A canonical JSON line whose naive `ts` is given its zone (with an
        offset), or None when it cannot be (no zone for it, or not such a line)."""
        try:
            doc = msgspec.json.decode(raw)
            ts = parse_ts(doc["ts"])
            tz = self.by_station.get(doc.get("station"), self.default)
        except (msgspec.DecodeError, KeyError, TypeError, ValueError, AttributeError):
            return None
        if tz is None or ts.tzinfo is not None:
            return None
        doc["ts"] = ts.replace(tzinfo=tz).isoformat()
        return msgspec.json.encode(doc)
