"""`ingest.sl651.frame`: HEX/BCD frames — the CRC (CRC-16/MODBUS, sent high
byte first), the header both ways (uplink: centre then station; downlink:
station then centre), multi-packet frames (SYN, total and sequence), the
centre's confirmation, and every way a frame is refused, by its reason code."""

from __future__ import annotations

import pytest

from floodwatch.ingest.sl651.frame import (
    HEADER,
    MAX_BODY,
    End,
    Frame,
    FrameError,
    _crc_bitwise,
    confirmation,
    crc16,
    decode,
    encode,
    frame_length,
)

# A real timed report (32H) of a river station (tests/reference/sl651_frames.json).
FUJIAN = bytes.fromhex(
    "7E7E011000000006000032002B022F7C221202133716F1F1100000000648F0F0221202133520190000"
    "0026190031963923000289603812131203367C"
)


def resealed(data: bytes) -> bytes:
    """`data` (a frame without its CRC) with a correct CRC appended."""
    return data + crc16(data).to_bytes(2, "big")


def test_the_crc_is_crc16_modbus_by_table_and_bit_by_bit() -> None:
    assert crc16(b"123456789") == _crc_bitwise(b"123456789") == 0x4B37  # the check value
    assert crc16(b"") == 0xFFFF
    assert crc16(FUJIAN[:-2]) == 0x367C  # sent as 36 7C: high byte first


def test_a_real_frame_decodes_to_its_header_and_body() -> None:
    frame = decode(FUJIAN)
    assert (frame.centre, frame.station, frame.password, frame.fc) == (
        1,
        "1000000006",
        "0000",
        "32",
    )
    assert frame.uplink and frame.end == End.ETX and not frame.multi and not frame.ascii
    assert len(frame.body) == 0x2B and frame.body[:2] == b"\x2f\x7c"  # serial 12156
    assert frame.raw == FUJIAN
    assert frame_length(FUJIAN[:HEADER]) == len(FUJIAN)
    assert encode(frame) == FUJIAN  # and back, byte for byte


def test_a_downlink_frame_puts_the_station_first_and_the_direction_bit() -> None:
    down = Frame(0x10, "0012345678", "1234", 0x32, b"\x00\x03" + bytes(6), End.EOT, uplink=False)
    raw = encode(down)
    assert raw[2:7] == bytes.fromhex("0012345678") and raw[7] == 0x10
    assert raw[11] >> 4 == 8  # direction: down
    back = decode(raw)
    assert back.station == "0012345678" and back.centre == 0x10 and not back.uplink
    assert back.end == End.EOT and back.body == down.body


def test_the_confirmation_echoes_the_serial_and_send_time_downlink() -> None:
    report = decode(FUJIAN)
    answer = confirmation(report, report.body[:8])
    assert not answer.uplink and answer.end == End.EOT and answer.body == report.body[:8]
    assert (answer.centre, answer.station, answer.function) == (1, "1000000006", 0x32)
    stay = decode(encode(confirmation(report, report.body[:8], End.ESC)))
    assert stay.end == End.ESC and stay.body == report.body[:8]


def test_a_packet_of_a_multi_packet_report_carries_total_and_sequence() -> None:
    packet = Frame(1, "0033018201", "1234", 0x34, b"\x01\x02\x03", End.ETB, total=3, sequence=2)
    raw = encode(packet)
    assert raw[HEADER] == 0x16  # SYN instead of STX
    assert raw[HEADER + 1 : HEADER + 4] == bytes.fromhex("003002")  # 12 bits each
    back = decode(raw)
    assert back.multi and (back.total, back.sequence) == (3, 2) and back.body == b"\x01\x02\x03"
    assert back.end == End.ETB
    assert int.from_bytes(raw[11:13], "big") == 6  # the packet count is in the length


@pytest.mark.parametrize(("total", "sequence"), [(0x1000, 1), (3, 0x1000)])
def test_packet_numbers_beyond_12_bits_are_not_encoded(total: int, sequence: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.4095"):
        encode(Frame(1, "0033018201", "1234", 0x34, b"", total=total, sequence=sequence))


def test_a_body_longer_than_the_length_field_holds_is_not_encoded() -> None:
    encode(Frame(1, "0033018201", "1234", 0x32, bytes(MAX_BODY)))  # the largest
    with pytest.raises(ValueError, match="exceeds 4095"):
        encode(Frame(1, "0033018201", "1234", 0x32, bytes(MAX_BODY + 1)))


def refused(raw: bytes) -> FrameError:
    with pytest.raises(FrameError) as info:
        decode(raw)
    return info.value


def test_bytes_that_are_no_frame_are_refused_as_bad_start_or_truncated() -> None:
    assert refused(b"\x00" + FUJIAN[1:]).reason == "bad_start"
    assert refused(FUJIAN[:10]).reason == "truncated"  # shorter than a header
    cut = refused(FUJIAN[:-5])
    assert cut.reason == "truncated" and cut.detail == f"{len(FUJIAN) - 5} of {len(FUJIAN)} bytes"
    longer = refused(FUJIAN + b"\x7e")
    assert longer.reason == "trailing_bytes" and longer.detail == "1 bytes after the frame"


def test_a_flipped_bit_is_a_crc_mismatch_naming_both_crcs() -> None:
    bad = bytearray(FUJIAN)
    bad[20] ^= 0x01
    error = refused(bytes(bad))
    assert error.reason == "crc_mismatch" and error.detail.startswith("CRC sent 367C, computed ")
    assert str(error) == f"crc_mismatch: {error.detail}" and isinstance(error, ValueError)


def test_a_direction_other_than_up_or_down_is_refused() -> None:
    data = bytearray(FUJIAN[:-2])
    data[11] |= 0x40  # direction bits 0100
    assert refused(resealed(bytes(data))).reason == "bad_direction"


def test_a_wrong_start_or_end_character_is_refused_even_with_a_good_crc() -> None:
    data = bytearray(FUJIAN[:-2])
    data[HEADER] = 0x03
    assert refused(resealed(bytes(data))).detail == "03 where STX 02 or SYN 16 belongs"
    data = bytearray(FUJIAN[:-2])
    data[-1] = 0x99
    error = refused(resealed(bytes(data)))
    assert (error.reason, error.detail) == ("bad_end_char", "99")


def test_impossible_packet_numbers_are_refused() -> None:
    raw = encode(Frame(1, "0033018201", "1234", 0x34, b"\x01", total=2, sequence=1))
    data = bytearray(raw[:-2])
    data[HEADER + 1 : HEADER + 4] = bytes.fromhex("002003")  # packet 3 of 2
    error = refused(resealed(bytes(data)))
    assert (error.reason, error.detail) == ("bad_packet_count", "packet 3 of 2")
    # SYN with fewer than the 3 bytes of the packet count
    short = bytes.fromhex("7E7E0100330182011234340002160102") + b"\x03"
    assert refused(resealed(short)).reason == "bad_packet_count"
