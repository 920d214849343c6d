"""The SL 651 receiver over real loopback TCP, its sink an in-memory list:
confirmation only after `confirm` (the service's commit), dead-letters with the
raw frame and a reason, counters per address, multi-packet with NAK,
deduplication across reconnects, a half-open connection blocking nobody."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floodwatch.config.sl651 import Sl651Settings
from floodwatch.ingest.sl651 import ascii as ascii_mode
from floodwatch.ingest.sl651 import frame as hex_mode
from floodwatch.ingest.sl651.body import HOURLY, TIMED, Element
from floodwatch.ingest.sl651.frame import Frame
from floodwatch.ingest.sl651.mapping import Directory
from floodwatch.ingest.sl651.rtu import Rtu, RtuIdentity
from floodwatch.ingest.sl651.server import Receiver
from floodwatch.ingest.sl651.stream import FrameStream
from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Rejected

CONFIG = Path(__file__).parents[4] / "config"
POND = RtuIdentity("0033018201", "1234", "K")
RAIN = RtuIdentity("0033018203", "1234", "P", definitions={"PJ": 0x1B})
T0 = datetime(2026, 7, 7, 8, 0)  # noqa: DTZ001 - the RTU's clock: Beijing time


class Sink:
    def __init__(self) -> None:
        self.items: list[Incoming] = []
        self.rejected: list[Rejected] = []
        self.auto = True

    async def put(self, item: Incoming) -> None:
        self.items.append(item)
        if self.auto:
            self.commit()

    def commit(self) -> None:
        for item in self.items:
            if item.confirm is not None:
                item.confirm()
                item.confirm = None

    def readings(self) -> list[dict[str, Any]]:
        return [r for i in self.items for r in json.loads(i.payload)]


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, Sink]]:
    sink = Sink()
    settings = Sl651Settings(
        listen="127.0.0.1:0",
        packet_timeout=timedelta(seconds=0.3),
        idle_timeout=timedelta(seconds=3),
    )
    stations = load_config_dir(CONFIG).config.stations
    rx = Receiver(settings, Directory(stations), sink.put, sink.rejected.extend)
    task = asyncio.create_task(rx.run())
    await asyncio.wait_for(rx.listening.wait(), 5)
    yield rx, sink
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_report_is_confirmed_only_after_its_readings_are_stored(
    receiver: tuple[Receiver, Sink],
) -> None:
    rx, sink = receiver
    sink.auto = False
    rtu = Rtu(POND, "127.0.0.1", rx.port, confirm_timeout=5)
    sending = asyncio.create_task(
        rtu.report(TIMED, [Element("Z", T0, 310.412), Element("VT", T0, 12.5)], T0)
    )
    await _until(lambda: len(sink.items) == 1)
    await asyncio.sleep(0.2)
    assert not sending.done(), "confirmed before the commit"
    sink.commit()
    await asyncio.wait_for(sending, 5)
    assert sink.readings() == [
        {"station": "maokeng-pond", "kind": "level", "value": 310.412, "ts": "2026-07-07T00:00:00Z"}
    ]
    assert rx.confirmed == 1
    await rtu.close()


@pytest.mark.asyncio
async def test_unknown_address_and_bad_password_are_dead_lettered_and_counted(
    receiver: tuple[Receiver, Sink],
) -> None:
    rx, sink = receiver
    stranger = Rtu(
        RtuIdentity("0099999999", "1234", "K"), "127.0.0.1", rx.port, confirm_timeout=0.3
    )
    wrong = Rtu(RtuIdentity("0033018201", "9999", "K"), "127.0.0.1", rx.port, confirm_timeout=0.3)
    for rtu in (stranger, wrong):
        frame = rtu.build(TIMED, [Element("Z", T0, 310.0)], T0)[0]
        _, writer = await asyncio.open_connection("127.0.0.1", rx.port)
        writer.write(frame)
        await writer.drain()
        before = len(sink.rejected)
        await _until(lambda: len(sink.rejected) > before)  # noqa: B023 - awaited here
        writer.close()
    unknown, bad = sink.rejected
    assert unknown.reason == "unknown_address" and "0099999999" in unknown.detail
    assert bad.reason == "bad_password" and "maokeng-pond" in bad.detail
    assert unknown.raw is not None and unknown.raw.startswith("7E7E01009999999912343200")
    assert rx.refused[("0099999999", "unknown_address")] == 1
    assert rx.refused[("0033018201", "bad_password")] == 1
    assert sink.items == []


@pytest.mark.asyncio
async def test_unsupported_function_and_bad_crc_are_dead_lettered_naming_why(
    receiver: tuple[Receiver, Sink],
) -> None:
    rx, sink = receiver
    odd = hex_mode.encode(Frame(1, "0033018201", "1234", 0x4B, bytes(8)))
    good = Rtu(POND, "127.0.0.1", rx.port).build(TIMED, [Element("Z", T0, 310.0)], T0)[0]
    broken = good[:-1] + bytes([good[-1] ^ 1])
    _, writer = await asyncio.open_connection("127.0.0.1", rx.port)
    writer.write(odd + broken)
    await writer.drain()
    await _until(lambda: len(sink.rejected) == 2)
    assert sink.rejected[0].reason == "unsupported_function"
    assert "4BH" in sink.rejected[0].detail
    assert sink.rejected[1].reason == "bad_frame" and "crc_mismatch" in sink.rejected[1].detail
    assert sink.rejected[1].raw == broken.hex().upper()
    writer.close()


@pytest.mark.asyncio
async def test_an_ascii_report_with_a_short_time_is_dead_lettered_and_the_connection_kept(
    receiver: tuple[Receiver, Sink],
) -> None:
    # Its send time of two bytes used to raise IndexError out of the decoder:
    # the connection died, the frame was never dead-lettered, the RTU resent it.
    rx, sink = receiver
    body = b"0001 2607 ST 0033018201 K TT 2607070800 Z 310.000 "
    short = ascii_mode.encode(Frame(1, "0033018201", "1234", TIMED, body))
    rtu = Rtu(POND, "127.0.0.1", rx.port, confirm_timeout=5)
    await rtu.connect()
    assert rtu.writer is not None
    rtu.writer.write(short)
    await _until(lambda: len(sink.rejected) == 1)
    assert sink.rejected[0].reason == "bad_frame" and "bad_header" in sink.rejected[0].detail
    await rtu.report(TIMED, [Element("Z", T0, 310.0)], T0)  # the same connection
    assert rtu.resent == 0 and rx.confirmed == 1
    await rtu.close()


@pytest.mark.asyncio
async def test_multi_packet_hourly_report_is_joined_and_a_missing_packet_nakked(
    receiver: tuple[Receiver, Sink],
) -> None:
    rx, sink = receiver
    rtu = Rtu(RAIN, "127.0.0.1", rx.port, confirm_timeout=5)
    rain = [0.1 * i for i in range(12)]
    elements = [Element("DRP", T0, rain, timedelta(minutes=5))]
    elements += [Element("VT", T0 + timedelta(minutes=m), 12.0) for m in range(0, 600, 5)]
    frames = rtu.build(HOURLY, elements, T0, serial=77)
    assert len(frames) > 2
    reader, writer = await asyncio.open_connection("127.0.0.1", rx.port)
    writer.write(b"".join(frames[:1] + frames[2:]))  # packet 2 lost
    await writer.drain()
    answer = hex_mode.decode(
        await reader.readexactly(
            len(
                hex_mode.encode(
                    Frame(1, RAIN.address, "1234", HOURLY, bytes(8), total=len(frames), sequence=2)
                )
            )
        )
    )
    assert answer.end == hex_mode.End.NAK and answer.sequence == 2
    writer.write(frames[1])
    await writer.drain()
    await _until(lambda: rx.confirmed == 1)
    got = sink.readings()
    assert [r["value"] for r in got] == pytest.approx(rain)
    assert got[0]["ts"] == "2026-07-07T00:00:00Z" and got[-1]["ts"] == "2026-07-07T00:55:00Z"
    writer.close()


@pytest.mark.asyncio
async def test_a_resent_report_is_confirmed_once_stored_and_not_handed_on_twice(
    receiver: tuple[Receiver, Sink],
) -> None:
    rx, sink = receiver
    sink.auto = False
    frame = Rtu(POND, "127.0.0.1", rx.port).build(TIMED, [Element("Z", T0, 310.0)], T0, serial=9)[0]
    _, first_w = await asyncio.open_connection("127.0.0.1", rx.port)
    first_w.write(frame)
    await _until(lambda: len(sink.items) == 1)
    first_w.close()  # the link drops before the confirmation
    second_r, second_w = await asyncio.open_connection("127.0.0.1", rx.port)
    second_w.write(frame)  # the RTU resends on a new connection
    await _until(lambda: rx.duplicates == 1)
    sink.commit()
    answer = hex_mode.decode(await asyncio.wait_for(second_r.read(100), 5))
    assert answer.end == hex_mode.End.ESC and answer.body[:2] == (9).to_bytes(2, "big")
    assert len(sink.items) == 1
    second_w.close()


@pytest.mark.asyncio
async def test_a_half_open_connection_blocks_nobody(receiver: tuple[Receiver, Sink]) -> None:
    rx, _ = receiver
    frame = Rtu(POND, "127.0.0.1", rx.port).build(TIMED, [Element("Z", T0, 310.0)], T0)[0]
    _, stuck = await asyncio.open_connection("127.0.0.1", rx.port)
    stuck.write(frame[:20])  # half a frame, then nothing
    await stuck.drain()
    rtu = Rtu(RAIN, "127.0.0.1", rx.port, confirm_timeout=2)
    await asyncio.wait_for(rtu.report(TIMED, [Element("PJ", T0, 1.5)], T0), 3)
    assert rx.connections == 2
    await rtu.close()
    stuck.close()


@pytest.mark.asyncio
async def test_a_silent_connection_is_closed_after_the_idle_timeout(
    receiver: tuple[Receiver, Sink],
) -> None:
    rx, _ = receiver
    reader, writer = await asyncio.open_connection("127.0.0.1", rx.port)
    await _until(lambda: rx.connections == 1)
    assert await asyncio.wait_for(reader.read(100), 10) == b""  # closed by the receiver
    assert rx.connections == 0
    writer.close()


@pytest.mark.asyncio
async def test_a_report_whose_packet_never_comes_is_dead_lettered_after_two_naks(
    receiver: tuple[Receiver, Sink],
) -> None:
    rx, sink = receiver
    rtu = Rtu(RAIN, "127.0.0.1", rx.port, packet=16)
    frames = rtu.build(HOURLY, [Element("DRP", T0, [0.5] * 12, timedelta(minutes=5))], T0)
    reader, writer = await asyncio.open_connection("127.0.0.1", rx.port)
    writer.write(b"".join(frames[1:]))  # packet 1 never sent
    await _until(lambda: len(sink.rejected) == 1, timeout=10)
    naks = [i for i in FrameStream().feed(await reader.read(4096)) if isinstance(i, Frame)]
    assert naks and all(f.end == hex_mode.End.NAK and f.sequence == 1 for f in naks)
    assert "incomplete_report" in sink.rejected[0].detail
    assert sink.rejected[0].raw == b"".join(frames[1:]).hex().upper()
    assert sink.items == []
    writer.close()


@pytest.mark.asyncio
async def test_a_report_given_up_by_the_rtu_for_another_is_dead_lettered_at_once(
    receiver: tuple[Receiver, Sink],
) -> None:
    """The RTU sends two packets of a long hourly report, gives it up and sends a
    shorter one: the first is dead-lettered then (not dropped unseen), the
    second taken."""
    rx, sink = receiver
    rtu = Rtu(RAIN, "127.0.0.1", rx.port, packet=16)
    long = rtu.build(HOURLY, [Element("DRP", T0, [0.5] * 12, timedelta(minutes=5))], T0, 7)
    later = T0 + timedelta(hours=1)
    short = Rtu(RAIN, "127.0.0.1", rx.port, packet=32).build(
        HOURLY, [Element("DRP", later, [0.5] * 12, timedelta(minutes=5))], later, 8
    )
    assert 2 <= len(short) < len(long)  # another packet total
    _, writer = await asyncio.open_connection("127.0.0.1", rx.port)
    writer.write(b"".join(long[:2]))
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.write(b"".join(short))
    await _until(lambda: len(sink.items) == 1 and len(sink.rejected) == 1)
    [refused] = sink.rejected
    assert refused.detail.startswith(f"incomplete_report: packets {list(range(3, len(long) + 1))}")
    assert (
        "never came (the RTU began another report) (station address 0033018203)" in refused.detail
    )
    assert refused.raw == b"".join(long[:2]).hex().upper()
    assert len(sink.readings()) == 12
    writer.close()


@given(st.binary(min_size=1, max_size=300))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_bytes_over_tcp_end_in_the_dead_letter_and_the_receiver_stays_up(
    data: bytes,
) -> None:
    async def run() -> None:
        sink = Sink()
        settings = Sl651Settings(listen="127.0.0.1:0")
        stations = load_config_dir(CONFIG).config.stations
        rx = Receiver(settings, Directory(stations), sink.put, sink.rejected.extend)
        task = asyncio.create_task(rx.run())
        await asyncio.wait_for(rx.listening.wait(), 5)
        _, writer = await asyncio.open_connection("127.0.0.1", rx.port)
        writer.write(data)
        await writer.drain()
        writer.close()
        await _until(lambda: rx.connections == 0 and sink.rejected != [])
        raw = "".join(r.raw or "" for r in sink.rejected)
        assert raw == data.hex().upper()  # every byte, in order, with a reason
        assert all(r.reason and r.detail for r in sink.rejected)
        rtu = Rtu(POND, "127.0.0.1", rx.port, confirm_timeout=5)
        await rtu.report(TIMED, [Element("Z", T0, 310.0)], T0)  # still serving
        await rtu.close()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())


def test_metrics_name_the_refused_address() -> None:
    from floodwatch.web.metrics import sl651_metrics

    stations = load_config_dir(CONFIG).config.stations
    rx = Receiver(Sl651Settings(), Directory(stations), Sink().put, lambda rejected: None)
    rx.refused[("0099999999", "unknown_address")] = 3
    families = {m.name: m for m in sl651_metrics(rx)}
    sample = families["floodwatch_sl651_refused"].samples[0]
    assert sample.labels == {"address": "0099999999", "reason": "unknown_address"}
    assert sample.value == 3
    rx.confirm_counts[2] = 5  # 10-25 ms
    histogram = {m.name: m for m in sl651_metrics(rx)}["floodwatch_sl651_confirm_seconds"]
    le = {s.labels["le"]: s.value for s in histogram.samples if s.name.endswith("_bucket")}
    assert le["0.01"] == 0 and le["0.025"] == 5 and le["+Inf"] == 5
