"""`ingest.sl651.rtu.Rtu`, the simulated telemetry unit, against a centre on
real loopback TCP (a small asyncio server here, framing with `FrameStream`):
a report built in one or several packets, HEX or ASCII; sent until confirmed
— resent after the confirmation timeout, after the centre closed the
connection, and held until a centre that was down comes up; a NAKed packet
sent again; a confirmation of another report not taken for this one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime

import pytest
import pytest_asyncio

from floodwatch.ingest.sl651 import ascii as ascii_mode
from floodwatch.ingest.sl651 import ascii_body, body, codec
from floodwatch.ingest.sl651 import frame as hex_mode
from floodwatch.ingest.sl651.body import HOURLY, KEEP_ALIVE, TIMED, Element
from floodwatch.ingest.sl651.frame import End, Frame, confirmation
from floodwatch.ingest.sl651.rtu import Rtu, RtuIdentity
from floodwatch.ingest.sl651.stream import FrameStream
from tests.integration.services import free_port

T0 = datetime(2026, 7, 7, 8, 0)  # noqa: DTZ001 - the RTU's clock
POND = RtuIdentity("0033018201", "1234", "K", definitions={"Z": 0x23})
LEVEL = [Element("Z", T0, 310.412)]
# A centre's answer to a frame: frames to send back (None: close the connection).
Policy = Callable[[Frame, int], list[Frame] | None]


def confirm(frame: Frame, end: End = End.EOT) -> Frame:
    serial = frame.body[:16] if frame.ascii else frame.body[:8]
    return confirmation(frame, serial, end)


@dataclass
class Centre:
    """Frames received (per connection), answered by `policy(frame, n)` (n:
    frames received so far)."""

    policy: Policy
    port: int = 0
    frames: list[Frame] = field(default_factory=list)
    connections: int = 0
    server: asyncio.Server | None = None
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in self.writers:
                writer.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        stream = FrameStream()
        try:
            while data := await reader.read(4096):
                for item in stream.feed(data):
                    assert isinstance(item, Frame), item
                    self.frames.append(item)
                    answers = self.policy(item, len(self.frames))
                    if answers is None:
                        return
                    for a in answers:
                        writer.write(ascii_mode.encode(a) if item.ascii else hex_mode.encode(a))
        except ConnectionError:
            pass
        finally:
            writer.close()


@pytest_asyncio.fixture
async def centre() -> AsyncIterator[Centre]:
    c = Centre(lambda frame, n: [confirm(frame)] if frame.function != KEEP_ALIVE else [])
    await c.start()
    yield c
    await c.stop()


def test_a_short_report_is_one_frame_that_decodes_to_it() -> None:
    rtu = Rtu(POND, "127.0.0.1", 1)
    (raw,) = rtu.build(TIMED, LEVEL, T0, serial=0x1234)
    frame = hex_mode.decode(raw)
    assert (frame.station, frame.password, frame.function, frame.end) == (
        "0033018201",
        "1234",
        TIMED,
        End.ETX,
    )
    got = codec.report(frame)
    assert got.serial == 0x1234 and got.station == "0033018201" and got.station_class == "K"
    assert [(e.name, e.value) for e in got.elements] == [("Z", 310.412)]
    assert body.decode(TIMED, frame.body) == got


def test_serials_count_up_and_wrap_at_16_bits() -> None:
    rtu = Rtu(POND, "127.0.0.1", 1)
    first, second = (hex_mode.decode(rtu.build(TIMED, LEVEL, T0)[0]).body[:2] for _ in range(2))
    assert (first, second) == (b"\x00\x01", b"\x00\x02")
    (raw,) = rtu.build(TIMED, LEVEL, T0, serial=0x10005 & 0xFFFF)
    assert hex_mode.decode(raw).body[:2] == b"\x00\x05"


def test_a_long_report_is_split_into_packets_and_joins_back() -> None:
    rtu = Rtu(POND, "127.0.0.1", 1, packet=16)
    series = [Element("DRZ1", T0, [310.0 + i / 100 for i in range(12)])]
    frames = [hex_mode.decode(raw) for raw in rtu.build(HOURLY, series, T0, serial=9)]
    assert len(frames) == 4  # 8 + 8 + 7 + 2 + 24 body bytes, 16 a packet
    assert [(f.total, f.sequence, f.end) for f in frames] == [
        (4, 1, End.ETB),
        (4, 2, End.ETB),
        (4, 3, End.ETB),
        (4, 4, End.ETX),
    ]
    joined = body.decode(HOURLY, b"".join(f.body for f in frames))
    assert joined.elements[0].value == [310.0 + i / 100 for i in range(12)]


def test_an_ascii_rtu_writes_ascii_frames_and_bodies() -> None:
    rtu = Rtu(RtuIdentity("0033018203", "1234", "P", ascii=True), "127.0.0.1", 1)
    (raw,) = rtu.build(TIMED, [Element("PJ", T0, 5.5)], T0, serial=3)
    frame = ascii_mode.decode(raw)
    assert frame.ascii and ascii_body.decode(TIMED, frame.body).elements == [Element("PJ", T0, 5.5)]


@pytest.mark.asyncio
async def test_a_report_is_sent_once_and_confirmed(centre: Centre) -> None:
    rtu = Rtu(POND, "127.0.0.1", centre.port, confirm_timeout=5)
    await rtu.keep_alive(T0)
    await rtu.report(TIMED, LEVEL, T0)
    await rtu.report(TIMED, LEVEL, T0)
    assert [f.function for f in centre.frames] == [KEEP_ALIVE, TIMED, TIMED]
    assert (rtu.sent, rtu.resent, rtu.confirmed, centre.connections) == (2, 0, 2, 1)
    await rtu.close()
    await rtu.close()  # twice: harmless


@pytest.mark.asyncio
async def test_an_unconfirmed_report_is_sent_again_after_the_timeout(centre: Centre) -> None:
    centre.policy = lambda frame, n: [] if n == 1 else [confirm(frame)]  # the first is lost
    rtu = Rtu(POND, "127.0.0.1", centre.port, confirm_timeout=0.3)
    await asyncio.wait_for(rtu.report(TIMED, LEVEL, T0), 5)
    assert len(centre.frames) == 2 and centre.frames[0].raw == centre.frames[1].raw  # same serial
    assert (rtu.resent, rtu.confirmed, centre.connections) == (1, 1, 1)
    await rtu.close()


@pytest.mark.asyncio
async def test_the_confirmation_of_another_report_does_not_count(centre: Centre) -> None:
    def other_serial(frame: Frame, n: int) -> list[Frame]:
        if n > 1:
            return [confirm(frame)]
        return [confirmation(frame, b"\x7f\x7f" + frame.body[2:8])]

    centre.policy = other_serial
    rtu = Rtu(POND, "127.0.0.1", centre.port, confirm_timeout=0.3)
    await asyncio.wait_for(rtu.report(TIMED, LEVEL, T0), 5)
    assert rtu.resent == 1 and rtu.confirmed == 1
    await rtu.close()


@pytest.mark.asyncio
async def test_a_closed_connection_is_opened_again_and_the_report_resent(centre: Centre) -> None:
    centre.policy = lambda frame, n: None if n == 1 else [confirm(frame, End.ESC)]
    rtu = Rtu(POND, "127.0.0.1", centre.port, confirm_timeout=5, reconnect_delay=0.05)
    await asyncio.wait_for(rtu.report(TIMED, LEVEL, T0), 5)
    assert centre.connections == 2 and len(centre.frames) == 2
    assert (rtu.resent, rtu.confirmed) == (1, 1)  # ESC confirms too
    await rtu.close()


@pytest.mark.asyncio
async def test_a_centre_that_is_down_is_waited_for() -> None:
    port = free_port()
    rtu = Rtu(POND, "127.0.0.1", port, confirm_timeout=5, reconnect_delay=0.05)
    sending = asyncio.create_task(rtu.report(TIMED, LEVEL, T0))
    await asyncio.sleep(0.4)
    assert not sending.done()
    late = Centre(lambda frame, n: [confirm(frame)], port=port)
    await late.start()
    try:
        await asyncio.wait_for(sending, 5)
        assert len(late.frames) == 1 and rtu.resent == 0
    finally:
        await rtu.close()
        await late.stop()


@pytest.mark.asyncio
async def test_a_naked_packet_is_sent_again_then_the_report_confirmed(centre: Centre) -> None:
    def nak_second(frame: Frame, n: int) -> list[Frame]:
        if n == 4:  # all four packets came; pretend the second did not
            return [
                Frame(frame.centre, frame.station, frame.password, frame.function, b"", End.NAK,
                      uplink=False, total=4, sequence=2)
            ]  # fmt: skip
        if n == 5:
            assert frame.sequence == 2
            first = centre.frames[0]
            return [confirmation(first, first.body[:8])]
        return []

    centre.policy = nak_second
    rtu = Rtu(POND, "127.0.0.1", centre.port, confirm_timeout=5, packet=16)
    series = [Element("DRZ1", T0, [310.0] * 12)]
    await asyncio.wait_for(rtu.report(HOURLY, series, T0), 5)
    assert [f.sequence for f in centre.frames] == [1, 2, 3, 4, 2]
    assert (rtu.sent, rtu.resent, rtu.confirmed) == (5, 0, 1)
    await rtu.close()
