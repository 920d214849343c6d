"""A simulated RTU (遥测终端): what a rain or level station's telemetry unit
does on a GPRS/4G link in M2/M3 mode.

It connects to the centre, sends each report and waits for its confirmation
(EOT or ESC); a report not confirmed in time is sent again on the same or a
new connection (the RTU keeps its unconfirmed reports: nothing is lost when
the centre restarts); a NAK for a packet of a multi-packet report resends that
packet. Between reports it may send keep-alives (2F). Reports can be sent in
HEX/BCD or ASCII mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass, field
from datetime import datetime

from floodwatch.ingest.sl651 import ascii as ascii_mode
from floodwatch.ingest.sl651 import ascii_body, body
from floodwatch.ingest.sl651 import frame as hex_mode
from floodwatch.ingest.sl651.body import KEEP_ALIVE, Element, Report
from floodwatch.ingest.sl651.frame import End, Frame
from floodwatch.ingest.sl651.stream import FrameStream

log = logging.getLogger(__name__)

PACKET = 200  # body bytes per packet of a multi-packet report


@dataclass
class RtuIdentity:
    address: str
    password: str
    station_class: str  # P, H, K…
    centre: int = 1
    ascii: bool = False
    definitions: dict[str, int] = field(default_factory=dict)  # element -> definition byte


class Rtu:
    """One RTU's connection to the centre."""

    def __init__(
        self,
        identity: RtuIdentity,
        host: str,
        port: int,
        *,
        confirm_timeout: float = 10.0,
        reconnect_delay: float = 0.5,
        packet: int = PACKET,
    ) -> None:
        self.id = identity
        self.host, self.port = host, port
        self.confirm_timeout = confirm_timeout
        self.reconnect_delay = reconnect_delay
        self.packet = packet  # body bytes per packet
        self.serials = itertools.count(1)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.stream = FrameStream()
        self.sent = 0  # frames sent (resends included)
        self.resent = 0  # reports sent again
        self.confirmed = 0

    async def connect(self) -> None:
        while True:
            try:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                self.stream = FrameStream()
                return
            except OSError:
                await asyncio.sleep(self.reconnect_delay)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await self.writer.wait_closed()
            self.writer = self.reader = None

    def build(
        self,
        function: int,
        elements: list[Element],
        sent: datetime,
        serial: int | None = None,
        picture: bytes | None = None,
    ) -> list[bytes]:
        """The frames of a report (several packets when the body is long)."""
        report = Report(
            function,
            next(self.serials) & 0xFFFF if serial is None else serial,
            sent,
            self.id.address,
            self.id.station_class,
            elements,
            picture=picture,
        )
        if self.id.ascii:
            data = ascii_body.encode(report)
        else:
            data = body.encode(report, self.id.definitions)
        chunks = [data[i : i + self.packet] for i in range(0, len(data), self.packet)] or [b""]
        encode = ascii_mode.encode if self.id.ascii else hex_mode.encode
        frames = []
        for n, chunk in enumerate(chunks, 1):
            last = n == len(chunks)
            frames.append(
                encode(
                    Frame(
                        self.id.centre,
                        self.id.address,
                        self.id.password,
                        function,
                        chunk,
                        End.ETX if last else End.ETB,
                        total=len(chunks) if len(chunks) > 1 else 0,
                        sequence=n if len(chunks) > 1 else 0,
                    )
                )
            )
        return frames

    async def report(self, function: int, elements: list[Element], sent: datetime) -> None:
        """Send a report until the centre confirms it."""
        serial = next(self.serials) & 0xFFFF
        await self.send(self.build(function, elements, sent, serial), serial)

    async def send(self, frames: list[bytes], serial: int) -> None:
        """Send a built report (`build`) until the centre confirms it — also
        what an RTU does with a report it already sent once."""
        while True:
            if self.writer is None:
                await self.connect()
            assert self.writer is not None
            try:
                self.writer.write(b"".join(frames))
                self.sent += len(frames)
                await self.writer.drain()
                if await self._confirmation(frames, serial):
                    self.confirmed += 1
                    return
            except (OSError, ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                await asyncio.sleep(self.reconnect_delay)
            self.resent += 1

    async def keep_alive(self, sent: datetime) -> None:
        if self.writer is None:
            await self.connect()
        assert self.writer is not None
        self.writer.write(self.build(KEEP_ALIVE, [], sent)[0])
        await self.writer.drain()

    async def _confirmation(self, frames: list[bytes], serial: int) -> bool:
        """True once confirmed; False after the timeout (the caller resends)."""
        assert self.reader is not None and self.writer is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.confirm_timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                async with asyncio.timeout(left):
                    data = await self.reader.read(4096)
            except TimeoutError:
                return False
            if not data:
                raise ConnectionError("the centre closed the connection")
            for item in self.stream.feed(data):
                if not isinstance(item, Frame) or item.uplink:
                    continue
                if item.end in (End.EOT, End.ESC, End.ACK) and _serial(item) == serial:
                    return True
                # one report in flight: a NAK names a packet of it
                if item.end == End.NAK and item.multi and item.sequence <= len(frames):
                    self.writer.write(frames[item.sequence - 1])
                    self.sent += 1


def _serial(frame: Frame) -> int | None:
    """The serial a downlink frame answers."""
    try:
        if frame.ascii:
            return int(frame.body[:4].decode("ascii"), 16)
        return int.from_bytes(frame.body[:2], "big")
    except ValueError:
        return None
