"""InfluxDB (v2 write API) for dashboards: readings and alert transitions as points.

- Alert transitions go through the outbox like every destination (durable,
  retried): measurement `alert`, tags station, rule, severity, transition,
  status, village, town; fields `level` (severity rank: blue 1 … red 4, 0 when
  resolved), `value`, `threshold`.
- Readings are written from the service after each stored step, batched
  (up to 5,000 a write, at least once a second) from a bounded buffer: a
  time-series store for dashboards, not a record — if it is away for long the
  oldest readings beyond the buffer are dropped and counted. A failed write is
  tried again after the one backoff (~1 s, 2 s, 4 s, then every 5 s); a batch
  the server refuses (4xx but 429) is dropped and counted, not tried forever.
  Measurement `reading`, tags station, kind, station_type, village, town;
  field `value`.

Points are InfluxDB line protocol (`notify/line_protocol.py`), POSTed with
httpx to `/api/v2/write` (precision ms, `Authorization: Token …`): one POST a
batch, no client library (why: docs/notify.md, *InfluxDB*). Any server with the
v2 write API works (InfluxDB 2/3; VictoriaMetrics in the tests). An answer
other than 2xx raises `WriteRefusedError` with its status; no answer at all raises
httpx's error.

The client is a supervised `InfluxConnection` (`notify/connection.py`): a
server that goes away is found by `/ping` while idle, writes wait until it is
back, and a fresh client (connection pool) is made after each loss.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from pathlib import Path
from typing import Literal

import httpx
from pydantic import Field

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Transition
from floodwatch.config.base import Problems
from floodwatch.config.destinations import DestinationBase
from floodwatch.ingest.backoff import Backoff
from floodwatch.notify import line_protocol
from floodwatch.notify.channel import Channel, OneByOne, Sink, Wiring
from floodwatch.notify.connection import InfluxConnection
from floodwatch.notify.health import Health
from floodwatch.notify.outcome import Outcome
from floodwatch.notify.records import Delivery
from floodwatch.readings import Reading, ts_to_ms
from floodwatch.rules.compile import CompiledConfig


class InfluxDestination(DestinationBase):
    type: Literal["influx"]
    url: str | None = Field(None, description="the server (InfluxDB 2 write API)")
    bucket: str = Field("floodwatch", description="bucket (InfluxDB 2 API)")
    org: str = Field("floodwatch", description="organisation")
    token_file: str | None = Field(None, description="file holding the API token")

    def problems(self) -> Problems:
        yield from super().problems()
        if not self.url:
            yield ("url",), "a influx destination needs a url"


log = logging.getLogger(__name__)

BUFFER = 200_000
BATCH = 5_000


class WriteRefusedError(Exception):
    """The server answered a write with a status other than 2xx."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status = status


class Influx:
    def __init__(
        self,
        name: str,
        dest: InfluxDestination,
        compiled: CompiledConfig,
        backoff: Backoff,
        health: Health | None = None,
    ) -> None:
        assert dest.url is not None
        url = dest.url
        token = Path(dest.token_file).read_text().strip() if dest.token_file else "floodwatch"
        self.dest = dest
        self.compiled = compiled

        self.params = {"org": dest.org, "bucket": dest.bucket, "precision": "ms"}

        def client() -> httpx.AsyncClient:
            return httpx.AsyncClient(
                base_url=url,
                headers={"Authorization": f"Token {token}"},
                timeout=dest.timeout.total_seconds(),
            )

        self.connection = InfluxConnection(f"influx {name}", client, backoff, health)
        self.buffer: deque[Reading] = deque(maxlen=BUFFER)
        self._tags: dict[str, dict[str, str]] = {}  # station -> its place tags
        # (station, kind) -> (its place tags, the series of its readings' lines)
        self._series: dict[tuple[str, str], tuple[dict[str, str], str]] = {}
        self.dropped = 0
        # Waits between failed writes of the readings: the one backoff, ~1 s … 5 s.
        self.retry = Backoff(1.0, 5.0)
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

    def alert_point(self, event: AlertEvent) -> str | None:
        """The line of an alert transition (None: nothing to write)."""
        tags = {
            "station": event.station,
            "rule": event.rule,
            "severity": event.severity.value,
            "transition": event.transition.value,
            "status": event.status.value,
        }
        tags |= self._place(event.station)
        level = 0 if event.transition is Transition.RESOLVED else event.severity.rank
        fields: dict[str, float | int] = {"level": level}
        for name, number in (("value", event.value), ("threshold", event.threshold)):
            if number is not None:
                fields[name] = float(number)
        return line_protocol.line("alert", tags, fields, ts_to_ms(event.ts))

    def reading_point(self, r: Reading) -> str | None:
        """The line of a reading (None when its value is not finite); the same
        text as `line_protocol.line`, its series part made once per station and
        kind (and again when the station's place tags are made again)."""
        value = line_protocol.number(float(r.value))
        if value is None:
            return None
        place = self._place(r.station)
        made = self._series.get((r.station, r.kind))
        if made is None or made[0] is not place:
            tags = {"station": r.station, "kind": r.kind, **place}
            made = self._series[r.station, r.kind] = (place, line_protocol.series("reading", tags))
        return f"{made[1]} value={value} {ts_to_ms(r.ts)}"

    async def write(self, points: list[str | None]) -> None:
        """POST the lines in one write. Raises ConnectionError while not
        connected, `WriteRefusedError` for an answer other than 2xx, or httpx's
        error when there is no answer."""
        client = self.connection.client
        if client is None or not self.connection.ready.is_set():
            raise ConnectionError("not connected")
        body = "\n".join(p for p in points if p is not None)
        if not body:
            return
        response = await client.post(
            "/api/v2/write",
            params=self.params,
            content=body.encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        if not response.is_success:
            raise WriteRefusedError(response.status_code, response.text)

    async def write_alert(self, event: AlertEvent) -> None:
        await self.write([self.alert_point(event)])

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
            except Exception as exc:  # any server or connection failure
                status = getattr(exc, "status", None)
                if isinstance(status, int) and 400 <= status < 500 and status != 429:
                    # refused, and would be again: dropped and counted, the rest go on
                    log.error("influx: %d readings refused, dropped: %s", len(batch), exc)
                    self._taken(batch)
                    self.dropped += len(batch)
                    continue
                if not isinstance(status, int):
                    self.connection.lost(f"{exc!r}")
                wait = self.retry.next_delay()
                log.warning(
                    "influx: readings not written (%s); attempt %d, retrying in %.1f s",
                    exc,
                    self.retry.attempt,
                    wait,
                )
                await asyncio.sleep(wait)
                continue
            self.retry.reset()
            self._taken(batch)
            self.written += len(batch)
            if len(self.buffer) < BATCH:
                await asyncio.sleep(1.0)

    def _taken(self, batch: list[Reading]) -> None:
        for _ in batch:
            self.buffer.popleft()

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
            await self.influx.write_alert(delivery.alert)
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


def channel(wiring: Wiring[InfluxDestination]) -> Channel:
    assert wiring.compiled is not None  # the service always gives it
    influx = Influx(wiring.name, wiring.dest, wiring.compiled, wiring.backoff(), wiring.health)
    return InfluxChannel(influx)


SINK = Sink(InfluxDestination, channel)
