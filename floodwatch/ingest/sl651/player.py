"""Play readings as SL 651 RTUs would send them (`floodwatch simulate --sl651`).

Each configured station with an `sl651:` block becomes an RTU. Readings are
sent a sweep (one event time) at a time, every station's report of the sweep
concurrently, each confirmed before the next sweep: a timed report (32H), or
an add report (33H) when a level rose 0.1 m or more since the last report, as
an RTU does on a threshold crossing; a keep-alive (2F) every `keepalive`
sweeps. Every `ascii_every`-th station speaks ASCII mode. With `hourly`,
rain and level stations send instead one hourly report (34H) per hour with
the 12 five-minute values (DRP / DRZ1), in several packets (M3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from floodwatch.config.models import Station
from floodwatch.ingest.sl651.body import ADD, HOURLY, TIMED, Element
from floodwatch.ingest.sl651.rtu import Rtu, RtuIdentity
from floodwatch.readings import Reading

ELEMENT = {"level": "Z", "rain": "PJ", "flow": "Q"}
DEFINITIONS = {"Z": 0x23, "ZU": 0x23, "PJ": 0x1B, "Q": 0x23}  # 3 decimals each
FIVE = timedelta(minutes=5)


@dataclass
class Played:
    reports: int = 0
    frames: int = 0
    resent: int = 0
    readings: list[Reading] = field(default_factory=list)  # as sent (3 decimals)


def identities(stations: Iterable[Station], ascii_every: int = 3) -> dict[str, RtuIdentity]:
    out = {}
    for n, s in enumerate(x for x in stations if x.sl651 is not None):
        assert s.sl651 is not None
        klass = s.sl651.station_class or {"rain_gauge": "P"}.get(s.type, "H")
        out[s.id] = RtuIdentity(
            s.sl651.address,
            s.sl651.password,
            klass,
            ascii=ascii_every > 0 and n % ascii_every == ascii_every - 1,
            definitions=DEFINITIONS,
        )
    return out


def _element(kind: str, identity: RtuIdentity) -> str:
    if kind == "level" and identity.station_class == "K":
        return "ZU"
    return ELEMENT[kind]


async def play(
    readings: Sequence[Reading],
    stations: Sequence[Station],
    host: str,
    port: int,
    *,
    pace: float = 0.0,
    keepalive: int = 12,
    ascii_every: int = 3,
    confirm_timeout: float = 20.0,
) -> Played:
    """Send the readings of the configured stations; return what was sent."""
    ids = identities(stations, ascii_every)
    zones = {s.id: ZoneInfo(s.sl651.timezone) for s in stations if s.sl651 is not None}
    rtus = {sid: Rtu(i, host, port, confirm_timeout=confirm_timeout) for sid, i in ids.items()}
    played = Played()
    last_level: dict[str, float] = {}
    sweeps: dict[datetime, list[Reading]] = {}
    for r in readings:
        if r.station in rtus:
            sweeps.setdefault(r.ts, []).append(r)

    async def send(r: Reading, n: int) -> None:
        rtu = rtus[r.station]
        local = r.ts.astimezone(zones[r.station]).replace(tzinfo=None)
        value = round(r.value, 3)
        function = TIMED
        if r.kind == "level":
            if value - last_level.get(r.station, value) >= 0.1:
                function = ADD
                last_level[r.station] = value
            last_level.setdefault(r.station, value)
        if n % keepalive == keepalive - 1:
            await rtu.keep_alive(local)
        await rtu.report(function, [Element(_element(r.kind, rtu.id), local, value)], local)
        played.reports += 1
        played.readings.append(Reading(r.station, r.kind, value, r.ts, r.quality))

    try:
        for n, ts in enumerate(sorted(sweeps)):
            await asyncio.gather(*(send(r, n) for r in sweeps[ts]))
            if pace:
                await asyncio.sleep(pace)
    finally:
        for rtu in rtus.values():
            played.frames += rtu.sent
            played.resent += rtu.resent
            await rtu.close()
    return played


async def play_hourly(
    readings: Sequence[Reading],
    stations: Sequence[Station],
    host: str,
    port: int,
    *,
    confirm_timeout: float = 20.0,
) -> Played:
    """Each station's readings as hourly reports (34H): 12 five-minute values
    each, a station's hours in order, the stations concurrently."""
    ids = identities(stations, ascii_every=0)
    zones = {s.id: ZoneInfo(s.sl651.timezone) for s in stations if s.sl651 is not None}
    played = Played()

    async def station(sid: str) -> None:
        # small packets, as a GPRS modem's: every hourly report is a multi-packet one
        rtu = Rtu(ids[sid], host, port, confirm_timeout=confirm_timeout, packet=16)
        mine = sorted((r for r in readings if r.station == sid), key=lambda r: r.ts)
        hours: dict[datetime, list[Reading]] = {}
        for r in mine:
            hours.setdefault(r.ts.replace(minute=0, second=0, microsecond=0), []).append(r)
        try:
            for first, group in sorted(hours.items()):
                local = first.astimezone(zones[sid]).replace(tzinfo=None)
                values: list[float | None] = [None] * 12
                for r in group:
                    digits = 1 if r.kind == "rain" else 2
                    values[int((r.ts - first) / FIVE)] = round(r.value, digits)
                kind = group[0].kind
                name = {"rain": "DRP", "level": "DRZ1"}.get(kind)
                if name is None:
                    continue
                await rtu.report(
                    HOURLY, [Element(name, local, values, FIVE)], local + timedelta(minutes=55)
                )
                played.reports += 1
                played.readings += [
                    Reading(sid, r.kind, values[int((r.ts - first) / FIVE)] or 0.0, r.ts)
                    for r in group
                ]
        finally:
            played.frames += rtu.sent
            await rtu.close()

    await asyncio.gather(*(station(s) for s in ids))
    return played
