"""Report bodies of SL 651-2014: serial, send time, station, observation-time
groups and their elements. Pure: bytes in, a `Report` out (and back, for the
simulator and the tests).

HEX/BCD body: `serial (2) send time (6 BCD)` `F1F1 address (5) class (1)` then
groups `F0F0 time (5 BCD)` of elements `identifier (1) definition (1) value`.
The definition byte gives the value's length (high 5 bits, bytes) and its
decimals (low 3 bits); values are BCD, negative with a leading F (`FF`), all
F = missing. Fixed forms: `F4` 12 × 5-minute rain (1 byte HEX each, 0.1 mm),
`F5`–`FC` 12 × 5-minute levels (2 bytes HEX each, 0.01 m; the definition
byte is not trusted, some vendors put 5C there), `45` the status word (HEX),
`04` the time step of a uniform-interval report (31H), whose next element
then holds values until the end of the body, `FF xx` user-extended
identifiers (skipped, with a note).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from floodwatch.ingest.sl651.elements import (
    BY_NAME,
    DRP,
    DRZ,
    ELEMENTS,
    PIC,
    RGZS,
    SERIES_NAMES,
    ST,
    STATION_CLASSES,
    TT,
)
from floodwatch.ingest.sl651.frame import FrameError

Value = float | None
KEEP_ALIVE, TEST, UNIFORM, TIMED, ADD, HOURLY, MANUAL, PICTURE = (
    0x2F,
    0x30,
    0x31,
    0x32,
    0x33,
    0x34,
    0x35,
    0x36,
)
QUERY = (0x37, 0x38, 0x39, 0x3A)
DATA = (TEST, UNIFORM, TIMED, ADD, HOURLY, *QUERY)
SUPPORTED = (KEEP_ALIVE, MANUAL, PICTURE, *DATA)
FIVE_MINUTES = timedelta(minutes=5)
_CLASS_CODES = {v: k for k, v in STATION_CLASSES.items()}


@dataclass(frozen=True)
class Element:
    """One element of one observation-time group. A series (`DRP`, `DRZ1`…, or
    a 31H element) holds a list: value i is at `time + i × step`."""

    name: str
    time: datetime | None  # local time of the station, no zone
    value: Value | list[Value] | str | int
    step: timedelta | None = None


@dataclass
class Report:
    function: int
    serial: int
    sent: datetime
    station: str | None = None
    station_class: str | None = None
    elements: list[Element] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    picture: bytes | None = None
    manual: bool = False  # elements read from a manual entry's SL 330 text

    def to_json(self) -> dict[str, object]:
        return {
            "function": f"{self.function:02X}",
            "serial": self.serial,
            "send_time": self.sent.isoformat(),
            "station": self.station,
            "station_class": self.station_class,
            "elements": [
                {
                    "element": e.name,
                    "time": e.time.isoformat() if e.time else None,
                    "value": e.value,
                    **({"step_minutes": e.step.total_seconds() / 60} if e.step else {}),
                }
                for e in self.elements
            ],
            **({"picture_bytes": len(self.picture)} if self.picture is not None else {}),
            **({"notes": self.notes} if self.notes else {}),
        }


def bcd_time(raw: bytes) -> datetime:
    """YYMMDDhh[mm[ss]] in BCD, local time without a zone (FrameError
    `bad_time` for anything else: shorter, longer, not BCD, no such date)."""
    digits = raw.hex()
    try:
        if not 4 <= len(raw) <= 6:
            raise ValueError(len(raw))
        p = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)] + [0, 0]
        return datetime(2000 + p[0], p[1], p[2], p[3], p[4], p[5])  # noqa: DTZ001 - local
    except (ValueError, TypeError):
        raise FrameError("bad_time", f"{digits.upper()} is not a time") from None


def time_bcd(at: datetime, size: int) -> bytes:
    return bytes.fromhex(at.strftime("%y%m%d%H%M%S")[: size * 2])


def bcd_value(raw: bytes, decimals: int) -> Value:
    """A BCD number: leading F = negative, all F = missing."""
    digits = raw.hex().upper()
    if set(digits) == {"F"}:
        return None
    negative = digits.startswith("F")
    digits = digits.lstrip("F")
    if not digits.isdigit():
        raise FrameError("bad_value", f"{raw.hex().upper()} is not a BCD number")
    number: float = int(digits) / float(10**decimals)
    return -number if negative else number


def value_bcd(value: Value, size: int, decimals: int) -> bytes:
    if value is None:
        return b"\xff" * size
    scaled = round(abs(value) * 10**decimals)
    if value < 0:
        return bytes.fromhex("FF" + f"{scaled:0{size * 2 - 2}d}")
    return bytes.fromhex(f"{scaled:0{size * 2}d}")


def decode(function: int, body: bytes) -> Report:  # noqa: C901, PLR0912, PLR0915 — one branch per SL 651 identifier, in frame order
    """The report in a HEX/BCD body (FrameError: what is wrong, and where)."""
    if len(body) < 8:
        raise FrameError("short_body", f"{len(body)} bytes, serial and send time need 8")
    report = Report(function, int.from_bytes(body[:2], "big"), bcd_time(body[2:8]))
    if function == KEEP_ALIVE:
        return report
    pos, at, step = 8, None, None
    while pos < len(body):
        code = body[pos]
        pair = body[pos + 1] if pos + 1 < len(body) else None
        if code == ST and pair == ST:
            _need(body, pos + 8, "station address")
            report.station = body[pos + 2 : pos + 7].hex().upper()
            report.station_class = STATION_CLASSES.get(body[pos + 7], f"{body[pos + 7]:02X}")
            pos += 8
        elif code == TT and pair == TT:
            _need(body, pos + 7, "observation time")
            at = bcd_time(body[pos + 2 : pos + 7])
            pos += 7
        elif code == RGZS and pair == RGZS:
            text = body[pos + 2 :].decode("gb18030", "replace").strip()
            report.elements.append(Element("RGZS", at, text))
            pos = len(body)
        elif code == PIC and pair == PIC:
            report.picture = bytes(body[pos + 2 :])
            pos = len(body)
        elif code in SERIES_NAMES:
            width = 1 if code == DRP else 2
            _need(body, pos + 2 + 12 * width, SERIES_NAMES[code])
            raw = body[pos + 2 : pos + 2 + 12 * width]
            values = [int.from_bytes(raw[i : i + width], "big") for i in range(0, len(raw), width)]
            invalid, scale = (0xFF, 10) if code == DRP else (0xFFFF, 100)
            fixed = [None if v == invalid else v / scale for v in values]
            report.elements.append(Element(SERIES_NAMES[code], at, fixed, FIVE_MINUTES))
            pos += 2 + 12 * width
        elif code == 0xFF:
            _need(body, pos + 3, "user-extended identifier")
            size = body[pos + 2] >> 3
            report.notes.append(f"user-extended identifier FF{pair:02X} skipped")
            pos += 3 + size
        else:
            if pair is None:
                raise FrameError("short_body", f"identifier {code:02X} without a definition byte")
            size, decimals = pair >> 3, pair & 7
            if size == 0:
                raise FrameError("bad_definition", f"identifier {code:02X}: length 0")
            _need(body, pos + 2 + size, f"element {code:02X}")
            raw = body[pos + 2 : pos + 2 + size]
            name = ELEMENTS[code][0] if code in ELEMENTS else f"{code:02X}H"
            pos += 2 + size
            if code == 0x04:  # DRxnn: DDHHMM
                d = raw.hex()
                step = timedelta(days=int(d[0:2]), hours=int(d[2:4]), minutes=int(d[4:6]))
                report.elements.append(Element(name, at, d))
            elif code == 0x45:
                report.elements.append(Element(name, at, int.from_bytes(raw, "big")))
            elif function == UNIFORM and step is not None:
                series: list[Value] = [bcd_value(raw, decimals)]
                while pos + size <= len(body):
                    series.append(bcd_value(body[pos : pos + size], decimals))
                    pos += size
                report.elements.append(Element(name, at, series, step))
            else:
                if code not in ELEMENTS:
                    report.notes.append(f"identifier {code:02X} not in the standard's table")
                report.elements.append(Element(name, at, bcd_value(raw, decimals)))
    return report


def _need(body: bytes, end: int, what: str) -> None:
    if end > len(body):
        raise FrameError("short_body", f"{what} runs past the end of the body")


def encode(report: Report, definitions: dict[str, int] | None = None) -> bytes:  # noqa: PLR0912 — mirrors decode: a branch per SL 651 identifier
    """A HEX/BCD body; `definitions` gives each element's definition byte
    (default: 4 bytes, 3 decimals)."""
    defs = definitions or {}
    out = bytearray(report.serial.to_bytes(2, "big") + time_bcd(report.sent, 6))
    if report.function == KEEP_ALIVE:
        return bytes(out)
    if report.station is not None:
        klass = _CLASS_CODES.get(report.station_class or "", 0x48)
        out += b"\xf1\xf1" + bytes.fromhex(report.station) + bytes([klass])
    at: datetime | None = None
    for e in report.elements:
        if e.time is not None and e.time != at:
            out += b"\xf0\xf0" + time_bcd(e.time, 5)
            at = e.time
        if e.name == "RGZS":
            out += b"\xf2\xf2" + str(e.value).encode("gb18030")
        elif e.name in ("DRP", *(f"DRZ{i}" for i in range(1, 9))):
            assert isinstance(e.value, list)
            if e.name == "DRP":
                out += bytes([DRP, 0x60])
                out += bytes(0xFF if v is None else round(v * 10) for v in e.value)
            else:
                out += bytes([DRZ[int(e.name[3:]) - 1], 0xC2])
                for v in e.value:
                    out += (0xFFFF if v is None else round(v * 100)).to_bytes(2, "big")
        elif e.name == "DRxnn":
            out += bytes([0x04, 0x18]) + bytes.fromhex(str(e.value))
        elif e.name == "ZT":
            assert isinstance(e.value, int)
            out += bytes([0x45, 0x20]) + e.value.to_bytes(4, "big")
        else:
            code = BY_NAME[e.name]
            definition = defs.get(e.name, 0x23)
            size, decimals = definition >> 3, definition & 7
            out += bytes([code, definition])
            for item in e.value if isinstance(e.value, list) else [e.value]:
                if isinstance(item, str):
                    raise ValueError(f"{e.name}: a number, got {item!r}")
                out += value_bcd(None if item is None else float(item), size, decimals)
    if report.picture is not None:
        out += b"\xf3\xf3" + report.picture
    return bytes(out)
