"""Report bodies in ASCII mode: the same contents as text, one space between
identifiers and values (also after the last). Pure.

    serial(4 hex) sendtime(12) ST address class TT time(10) PJ 5.5 Z 27.30 …

`M` (or all F) = missing; `DRP` and `DRZ1`…`DRZ8` take their 12 values as one
hex string (24 or 48 characters), `ZT` as 8 hex characters, `RGZS` the rest of
the body as text.
"""

from __future__ import annotations

from datetime import datetime

from floodwatch.ingest.sl651.body import (
    FIVE_MINUTES,
    KEEP_ALIVE,
    Element,
    Report,
    Value,
    bcd_time,
)
from floodwatch.ingest.sl651.elements import BY_NAME, STATION_CLASSES
from floodwatch.ingest.sl651.frame import FrameError

SERIES = {"DRP": (2, 0xFF, 10), **{f"DRZ{i}": (4, 0xFFFF, 100) for i in range(1, 9)}}
_CLASS_CODES = {v: k for k, v in STATION_CLASSES.items()}


def _number(token: str, name: str) -> Value:
    if token == "M" or (token and set(token) == {"F"}):
        return None
    try:
        return float(token)
    except ValueError:
        raise FrameError("bad_value", f"{name} {token!r} is not a number") from None


def decode(function: int, body: bytes) -> Report:  # noqa: C901, PLR0912 — one branch per SL 651 ASCII token, in frame order
    text = body.decode("ascii", "replace")
    head, _, rest = text.partition("RGZS")
    tokens = head.split()
    if tokens and len(tokens[0]) == 16:  # serial and send time written together
        tokens[:1] = [tokens[0][:4], tokens[0][4:]]
    if len(tokens) < 2:
        raise FrameError("short_body", "serial and send time missing")
    try:
        serial = int(tokens[0], 16)
        sent = bcd_time(bytes.fromhex(tokens[1]))
    except ValueError:
        raise FrameError("bad_header", f"serial/send time {tokens[:2]}") from None
    report = Report(function, serial, sent)
    if function == KEEP_ALIVE:
        return report
    at: datetime | None = None
    i = 2
    while i < len(tokens):
        name = tokens[i]
        if i + 1 >= len(tokens):
            raise FrameError("short_body", f"{name} without a value")
        token = tokens[i + 1]
        if name == "ST":
            if i + 2 >= len(tokens):
                raise FrameError("short_body", "ST without a station class")
            report.station, report.station_class = token.upper(), tokens[i + 2]
            i += 3
            continue
        i += 2
        if name == "TT":
            try:
                at = bcd_time(bytes.fromhex(token))
            except ValueError:
                raise FrameError("bad_time", token) from None
        elif name in SERIES:
            width, invalid, scale = SERIES[name]
            if len(token) != 12 * width:
                raise FrameError("bad_value", f"{name} needs {12 * width} hex characters")
            try:
                raw = [int(token[j : j + width], 16) for j in range(0, 12 * width, width)]
            except ValueError:
                raise FrameError("bad_value", f"{name} {token!r}") from None
            series: list[Value] = [None if v == invalid else v / scale for v in raw]
            report.elements.append(Element(name, at, series, FIVE_MINUTES))
        elif name == "ZT":
            try:
                report.elements.append(Element(name, at, int(token, 16)))
            except ValueError:
                raise FrameError("bad_value", f"ZT {token!r}") from None
        elif name in BY_NAME:
            report.elements.append(Element(name, at, _number(token, name)))
        else:
            report.notes.append(f"identifier {name} skipped")
    if rest:
        report.elements.append(Element("RGZS", at, rest.strip()))
    return report


def encode(report: Report) -> bytes:
    parts = [f"{report.serial:04X}", report.sent.strftime("%y%m%d%H%M%S")]
    if report.function != KEEP_ALIVE:
        if report.station is not None:
            parts += ["ST", report.station, report.station_class or "H"]
        at: datetime | None = None
        for e in report.elements:
            if e.time is not None and e.time != at:
                parts += ["TT", e.time.strftime("%y%m%d%H%M")]
                at = e.time
            if e.name in SERIES:
                width, invalid, scale = SERIES[e.name]
                assert isinstance(e.value, list)
                cells = (invalid if v is None else round(v * scale) for v in e.value)
                parts += [e.name, "".join(f"{c:0{width}X}" for c in cells)]
            elif e.name == "ZT":
                parts += [e.name, f"{e.value:08X}"]
            elif e.name == "RGZS":
                parts += [e.name, str(e.value)]
            else:
                value = e.value
                parts += [e.name, "M" if value is None else f"{value:.3f}".rstrip("0")]
    return (" ".join(parts) + " ").encode("ascii")
