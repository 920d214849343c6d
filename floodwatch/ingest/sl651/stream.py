"""Split a TCP byte stream into frames. Pure and incremental: feed the bytes as
they arrive, in any pieces; the same frames come out as from one read.

Bytes that cannot start a frame, and frames that fail their check, come out
as `Junk` with the reason and the bytes in hex (for the dead-letter); after a
bad frame the search for the next start resumes one byte on, so a corrupted
length never swallows the good frames behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

from floodwatch.ingest.sl651 import ascii as ascii_mode
from floodwatch.ingest.sl651 import frame as hex_mode
from floodwatch.ingest.sl651.frame import Frame, FrameError

MAX_FRAME = hex_mode.HEADER + 1 + hex_mode.MAX_BODY + 3 + 8  # bigger in ASCII mode


@dataclass(frozen=True)
class Junk:
    """Bytes set aside: why, and what they were."""

    reason: str
    detail: str
    raw: bytes


class FrameStream:
    """Incremental framer for one connection."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self.buffer)

    def feed(self, data: bytes) -> list[Frame | Junk]:
        self.buffer += data
        out: list[Frame | Junk] = []
        while self.buffer:
            item, used = self._next()
            if used == 0:
                break
            del self.buffer[:used]
            if item is not None:
                out.append(item)
        return out

    def flush(self) -> Junk | None:
        """The bytes still held when the connection ends or times out."""
        if not self.buffer:
            return None
        junk = Junk("truncated", f"{len(self.buffer)} bytes of an unfinished frame", bytes(self))
        self.buffer.clear()
        return junk

    def __bytes__(self) -> bytes:
        return bytes(self.buffer)

    def _next(self) -> tuple[Frame | Junk | None, int]:
        """The next item and the bytes it used (0: wait for more)."""
        buf = self.buffer
        start = _find_start(buf)
        if start > 0:
            return Junk("no_frame_start", "bytes before a frame start", bytes(buf[:start])), start
        if start < 0:  # keep a last 7E that may be the first half of a start
            keep = 1 if buf[-1:] == b"\x7e" else 0
            used = len(buf) - keep
            if used == 0:
                return None, 0
            return Junk("no_frame_start", "bytes without a frame start", bytes(buf[:used])), used
        ascii = buf[0] == ascii_mode.SOH
        head = ascii_mode.HEADER if ascii else hex_mode.HEADER
        if len(buf) < head:
            return None, 0
        try:
            head_bytes = bytes(buf[:head])
            size = (ascii_mode if ascii else hex_mode).frame_length(head_bytes)
        except FrameError as exc:
            return Junk(exc.reason, exc.detail, bytes(buf[:1])), 1
        if len(buf) < size:
            return None, 0
        raw = bytes(buf[:size])
        try:
            return (ascii_mode.decode(raw) if ascii else hex_mode.decode(raw)), size
        except FrameError as exc:
            # Not a good frame here: set aside what is up to the next start.
            nxt = _find_start(buf, 1)
            used = nxt if 0 < nxt < size else size
            return Junk(exc.reason, exc.detail, bytes(buf[:used])), used


def _find_start(buf: bytearray, begin: int = 0) -> int:
    """Index of the first 7E 7E or SOH (followed by a hex digit) at or after begin."""
    hexstart = buf.find(hex_mode.START, begin)
    soh = begin
    while True:
        soh = buf.find(b"\x01", soh)
        if soh < 0 or soh + 1 >= len(buf) or chr(buf[soh + 1]) in "0123456789ABCDEFabcdef":
            break
        soh += 1
    found = [i for i in (hexstart, soh) if i >= 0]
    return min(found) if found else -1
