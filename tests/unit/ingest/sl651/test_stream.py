"""`ingest.sl651.stream.FrameStream`: a TCP byte stream split into frames, fed
in any pieces; bytes before a start and bad frames set aside as `Junk` with a
reason and their bytes; after a bad frame the search resumes one byte on, so a
corrupted length never swallows the good frames behind it; what is left at
the end flushed as `truncated`."""

from __future__ import annotations

from datetime import datetime

from floodwatch.ingest.sl651 import ascii as ascii_mode
from floodwatch.ingest.sl651 import ascii_body, body
from floodwatch.ingest.sl651 import frame as hex_mode
from floodwatch.ingest.sl651.body import TIMED, Element, Report
from floodwatch.ingest.sl651.frame import Frame
from floodwatch.ingest.sl651.stream import FrameStream, Junk

SENT = datetime(2026, 7, 7, 8, 3, 10)  # noqa: DTZ001 - the RTU's clock


def report(serial: int) -> Report:
    return Report(TIMED, serial, SENT, "0033018201", "K", [Element("Z", SENT, 310.0 + serial)])


def hex_frame(serial: int) -> bytes:
    return hex_mode.encode(Frame(1, "0033018201", "1234", TIMED, body.encode(report(serial))))


def ascii_frame(serial: int) -> bytes:
    data = ascii_body.encode(report(serial))
    return ascii_mode.encode(Frame(1, "0033018201", "1234", TIMED, data))


def kinds(items: list[Frame | Junk]) -> list[str]:
    return [i.reason if isinstance(i, Junk) else ("ascii" if i.ascii else "hex") for i in items]


def test_frames_fed_a_byte_at_a_time_come_out_as_from_one_read() -> None:
    data = hex_frame(1) + ascii_frame(2) + hex_frame(3)
    whole = FrameStream().feed(data)
    stream = FrameStream()
    pieces = [item for byte in data for item in stream.feed(bytes([byte]))]
    assert pieces == whole and kinds(whole) == ["hex", "ascii", "hex"]
    assert [f.raw for f in whole if isinstance(f, Frame)] == [
        hex_frame(1),
        ascii_frame(2),
        hex_frame(3),
    ]
    assert stream.pending == 0 and stream.flush() is None


def test_half_a_frame_waits_for_the_rest_and_is_held() -> None:
    stream = FrameStream()
    raw = hex_frame(1)
    assert stream.feed(raw[:5]) == [] and stream.pending == 5 and bytes(stream) == raw[:5]
    assert stream.feed(raw[5:20]) == [] and stream.pending == 20
    (frame,) = stream.feed(raw[20:])
    assert isinstance(frame, Frame) and frame.raw == raw and stream.pending == 0


def test_bytes_before_a_start_are_junk_and_a_last_7e_is_kept() -> None:
    stream = FrameStream()
    (junk,) = stream.feed(b"AT+OK\r\n\x7e")
    assert junk == Junk("no_frame_start", "bytes without a frame start", b"AT+OK\r\n")
    assert stream.pending == 1  # may be the first half of 7E 7E
    items = stream.feed(hex_frame(1)[1:] + b"\x00\x00" + hex_frame(2))
    assert kinds(items) == ["hex", "no_frame_start", "hex"]
    assert items[1] == Junk("no_frame_start", "bytes before a frame start", b"\x00\x00")


def test_soh_not_followed_by_a_hex_digit_is_no_start() -> None:
    items = FrameStream().feed(b"\x01\x01Z" + ascii_frame(1))
    assert kinds(items) == ["no_frame_start", "ascii"] and items[0].raw == b"\x01\x01Z"  # type: ignore[union-attr]


def test_a_bad_crc_is_junk_and_the_next_frame_is_still_read() -> None:
    bad = bytearray(hex_frame(1))
    bad[-1] ^= 0xFF
    items = FrameStream().feed(bytes(bad) + hex_frame(2))
    assert kinds(items) == ["crc_mismatch", "hex"]
    assert items[0].raw == bytes(bad)  # type: ignore[union-attr]


def test_a_corrupted_length_does_not_swallow_the_frames_behind_it() -> None:
    bad = bytearray(hex_frame(1))
    bad[12] = 0xFF  # the length now says 255 + bytes: it reaches into the next frames
    stream = FrameStream()
    items = stream.feed(bytes(bad) + hex_frame(2) + hex_frame(3) + bytes(300))
    frames = [i for i in items if isinstance(i, Frame)]
    assert [f.raw for f in frames] == [hex_frame(2), hex_frame(3)]
    assert isinstance(items[0], Junk) and items[0].raw == bytes(bad)


def test_an_ascii_header_whose_length_is_not_hex_costs_one_byte() -> None:
    raw = ascii_frame(1)
    bad = raw[:19] + b"ZZZZ" + raw[23:]
    items = FrameStream().feed(bad + ascii_frame(2))
    assert items[0] == Junk("bad_length", repr(b"ZZZZ"), b"\x01")
    assert kinds(items)[-1] == "ascii" and items[-1].raw == ascii_frame(2)  # type: ignore[union-attr]


def test_flush_hands_back_an_unfinished_frame_as_truncated() -> None:
    stream = FrameStream()
    stream.feed(hex_frame(1)[:30])
    junk = stream.flush()
    assert junk == Junk("truncated", "30 bytes of an unfinished frame", hex_frame(1)[:30])
    assert stream.pending == 0 and stream.flush() is None
