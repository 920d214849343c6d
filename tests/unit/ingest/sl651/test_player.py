"""`ingest.sl651.player` (what `floodwatch simulate --sl651` runs) into a real
SL 651 receiver on loopback TCP: one RTU per configured SL 651 station (every
`ascii_every`-th in ASCII mode, its class from the config or its type), a
timed report per reading or an add report when a level rose 0.1 m, a
keep-alive every `keepalive` sweeps, stations without SL 651 left out; and the
hourly reports (34H) of 12 five-minute values in several packets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from floodwatch.config.models import Station
from floodwatch.config.sl651 import Sl651Settings
from floodwatch.ingest.sl651.mapping import Directory
from floodwatch.ingest.sl651.player import identities, play, play_hourly
from floodwatch.ingest.sl651.server import Receiver
from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading, Rejected

CONFIG = Path(__file__).parents[4] / "config"
STATIONS = load_config_dir(CONFIG).config.stations
T0 = datetime(2026, 7, 7, 0, 0, tzinfo=UTC)  # 08:00 Beijing time
FIVE = timedelta(minutes=5)


class Centre:
    """The receiver with a sink that stores (and so confirms) at once."""

    def __init__(self) -> None:
        self.items: list[Incoming] = []
        self.rejected: list[Rejected] = []
        settings = Sl651Settings(listen="127.0.0.1:0", packet_timeout=timedelta(seconds=1))
        self.rx = Receiver(settings, Directory(STATIONS), self.put, self.rejected.extend)

    async def put(self, item: Incoming) -> None:
        self.items.append(item)
        assert item.confirm is not None
        item.confirm()

    def readings(self) -> list[tuple[str, str, float, str]]:
        return sorted(
            (r["station"], r["kind"], r["value"], r["ts"])
            for i in self.items
            for r in json.loads(i.payload)
        )

    def functions(self, station: str) -> list[str]:
        return [i.topic.rsplit("/", 1)[1] for i in self.items if i.topic.split("/")[1] == station]


@pytest_asyncio.fixture
async def centre() -> AsyncIterator[Centre]:
    c = Centre()
    task = asyncio.create_task(c.rx.run())
    await asyncio.wait_for(c.rx.listening.wait(), 5)
    yield c
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_every_sl651_station_is_an_rtu_with_its_class_and_every_third_in_ascii() -> None:
    ids = identities(STATIONS)
    assert list(ids) == ["maokeng-pond", "maokeng-culvert", "maokeng-rain", "xiawu-pond"]
    assert [i.station_class for i in ids.values()] == ["K", "H", "P", "K"]
    assert [i.ascii for i in ids.values()] == [False, False, True, False]
    assert ids["maokeng-pond"].address == "0033018201" and ids["maokeng-pond"].password == "1234"
    assert not any(i.ascii for i in identities(STATIONS, ascii_every=0).values())
    assert [i.ascii for i in identities(STATIONS, ascii_every=1).values()] == [True] * 4


def test_without_a_class_in_the_config_a_rain_gauge_is_p_and_the_rest_h() -> None:
    unclassed = [
        s.model_copy(update={"sl651": s.sl651.model_copy(update={"station_class": None})})
        for s in STATIONS
        if s.sl651 is not None
    ]
    without_sl651: list[Station] = [STATIONS[0].model_copy(update={"id": "x", "sl651": None})]
    ids = identities([*without_sl651, *unclassed])
    assert "x" not in ids
    assert [i.station_class for i in ids.values()] == ["H", "H", "P", "H"]


@pytest.mark.asyncio
async def test_each_reading_is_a_confirmed_report_and_a_rise_is_an_add_report(
    centre: Centre,
) -> None:
    pond = [310.0, 310.05, 310.2, 310.25]  # +0.2 since the last add report: 33H
    readings = [Reading("maokeng-pond", "level", v, T0 + n * FIVE) for n, v in enumerate(pond)]
    readings += [Reading("maokeng-rain", "rain", 1.5, T0 + n * FIVE) for n in range(4)]
    readings += [Reading("maokeng-culvert", "flow", 0.123456, T0)]  # sent to 3 decimals
    readings += [Reading("not-an-rtu", "level", 1.0, T0)]
    played = await play(readings, STATIONS, "127.0.0.1", centre.rx.port, keepalive=2)
    assert centre.functions("maokeng-pond") == ["32", "32", "33", "32"]
    assert centre.functions("maokeng-rain") == ["32"] * 4  # in ASCII mode
    assert played.reports == 9 and centre.rx.confirmed == 9 and played.resent == 0
    # and a keep-alive from each station before its report in sweeps 1 and 3
    assert played.frames == 9 and centre.rx.frames == 9 + 4
    assert centre.rejected == []
    sent = sorted((r.station, r.kind, r.value, r.ts.isoformat()) for r in played.readings)
    got = [(s, k, v, ts.replace("Z", "+00:00")) for s, k, v, ts in centre.readings()]
    assert got == sent  # the same readings, back in UTC
    assert ("maokeng-culvert", "flow", 0.123, T0.isoformat()) in sent


@pytest.mark.asyncio
async def test_hourly_reports_carry_twelve_values_in_packets(centre: Centre) -> None:
    levels = [Reading("maokeng-pond", "level", 310.0 + n / 100, T0 + n * FIVE) for n in range(24)]
    rain = [Reading("maokeng-rain", "rain", 0.5, T0 + n * FIVE) for n in range(12)]
    flow = [Reading("maokeng-culvert", "flow", 1.0, T0)]  # no hourly series for flow
    played = await play_hourly(levels + rain + flow, STATIONS, "127.0.0.1", centre.rx.port)
    assert played.reports == 3 and centre.rx.confirmed == 3
    assert centre.functions("maokeng-pond") == ["34", "34"]
    assert centre.functions("maokeng-rain") == ["34"] and centre.functions("maokeng-culvert") == []
    assert played.frames == 11 and centre.rx.frames == 3  # packets, joined into 3 reports
    values = {(s, ts): v for s, _, v, ts in centre.readings()}
    assert values[("maokeng-pond", "2026-07-07T01:55:00Z")] == pytest.approx(310.23)
    assert values[("maokeng-rain", "2026-07-07T00:30:00Z")] == 0.5
    assert len([k for k in values if k[0] == "maokeng-pond"]) == 24
