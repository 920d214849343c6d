"""`ingest.sl651.ascii`: ASCII-mode frames — SOH, the header as hex
characters, the CRC as 4 characters; uplink and downlink, multi-packet, and
each way a frame is refused, by its reason code."""

from __future__ import annotations

import pytest

from floodwatch.ingest.sl651.ascii import HEADER, SOH, decode, encode, frame_length
from floodwatch.ingest.sl651.frame import MAX_BODY, End, Frame, FrameError, crc16

BODY = b"0001 260707080000 ST 0033018201 K TT 2607070800 Z 310.412 "
UP = Frame(1, "0033018201", "1234", 0x32, BODY)


def resealed(data: bytes) -> bytes:
    return data + f"{crc16(data):04X}".encode()


def refused(raw: bytes) -> FrameError:
    with pytest.raises(FrameError) as info:
        decode(raw)
    return info.value


def test_an_uplink_frame_is_text_with_the_crc_over_soh_to_the_end_character() -> None:
    raw = encode(UP)
    head = f"01003301820112343200{len(BODY):02X}".encode()
    assert raw[0] == SOH and raw[1:HEADER] == head and raw[HEADER] == 0x02
    assert raw[HEADER + 1 : -5] == BODY and raw[-5] == End.ETX
    assert raw[-4:] == f"{crc16(raw[:-4]):04X}".encode()
    assert frame_length(raw[:HEADER]) == len(raw)
    back = decode(raw)
    assert back.ascii and back.uplink and back.raw == raw
    assert (back.centre, back.station, back.password, back.function) == (
        1,
        "0033018201",
        "1234",
        0x32,
    )
    assert back.body == BODY and back.end == End.ETX


def test_lower_case_hex_in_the_header_is_read_upper_case() -> None:
    raw = encode(Frame(0xAB, "00330182AF", "12CD", 0x32, BODY))
    lower = resealed(raw[:1] + raw[1:HEADER].lower() + raw[HEADER:-4])
    back = decode(lower)
    assert back.station == "00330182AF" and back.password == "12CD" and back.centre == 0xAB


def test_a_downlink_frame_puts_the_station_first() -> None:
    down = Frame(1, "0033018201", "1234", 0x32, b"0001260707080000", End.EOT, uplink=False)
    raw = encode(down)
    assert raw[1:11] == b"0033018201" and raw[11:13] == b"01" and raw[19:20] == b"8"
    back = decode(raw)
    assert not back.uplink and back.centre == 1 and back.station == "0033018201"
    assert back.end == End.EOT


def test_a_packet_carries_total_and_sequence_as_six_characters() -> None:
    raw = encode(Frame(1, "0033018201", "1234", 0x34, b"ST 1 ", End.ETB, total=2, sequence=1))
    assert raw[HEADER] == 0x16 and raw[HEADER + 1 : HEADER + 7] == b"002001"
    back = decode(raw)
    assert (back.total, back.sequence, back.body, back.end) == (2, 1, b"ST 1 ", End.ETB)


def test_a_body_too_long_for_the_length_field_is_not_encoded() -> None:
    with pytest.raises(ValueError, match="exceeds 4095"):
        encode(Frame(1, "0033018201", "1234", 0x32, b"1" * (MAX_BODY + 1)))


def test_no_soh_or_too_short_is_refused() -> None:
    raw = encode(UP)
    assert refused(b"\x02" + raw[1:]).reason == "bad_start"
    assert refused(raw[:20]).reason == "truncated"
    cut = refused(raw[:-1])
    assert (
        cut.reason == "truncated"
        and cut.detail == f"{len(raw) - 1} bytes, the header says {len(raw)}"
    )
    assert refused(raw + b"0").reason == "trailing_bytes"


def test_a_length_that_is_not_hex_is_refused_as_bad_length() -> None:
    raw = encode(UP)
    with pytest.raises(FrameError, match="bad_length"):
        frame_length(raw[:19] + b"00G0")


def test_a_crc_that_is_wrong_or_not_hex_is_a_crc_mismatch() -> None:
    raw = bytearray(encode(UP))
    raw[30] = ord("9") if raw[30] != ord("9") else ord("8")
    assert refused(bytes(raw)).detail.startswith("CRC sent ")
    not_hex = refused(encode(UP)[:-4] + b"XYZW")
    assert (not_hex.reason, not_hex.detail) == ("crc_mismatch", "CRC b'XYZW' is not hex")


def test_header_fields_that_are_not_hex_are_refused_naming_the_field() -> None:
    raw = encode(UP)[:-4]
    bad = resealed(raw[:3] + b"00G3018201" + raw[13:])
    error = refused(bad)
    assert error.reason == "bad_header" and error.detail == "station '00G3018201' is not hex"


def test_a_wrong_direction_start_or_end_character_is_refused() -> None:
    raw = encode(UP)[:-4]
    assert refused(resealed(raw[:19] + b"4" + raw[20:])).reason == "bad_direction"
    assert refused(resealed(raw[:HEADER] + b"\x03" + raw[HEADER + 1 :])).reason == "bad_start_char"
    assert refused(resealed(raw[:-1] + b"\x99")).detail == "99"


def test_impossible_packet_numbers_are_refused() -> None:
    raw = encode(Frame(1, "0033018201", "1234", 0x34, b"x", total=2, sequence=1))[:-4]
    start = HEADER + 1
    error = refused(resealed(raw[:start] + b"002003" + raw[start + 6 :]))
    assert (error.reason, error.detail) == ("bad_packet_count", "packet 3 of 2")
    assert refused(resealed(raw[:start] + b"00200Z" + raw[start + 6 :])).reason == "bad_header"
