"""InfluxDB line protocol: one point as one line of text (pure, no I/O).

    measurement,tag=value,tag=value field=1.5,level=4i 1783393200000

What `notify/influx.py` POSTs to a v2 write API (`/api/v2/write`, precision
ms). The same text influxdb-client's `Point` made before floodwatch wrote over
httpx (held to it byte for byte while both were installed; docs/notify.md):

- measurement: `,` and space escaped; tag keys, tag values and field keys:
  `,`, `=` and space escaped; newline, tab and carriage return as `\\n`, `\\t`,
  `\\r`; a tag value ending in a backslash gets a space after it;
- tags sorted by key; a tag with an empty key or value left out;
- fields sorted by key: a float as Python's shortest repr without a trailing
  `.0` (`311.5`, `4`, `1e+20`), an int with `i` (the `level` field stays an
  integer, as InfluxDB keeps one type per field); a field that is not finite
  (NaN, infinity) left out, and a point with no field left is no line (`None`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})


def key(text: str) -> str:
    """A tag key, tag value or field key, escaped."""
    return text.translate(_KEY)


def tag_value(text: str) -> str:
    escaped = text.translate(_KEY)
    return escaped + " " if escaped.endswith("\\") else escaped


def number(value: float | int) -> str | None:
    """A field value: `4i` for an int, `311.5` for a float, None when not finite."""
    if isinstance(value, bool):
        raise TypeError(f"a boolean field is not written here: {value!r}")
    if isinstance(value, int):
        return f"{value}i"
    if not math.isfinite(value):
        return None
    text = str(float(value))
    return text[:-2] if text.endswith(".0") else text


def series(measurement: str, tags: Mapping[str, str]) -> str:
    """The measurement and its tags: what a line starts with, before the fields."""
    tagged = "".join(
        f",{key(name)}={tag_value(value)}" for name, value in sorted(tags.items()) if name and value
    )
    return f"{measurement.translate(_MEASUREMENT)}{tagged}"


def line(
    measurement: str, tags: Mapping[str, str], fields: Mapping[str, float | int], ms: int
) -> str | None:
    """One point at `ms` (milliseconds since the epoch); None when no field is left."""
    written = [
        f"{key(name)}={text}"
        for name, value in sorted(fields.items())
        if (text := number(value)) is not None
    ]
    if not written:
        return None
    return f"{series(measurement, tags)} {','.join(written)} {ms}"
