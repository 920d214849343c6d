"""Manual entry (人工置数, 35H; 39H answers a query for it): the SL 330 text
an observer keyed into the RTU, after `F2F2` (HEX mode) or `RGZS` (ASCII
mode). Pure.

SL 330-2011 (水情信息编码) text is tokens separated by spaces: optionally a
report-class letter, the 8-digit station code and the observation time
(`MMDDHHNN`) first; then element identifiers each followed by its value
(`Z 25.36 Q 1200`), `TT MMDDHHNN` (or `YYMMDDHHNN`) moving the observation
time, `NN` ending the report. The identifiers are SL 651's (`elements.py`).
Without a time the report's send time is the observation time; a time
without a year is taken in the year that puts it at or before the send time.

What is understood becomes elements; every other token comes back as text,
for the dead-letter.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from floodwatch.ingest.sl651.body import Element
from floodwatch.ingest.sl651.elements import BY_NAME, STATION_CLASSES

CLASSES = set(STATION_CLASSES.values())
NOT_NUMBERS = ("DRxnn", "ZT")  # identifiers whose value is no plain number


def parse(text: str, sent: datetime) -> tuple[list[Element], list[str]]:
    """The elements of a manual-entry text, and the parts not understood."""
    tokens = text.replace("\x00", " ").split()
    at = sent
    rest: list[str] = []
    i = 0
    if len(tokens) >= 2 and tokens[0] in CLASSES and tokens[1].isdigit() and len(tokens[1]) >= 7:
        i = 2  # report class and station code: the frame's station already says who
        if i < len(tokens) and (when := _time(tokens[i], sent)) is not None:
            at, i = when, i + 1
    elements: list[Element] = []
    while i < len(tokens):
        name = tokens[i]
        if name == "NN":
            rest.extend(tokens[i + 1 :])
            break
        value = tokens[i + 1] if i + 1 < len(tokens) else None
        if name == "TT" and value is not None and (when := _time(value, sent)) is not None:
            at, i = when, i + 2
            continue
        number = _number(value) if name in BY_NAME and name not in NOT_NUMBERS else None
        if number is None:
            rest.append(name if value is None else f"{name} {value}")
            i += 2
            continue
        elements.append(Element(name, at, None if number == "missing" else number))
        i += 2
    return elements, rest


def _number(token: str | None) -> float | str | None:
    if token is None:
        return None
    if token == "M" or set(token) == {"F"}:
        return "missing"
    try:
        return float(token)
    except ValueError:
        return None


def _time(token: str, sent: datetime) -> datetime | None:
    """MMDDHHNN or YYMMDDHHNN, local time like the send time."""
    if not token.isdigit() or len(token) not in (8, 10):
        return None
    try:
        if len(token) == 10:
            return datetime.strptime(token, "%y%m%d%H%M")  # noqa: DTZ007 - station time
        month, day, hour, minute = (int(token[j : j + 2]) for j in range(0, 8, 2))
        at = datetime(sent.year, month, day, hour, minute)  # noqa: DTZ001 - station time
    except ValueError:
        return None
    if at > sent + timedelta(days=1):  # keyed in December, sent in January
        at = at.replace(year=sent.year - 1)
    return at
