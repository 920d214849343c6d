"""Thresholds resolved against a station: constant, or seasonal by local date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from floodwatch.config.values import Season

_BUCKET_MS = 900_000  # seasons are looked up at most once per 15 minutes of event time


@dataclass(frozen=True)
class Seasonal:
    """A value that depends on the local month and day (e.g. the flood-limit level)."""

    seasons: tuple[tuple[Season, float], ...]
    default: float

    def on(self, month: int, day: int) -> float:
        for season, value in self.seasons:
            if season.contains(month, day):
                return value
        return self.default


class Threshold:
    """A resolved threshold: `at(ts_ms)` is its value at an event time."""

    __slots__ = ("_bucket", "_cached", "constant", "offset", "seasonal", "zone")

    def __init__(
        self,
        constant: float | None = None,
        seasonal: Seasonal | None = None,
        offset: float = 0.0,
        zone: ZoneInfo | None = None,
    ) -> None:
        self.constant = None if constant is None else constant + offset
        self.seasonal = seasonal
        self.offset = offset
        self.zone = zone
        self._bucket = -1
        self._cached = 0.0

    @property
    def is_constant(self) -> bool:
        return self.constant is not None

    def at(self, ts_ms: int) -> float:
        if self.constant is not None:
            return self.constant
        bucket = ts_ms // _BUCKET_MS
        if bucket != self._bucket:
            assert self.seasonal is not None and self.zone is not None
            local = datetime.fromtimestamp(ts_ms / 1000, tz=self.zone)
            self._cached = self.seasonal.on(local.month, local.day) + self.offset
            self._bucket = bucket
        return self._cached

    def values(self) -> list[float]:
        """Every value this threshold can take (for order checks)."""
        if self.constant is not None:
            return [self.constant]
        assert self.seasonal is not None
        base = [value for _, value in self.seasonal.seasons] + [self.seasonal.default]
        return [value + self.offset for value in base]

    def __repr__(self) -> str:
        return f"Threshold({self.values()})"
