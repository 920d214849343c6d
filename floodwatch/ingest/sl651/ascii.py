"""SL 651-2014 frames in ASCII mode: the same fields as HEX/BCD mode, written as
ASCII hex characters, starting with SOH 01. Pure.

    SOH | centre (2) | station (10) | password (4) | function (2) | dir+len (4)
        | STX (or SYN + 6 characters: packet total, sequence) | body | end | CRC (4)

The body is text: identifiers and values separated by a space (see body.py);
the CRC (CRC-16/MODBUS) covers SOH … end character, written as 4 hex characters.
"""

from __future__ import annotations

from floodwatch.ingest.sl651.frame import MAX_BODY, STX, SYN, End, Frame, FrameError, crc16

SOH = 0x01
HEADER = 23


def frame_length(head: bytes) -> int:
    """The whole frame's length from its first 23 bytes (FrameError if not hex)."""
    try:
        length = int(head[19:23].decode("ascii"), 16) & MAX_BODY
    except ValueError:
        raise FrameError("bad_length", repr(head[19:23])) from None
    return HEADER + 1 + length + 1 + 4


def _hex(raw: bytes, what: str) -> str:
    text = raw.decode("ascii", "replace")
    try:
        bytes.fromhex(text)
    except ValueError:
        raise FrameError("bad_header", f"{what} {text!r} is not hex") from None
    return text.upper()


def decode(raw: bytes) -> Frame:
    """One complete ASCII-mode frame, or FrameError."""
    if len(raw) < HEADER + 6 or raw[0] != SOH:
        raise FrameError("truncated" if raw[:1] == bytes([SOH]) else "bad_start", raw[:4].hex())
    size = frame_length(raw)
    if len(raw) != size:
        kind = "truncated" if len(raw) < size else "trailing_bytes"
        raise FrameError(kind, f"{len(raw)} bytes, the header says {size}")
    try:
        sent = int(raw[-4:].decode("ascii"), 16)
    except ValueError:
        raise FrameError("crc_mismatch", f"CRC {raw[-4:]!r} is not hex") from None
    computed = crc16(raw[:-4])
    if sent != computed:
        raise FrameError("crc_mismatch", f"CRC sent {sent:04X}, computed {computed:04X}")
    dirlen = int(_hex(raw[19:23], "length"), 16)
    if dirlen >> 12 not in (0, 8):
        raise FrameError("bad_direction", f"direction bits {dirlen >> 12:04b}")
    uplink = dirlen >> 12 == 0
    start = raw[HEADER]
    body = raw[HEADER + 1 : -5]
    total = sequence = 0
    if start == SYN:
        packets = int(_hex(body[:6], "packet count"), 16)
        total, sequence, body = packets >> 12, packets & 0xFFF, body[6:]
        if not 0 < sequence <= total:
            raise FrameError("bad_packet_count", f"packet {sequence} of {total}")
    elif start != STX:
        raise FrameError("bad_start_char", f"{start:02X} where STX 02 or SYN 16 belongs")
    end = raw[-5]
    if end not in End._value2member_map_:
        raise FrameError("bad_end_char", f"{end:02X}")
    a, b = (raw[1:3], raw[3:13]) if uplink else (raw[11:13], raw[1:11])
    return Frame(
        centre=int(_hex(a, "centre"), 16),
        station=_hex(b, "station"),
        password=_hex(raw[13:17], "password"),
        function=int(_hex(raw[17:19], "function"), 16),
        body=body,
        end=end,
        uplink=uplink,
        total=total,
        sequence=sequence,
        ascii=True,
        raw=raw,
    )


def encode(frame: Frame) -> bytes:
    """The frame in ASCII mode (its body already text)."""
    body = frame.body
    if frame.multi:
        body = f"{frame.total << 12 | frame.sequence:06X}".encode() + body
    if len(body) > MAX_BODY:
        raise ValueError(f"body of {len(body)} characters exceeds {MAX_BODY}")
    centre = f"{frame.centre:02X}"
    address = centre + frame.station if frame.uplink else frame.station + centre
    dirlen = (0 if frame.uplink else 0x8000) | len(body)
    head = f"{address}{frame.password}{frame.function:02X}{dirlen:04X}".encode()
    data = bytes([SOH]) + head + bytes([SYN if frame.multi else STX]) + body + bytes([frame.end])
    return data + f"{crc16(data):04X}".encode()
