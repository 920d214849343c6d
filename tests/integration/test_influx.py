"""The InfluxDB sink over httpx against a real v2 write API (victoria-metrics).

Names with spaces, commas, equals signs, quotes and Chinese arrive as
written; a write the server refuses raises `WriteRefusedError` with its HTTP
status (by which the delivery worker refuses a 4xx and retries a 5xx) and
keeps the connection; a refused batch of readings is dropped, not tried
forever; without a server there is no connection and no write. The storm
through the whole service and server restarts: tests/integration/
test_notify.py, test_fanout.py and test_broker_restart.py.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.ingest.backoff import Backoff
from floodwatch.notify.influx import Influx, InfluxDestination, WriteRefusedError
from floodwatch.readings import Reading
from floodwatch.rules.compile import CompiledConfig
from floodwatch.testing import T0, compile_yaml
from tests.conftest import POND
from tests.integration.services import VictoriaMetrics, free_port

OWN_TEST_OF = ("floodwatch.notify.influx",)

pytestmark = pytest.mark.integration

ODD = {"station": 'pond 1,a=b "x"', "rule": "rule=一 二", "severity": "red"}


def alert(**fields: object) -> AlertEvent:
    """An alert transition at T0 with the given fields (names as odd as wanted)."""
    base: dict[str, object] = {
        "id": "a1", "rule": "r", "kind": "level", "station": "p1", "station_name": "p1",
        "severity": "red", "previous_severity": None, "transition": "firing",
        "ts": T0.isoformat(), "episode_start": T0.isoformat(), "value": None,
        "threshold": None, "unit": "m", "message_zh": "", "message_en": "",
    }  # fmt: skip
    return AlertEvent.from_json({**base, **fields})


def compiled() -> CompiledConfig:
    return compile_yaml(stations=POND)


async def connected(url: str) -> Influx:
    dest = InfluxDestination.model_validate({"type": "influx", "url": url, "timeout": "2s"})
    influx = Influx("tsdb", dest, compiled(), Backoff(0.05, 0.2))
    await influx.connection.start()
    await asyncio.wait_for(influx.connection.ready.wait(), 10)
    return influx


def test_odd_names_arrive_as_written(victoria: VictoriaMetrics) -> None:
    async def write() -> None:
        influx = await connected(victoria.url)
        await influx.write_alert(alert(**ODD, value=311.7, threshold=311.6))
        readings = [
            Reading("p1", "level", 311.0 + i / 100, T0 + timedelta(minutes=i)) for i in range(3)
        ]
        await influx.write([influx.reading_point(r) for r in readings])
        await influx.connection.aclose()

    asyncio.run(write())
    (series,) = victoria.export('{__name__="alert_level"}')
    labels = series["metric"]
    assert isinstance(labels, dict)
    assert {k: labels[k] for k in ODD} == ODD
    assert series["values"] == [4]  # red
    (readings,) = victoria.export('{__name__="reading_value"}')
    assert readings["values"] == [311.0, 311.01, 311.02]
    assert readings["metric"] == {
        "__name__": "reading_value",
        "station": "p1",
        "kind": "level",
        "station_type": "pond",
    }


class Strict(VictoriaMetrics):
    """victoria-metrics refusing any line longer than 120 bytes (HTTP 400)."""

    def start(self) -> None:
        self._launch(
            [
                "victoria-metrics",
                f"-storageDataPath={self.dir / 'data'}",
                f"-httpListenAddr=127.0.0.1:{self.port}",
                "-influx.maxLineSize=120",
            ],
            "victoria-metrics.log",
        )


def test_a_refused_write_raises_its_status_and_keeps_the_connection(tmp_path: Path) -> None:
    server = Strict(tmp_path / "vm")
    server.start()

    async def write() -> None:
        influx = await connected(server.url)
        long = alert(**{**ODD, "rule": "r" * 200})
        with pytest.raises(WriteRefusedError, match="too long line") as refused:
            await influx.write_alert(long)
        assert refused.value.status == 400
        assert influx.connection.ready.is_set()
        await influx.connection.aclose()

    try:
        asyncio.run(write())
    finally:
        server.stop()


def test_a_refused_batch_of_readings_is_dropped_and_the_next_written(tmp_path: Path) -> None:
    server = Strict(tmp_path / "vm")
    server.start()

    async def write() -> None:
        influx = await connected(server.url)
        task = asyncio.create_task(influx.run_readings())
        influx.add_readings([Reading("p" * 150, "level", 311.0, T0)])  # a line too long
        while influx.dropped == 0:
            await asyncio.sleep(0.05)
        influx.add_readings([Reading("p1", "level", 311.0, T0)])
        while influx.written == 0:
            await asyncio.sleep(0.05)
        assert (influx.dropped, influx.written, len(influx.buffer)) == (1, 1, 0)
        task.cancel()
        await influx.connection.aclose()

    try:
        asyncio.run(asyncio.wait_for(write(), 20))
    finally:
        server.stop()


def test_no_server_is_no_connection_and_no_write(tmp_path: Path) -> None:
    async def write() -> None:
        dest = InfluxDestination.model_validate(
            {"type": "influx", "url": f"http://127.0.0.1:{free_port()}", "timeout": "1s"}
        )
        influx = Influx("tsdb", dest, compiled(), Backoff(0.05, 0.2))
        await influx.connection.start()
        await asyncio.sleep(0.3)
        assert not influx.connection.ready.is_set()
        with pytest.raises(ConnectionError, match="not connected"):
            await influx.write_alert(alert(**ODD))
        await influx.connection.aclose()

    asyncio.run(write())
