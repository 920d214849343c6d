"""SL 651-2014 frames (HEX/BCD mode): parse, build, check. Pure: bytes in, frames out.

Uplink layout (station → centre)::

    7E 7E | centre (1) | station (5) | password (2) | function (1) | dir+len (2)
          | STX 02 | body (len) | end (1) | CRC-16/MODBUS (2, HIGH byte first)

With `SYN` 16 instead of `STX` the frame is one packet of several (M3): the 3
bytes after SYN hold the packet total (12 bits) and this packet's sequence
number (12 bits); they are counted in the length. Downlink frames (centre →
station) put the station address first, then the centre. The CRC covers
everything from the first 7E to the end character; it is the Modbus CRC but
sent high byte first (Modbus RTU sends it low byte first).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

START = b"\x7e\x7e"
STX, SYN = 0x02, 0x16
HEADER = 13  # 7E7E, centre, station, password, function, dir+len
MAX_BODY = 0x0FFF


class End(enum.IntEnum):
    ETX = 0x03  # last (or only) packet of a report
    ETB = 0x17  # more packets follow
    ENQ = 0x05  # downlink: query
    ACK = 0x06  # downlink: acknowledged, more may follow
    NAK = 0x15  # downlink: please resend (M3: the packet named)
    EOT = 0x04  # downlink: confirmed, the station may go offline
    ESC = 0x1B  # downlink: confirmed, stay online


class FrameError(ValueError):
    """A frame that cannot be used; `reason` is a short code for the dead-letter."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _crc_bitwise(data: bytes) -> int:
    """CRC-16/MODBUS bit by bit: reflected polynomial 0xA001, initial 0xFFFF, no final xor."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _crc_table() -> tuple[int, ...]:
    out = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        out.append(crc)
    return tuple(out)


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/MODBUS (as `_crc_bitwise`), a byte at a time from a table: the
    receiver computes one per frame received and per confirmation sent."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


@dataclass(frozen=True)
class Frame:
    """One frame. `station` is the 10-hex-digit address as sent (opaque: real
    addresses are not always valid BCD), `password` 4 hex digits."""

    centre: int
    station: str
    password: str
    function: int
    body: bytes
    end: int = End.ETX
    uplink: bool = True
    total: int = 0  # M3: packets in the report (0: a single frame)
    sequence: int = 0  # M3: this packet's number, from 1
    ascii: bool = False  # received in ASCII mode
    raw: bytes = b""  # the frame as received

    @property
    def multi(self) -> bool:
        return self.total > 0

    @property
    def fc(self) -> str:
        return f"{self.function:02X}"


def encode(frame: Frame) -> bytes:
    """The frame's bytes in HEX/BCD mode (CRC appended, high byte first)."""
    body = frame.body
    if frame.multi:
        if not (0 < frame.total <= 0xFFF and 0 < frame.sequence <= 0xFFF):
            raise ValueError("packet total and sequence must be 1..4095")
        packets = (frame.total << 12 | frame.sequence).to_bytes(3, "big")
        body = packets + body
    if len(body) > MAX_BODY:
        raise ValueError(f"body of {len(body)} bytes exceeds {MAX_BODY}")
    station = bytes.fromhex(frame.station)
    centre = bytes([frame.centre])
    address = centre + station if frame.uplink else station + centre
    dirlen = (0 if frame.uplink else 0x8000) | len(body)
    head = (
        START
        + address
        + bytes.fromhex(frame.password)
        + bytes([frame.function])
        + dirlen.to_bytes(2, "big")
        + bytes([SYN if frame.multi else STX])
    )
    data = head + body + bytes([frame.end])
    return data + crc16(data).to_bytes(2, "big")


def frame_length(head: bytes) -> int:
    """The whole frame's length from its first 13 bytes."""
    return HEADER + 1 + (int.from_bytes(head[11:13], "big") & MAX_BODY) + 3


def decode(raw: bytes) -> Frame:
    """One complete HEX/BCD frame, or FrameError naming what is wrong."""
    if len(raw) < HEADER + 4 or raw[:2] != START:
        raise FrameError("truncated" if raw[:2] == START else "bad_start", raw[:4].hex().upper())
    dirlen = int.from_bytes(raw[11:13], "big")
    uplink = dirlen >> 12 == 0
    if dirlen >> 12 not in (0, 8):
        raise FrameError("bad_direction", f"direction bits {dirlen >> 12:04b}")
    size = frame_length(raw)
    if len(raw) < size:
        raise FrameError("truncated", f"{len(raw)} of {size} bytes")
    if len(raw) > size:
        raise FrameError("trailing_bytes", f"{len(raw) - size} bytes after the frame")
    sent = int.from_bytes(raw[-2:], "big")
    computed = crc16(raw[:-2])
    if sent != computed:
        raise FrameError("crc_mismatch", f"CRC sent {sent:04X}, computed {computed:04X}")
    start = raw[HEADER]
    if start not in (STX, SYN):
        raise FrameError("bad_start_char", f"{start:02X} where STX 02 or SYN 16 belongs")
    body = raw[HEADER + 1 : -3]
    total = sequence = 0
    if start == SYN:
        if len(body) < 3:
            raise FrameError("bad_packet_count", "SYN frame without packet total and sequence")
        packets = int.from_bytes(body[:3], "big")
        total, sequence, body = packets >> 12, packets & 0xFFF, body[3:]
        if not 0 < sequence <= total:
            raise FrameError("bad_packet_count", f"packet {sequence} of {total}")
    end = raw[-3]
    if end not in End._value2member_map_:
        raise FrameError("bad_end_char", f"{end:02X}")
    centre, station = (raw[2], raw[3:8]) if uplink else (raw[7], raw[2:7])
    return Frame(
        centre=centre,
        station=station.hex().upper(),
        password=raw[8:10].hex().upper(),
        function=raw[10],
        body=body,
        end=end,
        uplink=uplink,
        total=total,
        sequence=sequence,
        raw=raw,
    )


def confirmation(frame: Frame, serial: bytes, end: End = End.EOT) -> Frame:
    """The centre's answer to an uplink report (M2: EOT, or ESC to keep the
    station online; M3: NAK with the missing packet as its sequence number).
    `serial` is the report's serial + send time (the first 8 body bytes), echoed."""
    return Frame(
        centre=frame.centre,
        station=frame.station,
        password=frame.password,
        function=frame.function,
        body=serial,
        end=end,
        uplink=False,
    )
