"""From SL 651 reports to floodwatch readings, per station. Pure (the one piece
of state, the last cumulative rain counter per station, is passed in).

A station's `sl651:` block names its address, password and which elements
become which kinds (default by station class, `config/sl651.py`). Per kind,
one element is read per report, the first present of: the 5-minute series
(`DRP` rain, `DRZ1` level), then the mapping's order — so an RTU sending PJ,
PN05 and P1 is not counted three times. Cumulative rain `PT` is used only when
no other rain element is sent, differenced against the previous counter (a
counter that went down was reset: no reading, a note). Times carry no zone:
the station's (Beijing time by default). The status word (`ZT`) becomes the
quality of the report's readings: the level-gauge (flow-meter) fault bit marks
its levels (flows) `gauge_fault` — held back by the quality gate, a sensor
notice — and the level (flow) over-limit bit `over_limit` — used as usual, a
sensor notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from floodwatch.config.models import Station
from floodwatch.config.sl651 import Sl651Station
from floodwatch.ingest.sl651.body import Element, Report
from floodwatch.ingest.sl651.elements import status_flags
from floodwatch.ingest.sl651.frame import Frame
from floodwatch.readings import Kind, Reading

SERIES_FIRST = ("DRP", "DRZ1")


@dataclass(frozen=True)
class Known:
    """A configured station, as its RTU is known."""

    id: str
    config: Sl651Station
    kinds: tuple[Kind, ...]
    zone: ZoneInfo


@dataclass
class Refusal:
    reason: str  # unknown_address, bad_password
    detail: str


@dataclass
class Counters:
    """Last cumulative rain counter (PT) per station: (time, value)."""

    pt: dict[str, tuple[datetime, float]] = field(default_factory=dict)


class Directory:
    """The configured stations by SL 651 address."""

    def __init__(self, stations: Iterable[Station]) -> None:
        self.by_address: dict[str, Known] = {}
        for s in stations:
            if s.sl651 is None:
                continue
            if s.sl651.address in self.by_address:
                other = self.by_address[s.sl651.address].id
                address = s.sl651.address
                raise ValueError(f"stations {other} and {s.id} share SL 651 address {address}")
            self.by_address[s.sl651.address] = Known(
                s.id, s.sl651, tuple(s.kinds), ZoneInfo(s.sl651.timezone)
            )

    def check(self, frame: Frame) -> Known | Refusal:
        known = self.by_address.get(frame.station)
        if known is None:
            return Refusal("unknown_address", f"no station has SL 651 address {frame.station}")
        if frame.password != known.config.password:
            return Refusal(
                "bad_password",
                f"password {frame.password} does not match station {known.id}'s",
            )
        return known


def _points(e: Element) -> list[tuple[datetime, float | None]]:
    if e.time is None:
        return []
    if isinstance(e.value, list):
        step = e.step
        assert step is not None
        return [(e.time + i * step, v) for i, v in enumerate(e.value)]
    if isinstance(e.value, float | int) and not isinstance(e.value, bool):
        return [(e.time, float(e.value))]
    if e.value is None:
        return [(e.time, None)]
    return []


def readings(known: Known, report: Report, counters: Counters) -> tuple[list[Reading], list[str]]:
    """The report's readings for the station, and notes on what was left out."""
    mapping = known.config.mapping(report.station_class)
    notes: list[str] = []
    present = {e.name for e in report.elements}
    flags = {
        flag
        for e in report.elements
        if e.name == "ZT" and isinstance(e.value, int)
        for flag in status_flags(e.value)
    }
    chosen: dict[Kind, str] = {}
    for name in (*SERIES_FIRST, *mapping):
        kind = mapping.get(name)
        if kind is None or name not in present or kind in chosen or kind not in known.kinds:
            continue
        if name == "PT" and any(mapping.get(n) == "rain" and n != "PT" for n in present):
            continue
        chosen[kind] = name
    out: list[Reading] = []
    for e in report.elements:
        kind = next((k for k, n in chosen.items() if n == e.name), None)
        if kind is None:
            continue
        for local, sent in _points(e):
            ts = local.replace(tzinfo=known.zone).astimezone(UTC)
            value = sent
            if e.name == "PT" and sent is not None:
                value = _difference(known.id, ts, sent, counters, notes)
            elif sent is None:
                notes.append(f"{e.name} at {local:%Y-%m-%d %H:%M} missing")
            if value is None:
                continue
            quality = _quality(kind, flags)
            out.append(Reading(known.id, kind, round(value, 6), ts, quality))
    for e in report.elements:
        if e.name == "ZT" and isinstance(e.value, int) and e.value:
            notes.append(f"status: {', '.join(status_flags(e.value)) or hex(e.value)}")
    return out, notes


# Status word bits (SL 651 `45`) -> the quality of a kind's readings, worst first.
STATUS_QUALITY: dict[Kind, tuple[tuple[str, str], ...]] = {
    "level": (("level_gauge_fault", "gauge_fault"), ("level_over_limit", "over_limit")),
    "flow": (("flow_meter_fault", "gauge_fault"), ("flow_over_limit", "over_limit")),
}


def _quality(kind: Kind, flags: set[str]) -> str | None:
    for flag, quality in STATUS_QUALITY.get(kind, ()):
        if flag in flags:
            return quality
    return None


def _difference(
    station: str, ts: datetime, value: float, counters: Counters, notes: list[str]
) -> float | None:
    last = counters.pt.get(station)
    if last is not None and ts <= last[0]:
        return None  # an older counter (a resent report): its rain was counted
    counters.pt[station] = (ts, value)
    if last is None:
        notes.append("PT: first counter seen, rain from the next report on")
        return None
    if value < last[1]:
        notes.append(f"PT went down ({last[1]} -> {value}): counter reset, no rain counted")
        return None
    return value - last[1]
