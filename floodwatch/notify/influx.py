"""InfluxDB (v2 write API) for dashboards: readings and alert transitions as points.

- Alert transitions go through the outbox like every destination (durable,
  retried): measurement `alert`, tags station, rule, severity, transition,
  status, village, town; fields `level` (severity rank: blue 1 … red 4, 0 when
  resolved), `value`, `threshold`.
- Readings are written from the service after each stored step, batched
  (up to 5,000 a write, at least once a second) from a bounded buffer: a
  time-series store for dashboards, not a record — if it is away for long the
  oldest readings beyond the buffer are dropped and counted.
  Measurement `reading`, tags station, kind, station_type, village, town;
  field `value`.

Tag values are escaped by influxdb-client's line protocol. Any server with
the v2 write API works (InfluxDB 2/3; VictoriaMetrics in the tests).

The client is a supervised `InfluxConnection` (`notify/connection.py`): a
server that goes away is found by `/ping` while idle, writes wait until it is
back, and a fresh client (connection pool) is made after each loss.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from pathlib import Path
from typing import Any

from influxdb_client import Point, WritePrecision
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync

from floodwatch.alerts.state import Severity, Transition
from floodwatch.config.notify import Destination
from floodwatch.ingest.backoff import Backoff
from floodwatch.notify.channel import Channel, OneByOne, Wiring
from floodwatch.notify.connection import InfluxConnection
from floodwatch.notify.health import Health
from floodwatch.notify.outcome import Outcome
from floodwatch.notify.records import Delivery
from floodwatch.readings import Reading, parse_ts, ts_to_ms
from floodwatch.rules.compile import CompiledConfig

log = logging.getLogger(__name__)

BUFFER = 200_000
BATCH = 5_000


class Influx:
    def __init__(
        self,
        name: str,
        dest: Destination,
        compiled: CompiledConfig,
        backoff: Backoff,
        health: Health | None = None,
    ) -> None:
        assert dest.url is not None
        url = dest.url
        token = Path(dest.token_file).read_text().strip() if dest.token_file else "floodwatch"
        self.dest = dest
        self.compiled = compiled

        def client() -> InfluxDBClientAsync:
            timeout = int(dest.timeout.total_seconds() * 1000)
            return InfluxDBClientAsync(url=url, token=token, org=dest.org, timeout=timeout)

        self.connection = InfluxConnection(f"influx {name}", client, backoff, health)
        self.buffer: deque[Reading] = deque(maxlen=BUFFER)
        self._tags: dict[str, dict[str, str]] = {}  # station -> its place tags
        self.dropped = 0
        self.written = 0

    def _place(self, station: str) -> dict[str, str]:
        tags = self._tags.get(station)
        if tags is None:
            tags = self._tags[station] = self._place_tags(station)
        return tags

    def _place_tags(self, station: str) -> dict[str, str]:
        info = self.compiled.stations.get(station)
        if info is None:
            return {}
        model = info.model
        tags = {"station_type": str(model.type)}
        if model.village is not None:
            tags["village"] = model.village.name
        if model.town is not None:
            tags["town"] = model.town.name
        return tags

    def alert_point(self, event: dict[str, Any]) -> Point:
        point = Point("alert")
        for name in ("station", "rule", "severity", "transition", "status"):
            point = point.tag(name, str(event[name]))
        for name, value in self._place(str(event["station"])).items():
            point = point.tag(name, value)
        severity = Severity(event["severity"])
        level = 0 if event["transition"] == Transition.RESOLVED.value else severity.rank
        point = point.field("level", level)
        for name in ("value", "threshold"):
            if isinstance(event.get(name), int | float):
                point = point.field(name, float(event[name]))
        return point.time(ts_to_ms(parse_ts(str(event["ts"]))), WritePrecision.MS)

    def reading_point(self, r: Reading) -> Point:
        point = Point("reading").tag("station", r.station).tag("kind", r.kind)
        for name, value in self._place(r.station).items():
            point = point.tag(name, value)
        return point.field("value", float(r.value)).time(ts_to_ms(r.ts), WritePrecision.MS)

    async def write(self, points: list[Point]) -> None:
        """Raises ConnectionError while not connected, or what the write raised."""
        client = self.connection.client
        if client is None or not self.connection.ready.is_set():
            raise ConnectionError("not connected")
        await client.write_api().write(self.dest.bucket, self.dest.org, points)

    async def write_alert(self, body: str) -> None:
        await self.write([self.alert_point(json.loads(body))])

    def add_readings(self, readings: list[Reading]) -> None:
        overflow = len(self.buffer) + len(readings) - BUFFER
        if overflow > 0:
            self.dropped += overflow
        self.buffer.extend(readings)

    async def run_readings(self) -> None:
        """Write buffered readings in batches until cancelled, oldest first; while
        the server is away they wait (up to the buffer), then go in order."""
        while True:
            if not self.buffer:
                await asyncio.sleep(1.0)
                continue
            await self.connection.ready.wait()
            batch = [self.buffer[i] for i in range(min(BATCH, len(self.buffer)))]
            try:
                await self.write([self.reading_point(r) for r in batch])
            except Exception as exc:  # any server or connection failure: later
                if not isinstance(getattr(exc, "status", None), int):
                    self.connection.lost(f"{exc!r}")
                log.warning("influx: readings not written (%s); retrying in 5 s", exc)
                await asyncio.sleep(5.0)
                continue
            for _ in batch:
                self.buffer.popleft()
            self.written += len(batch)
            if len(self.buffer) < BATCH:
                await asyncio.sleep(1.0)

    def reconfigure(self, compiled: CompiledConfig) -> None:
        """A reloaded config: stations (and their place tags) may have changed."""
        self.compiled = compiled
        self._tags.clear()


class InfluxChannel(OneByOne):
    """Alert transitions through the outbox, in order; readings batched by
    `run` from the buffer `readings` fills."""

    def __init__(self, influx: Influx) -> None:
        super().__init__(self._send, ordered=True, connection=influx.connection)
        self.influx = influx

    async def _send(self, delivery: Delivery) -> Outcome:
        try:
            await self.influx.write_alert(delivery.event)
        except Exception as exc:  # server or connection: tried again
            status = getattr(exc, "status", None)
            if isinstance(status, int) and 400 <= status < 500 and status != 429:
                return Outcome(False, retry=False, error=f"influx HTTP {status}: {exc}")
            if not isinstance(status, int):  # no answer at all: the connection
                self.influx.connection.lost(f"{exc!r}")
            return Outcome(False, retry=True, error=f"influx: {exc!r}")
        return Outcome(True)

    async def run(self) -> None:
        await self.influx.run_readings()

    def reconfigure(self, compiled: CompiledConfig) -> None:
        self.influx.reconfigure(compiled)

    def readings(self, readings: list[Reading]) -> None:
        self.influx.add_readings(readings)


def channel(wiring: Wiring) -> Channel:
    assert wiring.compiled is not None  # the service always gives it
    influx = Influx(wiring.name, wiring.dest, wiring.compiled, wiring.backoff(), wiring.health)
    return InfluxChannel(influx)
