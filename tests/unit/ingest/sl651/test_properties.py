"""Property tests of the SL 651 codec: round trips for every element type (both
modes), a stream split anywhere gives the frames of one read, random bytes
never crash and always end as junk with a reason."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floodwatch.ingest.sl651 import ascii as ascii_mode
from floodwatch.ingest.sl651 import ascii_body, body, codec
from floodwatch.ingest.sl651 import frame as hex_mode
from floodwatch.ingest.sl651.body import Element, Report
from floodwatch.ingest.sl651.elements import ELEMENTS
from floodwatch.ingest.sl651.frame import Frame, FrameError
from floodwatch.ingest.sl651.stream import FrameStream, Junk

NUMERIC = sorted(name for code, (name, _, _) in ELEMENTS.items() if code not in (0x04, 0x45))
# RTU clocks carry no zone: station local time, naive.
EARLIEST, LATEST = datetime(2000, 1, 1), datetime(2099, 12, 31)  # noqa: DTZ001
times = st.datetimes(min_value=EARLIEST, max_value=LATEST).map(
    lambda t: t.replace(second=0, microsecond=0)
)
addresses = st.binary(min_size=5, max_size=5).map(lambda b: b.hex().upper())


@st.composite
def numeric(draw: st.DrawFn) -> tuple[Element, int]:
    """An element with a value its definition byte can carry (length, decimals)."""
    size = draw(st.integers(1, 8))
    decimals = draw(st.integers(0, 7))
    negative = draw(st.booleans()) and size > 1
    digits = size * 2 - (2 if negative else 0)
    value: float | None = None
    if draw(st.integers(0, 9)):  # one in ten missing
        scaled = draw(st.integers(0, 10 ** min(digits, 15) - 1))
        value = (-scaled if negative else scaled) / 10**decimals
    at = draw(times)
    return Element(draw(st.sampled_from(NUMERIC)), at, value), size << 3 | decimals


@st.composite
def series(draw: st.DrawFn) -> Element:
    name = draw(st.sampled_from(["DRP", *(f"DRZ{i}" for i in range(1, 9))]))
    top, scale = (254, 10) if name == "DRP" else (65534, 100)
    cells = draw(st.lists(st.none() | st.integers(0, top), min_size=12, max_size=12))
    values = [None if c is None else c / scale for c in cells]
    return Element(name, draw(times), values, timedelta(minutes=5))


@st.composite
def reports(draw: st.DrawFn) -> tuple[Report, dict[str, int]]:
    items = draw(st.lists(numeric() | series(), min_size=1, max_size=6))
    definitions: dict[str, int] = {}
    elements: list[Element] = []
    for item in items:
        if isinstance(item, tuple):
            element, definition = item
            if definitions.setdefault(element.name, definition) != definition:
                continue  # one definition per element name in a report
            elements.append(element)
        else:
            elements.append(item)
    if draw(st.booleans()):
        elements.append(Element("ZT", elements[-1].time, draw(st.integers(0, 2**32 - 1))))
    report = Report(
        draw(st.sampled_from([0x30, 0x32, 0x33, 0x34, 0x37])),
        draw(st.integers(0, 0xFFFF)),
        draw(times),
        draw(addresses),
        draw(st.sampled_from(["P", "H", "K", "Z"])),
        elements,
    )
    return report, definitions


def _close(a: object, b: object) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a))
    return a == b


def _same(got: Report, want: Report) -> None:
    assert (got.function, got.serial, got.sent, got.station) == (
        want.function,
        want.serial,
        want.sent.replace(microsecond=0),
        want.station,
    )
    assert got.station_class == want.station_class
    assert [(e.name, e.time) for e in got.elements] == [(e.name, e.time) for e in want.elements]
    for g, w in zip(got.elements, want.elements, strict=True):
        assert _close(g.value, w.value), (g, w)


@given(reports())
@settings(max_examples=300, deadline=None)
def test_hex_round_trip_every_element_type(case: tuple[Report, dict[str, int]]) -> None:
    report, definitions = case
    data = body.encode(report, definitions)
    frame = Frame(0x01, report.station or "", "1234", report.function, data)
    decoded = hex_mode.decode(hex_mode.encode(frame))
    assert decoded.body == data
    _same(codec.report(decoded), report)


@given(reports())
@settings(max_examples=200, deadline=None)
def test_ascii_round_trip(case: tuple[Report, dict[str, int]]) -> None:
    report, _ = case
    for e in report.elements:  # ASCII values are written with 3 decimals
        if isinstance(e.value, float):
            object.__setattr__(e, "value", round(e.value, 3))
    frame = Frame(0x01, report.station or "", "1234", report.function, ascii_body.encode(report))
    raw = ascii_mode.encode(frame)
    items = FrameStream().feed(raw)
    assert len(items) == 1 and isinstance(items[0], Frame) and items[0].ascii
    _same(codec.report(items[0]), report)


def _frames(draw: st.DrawFn) -> list[bytes]:
    out = []
    for report, definitions in draw(st.lists(reports(), min_size=1, max_size=4)):
        multi = draw(st.booleans())
        ascii = draw(st.booleans())
        text = ascii_body.encode(report) if ascii else body.encode(report, definitions)
        frame = Frame(
            2,
            report.station or "",
            "0000",
            report.function,
            text,
            total=3 if multi else 0,
            sequence=2 if multi else 0,
        )
        out.append(ascii_mode.encode(frame) if ascii else hex_mode.encode(frame))
    return out


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    frames = _frames(draw)
    garbage = draw(st.binary(max_size=20).filter(lambda b: b"\x7e" not in b and b"\x01" not in b))
    data = garbage + b"".join(frames)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=10)))
    return data, cuts


def _summary(items: list[Frame | Junk]) -> list[tuple[str, bytes]]:
    return [(i.reason if isinstance(i, Junk) else "frame", i.raw) for i in items]


@given(streams())
@settings(max_examples=300, deadline=None)
def test_stream_split_anywhere_gives_the_frames_of_one_read(case: tuple[bytes, list[int]]) -> None:
    data, cuts = case
    whole = FrameStream().feed(data)
    stream = FrameStream()
    pieces: list[Frame | Junk] = []
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        pieces += stream.feed(data[start:end])
    # Junk may come in smaller pieces; the frames and all the bytes are the same.
    assert [i for i in pieces if isinstance(i, Frame)] == [i for i in whole if isinstance(i, Frame)]
    assert b"".join(i.raw for i in pieces) == b"".join(i.raw for i in whole) == data


@given(st.binary(max_size=600), st.lists(st.integers(1, 64), max_size=20))
@settings(max_examples=500, deadline=None)
def test_random_bytes_never_crash_and_end_as_junk_with_a_reason(
    data: bytes, sizes: list[int]
) -> None:
    stream = FrameStream()
    items: list[Frame | Junk] = []
    pos = 0
    for size in [*sizes, len(data)]:
        items += stream.feed(data[pos : pos + size])
        pos += size
    rest = stream.flush()
    if rest is not None:
        items.append(rest)
    assert b"".join(i.raw for i in items) == data  # every byte accounted for
    for item in items:
        if isinstance(item, Junk):
            assert item.reason and item.detail
        else:
            try:
                codec.report(item)
            except FrameError as exc:
                assert exc.reason


@given(st.binary(max_size=300), st.sampled_from(sorted(codec.FUNCTION_NAMES)))
@settings(max_examples=300, deadline=None)
def test_random_bodies_in_valid_frames_decode_or_say_why(data: bytes, function: int) -> None:
    frame = hex_mode.decode(hex_mode.encode(Frame(1, "0012345678", "0000", function, data)))
    try:
        codec.report(frame)
    except FrameError as exc:
        assert exc.reason and exc.detail


def test_negative_and_missing_values() -> None:
    assert body.bcd_value(bytes.fromhex("FF0123"), 2) == -1.23
    assert body.bcd_value(bytes.fromhex("FFFFFF"), 1) is None
    assert body.value_bcd(-1.5, 3, 1) == bytes.fromhex("FF0015")
    assert body.value_bcd(None, 2, 0) == b"\xff\xff"


def test_unsupported_function_code_is_named() -> None:
    frame = hex_mode.decode(hex_mode.encode(Frame(1, "0012345678", "0000", 0x4A, b"\0" * 8)))
    with pytest.raises(FrameError) as caught:
        codec.report(frame)
    assert caught.value.reason == "unsupported_function" and "4AH" in caught.value.detail


def test_multi_packet_frame_carries_total_and_sequence() -> None:
    raw = hex_mode.encode(Frame(1, "0012345678", "0000", 0x36, b"abc", total=5, sequence=2))
    frame = hex_mode.decode(raw)
    assert (frame.total, frame.sequence, frame.body) == (5, 2, b"abc")
    assert raw[hex_mode.HEADER] == hex_mode.SYN


@pytest.mark.parametrize("function", sorted(codec.FUNCTION_NAMES))
@pytest.mark.parametrize("mode", ["hex", "ascii"])
def test_a_frame_of_every_supported_function_decodes(function: int, mode: str) -> None:
    at = datetime(2026, 7, 7, 8, 5)  # noqa: DTZ001 - the RTU's clock
    elements = [Element("Z", at, 310.25), Element("PJ", at, -0.5), Element("VT", at, None)]
    if function == 0x31:
        elements = [Element("DRxnn", at, "000005"), Element("Z", at, [310.0, 310.1, None])]
    if function == 0x35:
        elements = [Element("RGZS", None, "Q 1.234")]
    report = Report(function, 42, at, "0012345678", "K", elements)
    if function == 0x36:
        report.elements = []
        report.picture = b"\xff\xd8 a jpeg \xff\xd9"
    if function == 0x2F:
        report.station, report.elements = None, []
    ascii = mode == "ascii" and function not in (0x31, 0x36)  # those are HEX-only here
    text = ascii_body.encode(report) if ascii else body.encode(report, {"Z": 0x22, "PJ": 0x19})
    frame = Frame(1, "0012345678", "0000", function, text)
    raw = ascii_mode.encode(frame) if ascii else hex_mode.encode(frame)
    items = FrameStream().feed(raw)
    assert len(items) == 1 and isinstance(items[0], Frame)
    got = codec.report(items[0])
    assert (got.function, got.serial, got.sent) == (function, 42, at)
    if function == 0x36:
        assert got.picture == report.picture
    elif function == 0x35:
        assert [(e.name, e.value) for e in got.elements] == [("RGZS", "Q 1.234")]
    elif function == 0x31:
        assert got.elements[1].value == [310.0, 310.1, None]
        assert got.elements[1].step == timedelta(minutes=5)
    elif function != 0x2F:
        assert [(e.name, e.value) for e in got.elements] == [
            ("Z", 310.25),
            ("PJ", -0.5),
            ("VT", None),
        ]


@given(st.binary(max_size=300))
def test_the_table_crc_is_the_bitwise_crc(data: bytes) -> None:
    from floodwatch.ingest.sl651.frame import _crc_bitwise, crc16

    assert crc16(data) == _crc_bitwise(data)
