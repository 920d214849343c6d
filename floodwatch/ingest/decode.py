"""Decode payloads into readings. Pure: bytes (and topic fields) in, readings out.

Formats:
- `canonical`: one JSON object, `{"station", "kind", "value", "ts"[, "quality"]}`;
  station and kind may instead come from the topic (`hydro/{station}/{kind}`).
- `batch`: a JSON array of canonical objects (a single object is accepted too).
- a named field mapping (`service.mappings`): other JSON shapes — dotted paths,
  value scaling, timestamps as ISO 8601, epoch seconds or milliseconds, or local
  time in a configured zone.

Strict: station ids match a safe pattern (no topic wildcards or separators),
values are finite, payloads are bounded, and a key may appear only once in an
object (`{"value": 1, "value": 999}` is refused: msgspec, like most parsers,
would quietly keep one of them). Every message is its own JSON document, also
when many are decoded in one call. A payload that does not decode comes
back as a `Rejected` with a reason code, where it came from and a safe excerpt
of the raw bytes; the stream goes on. In a batch, each bad element is rejected
on its own and the good ones are kept.

Why one module over 400 lines: the three formats share the strict checks (safe
ids, finite values, one key once, bounded payloads) and the one `Rejected` path;
split by format, each part would import the others' private checks.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from floodwatch.config.models import FieldMapping
from floodwatch.ingest import gateways
from floodwatch.ingest.source import Incoming
from floodwatch.readings import KINDS, Reading, Rejected, RejectReason

MAX_PAYLOAD = 64 * 1024
MAX_BATCH = 10_000
EXCERPT = 200
STATION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
GOOD_IDS = 1_000_000  # valid station ids remembered (a bound against id floods)
_STATION = attrgetter("station")
_VALUE = attrgetter("value")
_TZINFO = attrgetter("ts.tzinfo")
_QUALITY = attrgetter("quality")
# Quote characters a canonical reading needs at least: its keys, and the string
# values station, kind and ts (value is a number); quality adds 4 when present.
# A payload with more may hold a duplicate key (or just an escaped quote, or an
# explicit null): only then is it parsed again to find out (`duplicate_key`).
# A repeated key always adds its own two quotes, so none slips past the count.
_QUOTES = 14
_QUOTES_QUALITY = 4


class _Partial(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A canonical reading whose station and kind may come from the topic."""

    value: float
    ts: datetime
    station: str | None = None
    kind: str | None = None
    quality: str | None = None


_decoder = msgspec.json.Decoder(Reading)
_many = msgspec.json.Decoder(list[Reading])
_partial = msgspec.json.Decoder(_Partial)
_batch = msgspec.json.Decoder(list[msgspec.Raw])
_any = msgspec.json.Decoder()
_encode = msgspec.json.Encoder()
_sorted = msgspec.json.Encoder(order="sorted")


def spec_id(spec: Mapping[str, object]) -> str:
    """A content hash of a decoder definition (the same definition, the same id)."""
    return hashlib.sha256(_sorted.encode(spec)).hexdigest()[:20]


def excerpt(raw: bytes) -> str:
    text = raw[:EXCERPT].decode("utf-8", errors="replace")
    return text + ("…" if len(raw) > EXCERPT else "")


def decode_reading(raw: bytes, source: str | None = None) -> Reading | Rejected:
    """One canonical JSON reading, or the reason it is not one."""
    readings, rejected = decode_payload(raw, "canonical", source=source)
    if rejected:
        return rejected[0]
    return readings[0]


class Decoders:
    """Every configured format, by name."""

    def __init__(
        self,
        mappings: Mapping[str, FieldMapping] | None = None,
        max_payload: int = MAX_PAYLOAD,
        gateways: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.mappings = dict(mappings or {})
        self.max_payload = max_payload
        self.gateways = {name: frozenset(ids) for name, ids in (gateways or {}).items()}
        self._good_ids: set[str] = set()  # station ids that matched STATION_RE
        self._specs: dict[str, tuple[str, dict[str, object]]] = {}  # format -> (id, spec)

    def spec(self, fmt: str) -> tuple[str, dict[str, object]]:
        """Everything decoding `fmt` depends on, as plain data, and its content
        hash (stored with the inbox, so a replay decodes as the live service
        did: `from_spec`). Computed once per format: it is asked per message."""
        known = self._specs.get(fmt)
        if known is None:
            mapping = self.mappings.get(fmt)
            spec: dict[str, object] = {
                "format": fmt,
                "max_payload": self.max_payload,
                "mapping": None if mapping is None else mapping.model_dump(mode="json"),
                "gateways": {name: sorted(ids) for name, ids in sorted(self.gateways.items())},
            }
            known = self._specs[fmt] = (spec_id(spec), spec)
        return known

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Decoders:
        """Decoders that decode `spec["format"]` exactly as the `spec` says."""
        mapping = spec.get("mapping")
        mappings = {} if mapping is None else {spec["format"]: FieldMapping.model_validate(mapping)}
        return cls(mappings, int(spec["max_payload"]), spec.get("gateways"))

    def decode_incoming(self, item: Incoming) -> tuple[list[Reading], list[Rejected]]:
        """One received message: its readings, or why its topic or payload is refused."""
        problem = item.unmatched()
        if problem is not None:
            return [], [problem]
        return self.decode(item.payload, item.fmt, item.fields, item.origin)

    def decode_many(self, payloads: list[bytes], fmt: str) -> list[Reading] | None:
        """The readings of many canonical payloads (one reading each), or None when
        any of them is not a plain valid reading — then decode them one by one,
        to reject each bad one with its reason and origin.

        Each payload is decoded as its own JSON document (joining them into one
        array would let two invalid halves of a reading pass as valid). One
        count of quote characters over all of them proves none repeats a key."""
        if fmt != "canonical" or not payloads or max(map(len, payloads)) > self.max_payload:
            return None
        try:
            readings = list(map(_decoder.decode, payloads))
        except (msgspec.DecodeError, RecursionError):
            return None
        with_quality = len(readings) - list(map(_QUALITY, readings)).count(None)
        expected = _QUOTES * len(readings) + _QUOTES_QUALITY * with_quality
        if b"".join(payloads).count(b'"') != expected:
            return None  # an escaped quote, an explicit null or a repeated key: one by one
        stations = set(map(_STATION, readings))
        unchecked = stations - self._good_ids
        if unchecked:
            if not all(map(STATION_RE.match, unchecked)):
                return None
            if len(self._good_ids) < GOOD_IDS:
                self._good_ids.update(unchecked)
        if not all(map(math.isfinite, map(_VALUE, readings))):
            return None
        if None in set(map(_TZINFO, readings)):
            return None
        return readings

    def decode_each(
        self, payloads: list[bytes], fmt: str, source: str | None = None
    ) -> tuple[list[Reading], list[Rejected]]:
        """Many payloads: in one call when all are plain valid readings, else one by one."""
        readings = self.decode_many(payloads, fmt)
        if readings is not None:
            return readings, []
        rejected: list[Rejected] = []
        readings = []
        for payload in payloads:
            got, bad = self.decode(payload, fmt, source=source)
            readings.extend(got)
            rejected.extend(bad)
        return readings, rejected

    def decode(
        self,
        raw: bytes,
        fmt: str,
        fields: Mapping[str, str] | None = None,
        source: str | None = None,
    ) -> tuple[list[Reading], list[Rejected]]:
        """Readings and rejections; a gateway's readings screened against the
        stations it may report (`ingest/gateways.py`)."""
        got, bad = decode_payload(raw, fmt, fields, source, self.mappings, self.max_payload)
        if fields and gateways.FIELD in fields:
            got, refused = gateways.screen(got, fields[gateways.FIELD], self.gateways, source)
            bad = bad + refused
        return got, bad


def decode_payload(
    raw: bytes,
    fmt: str,
    fields: Mapping[str, str] | None = None,
    source: str | None = None,
    mappings: Mapping[str, FieldMapping] | None = None,
    max_payload: int = MAX_PAYLOAD,
) -> tuple[list[Reading], list[Rejected]]:
    """Readings in a payload, and a `Rejected` for each part that is not one.

    `fields` are values read from the topic (station, kind, ...)."""
    fields = fields or {}
    if len(raw) > max_payload:
        detail = f"payload of {len(raw)} bytes exceeds {max_payload}"
        return [], [Rejected(RejectReason.TOO_LARGE, detail, raw=excerpt(raw), source=source)]
    out: list[Reading] = []
    rejected: list[Rejected] = []
    try:
        if fmt == "canonical":
            _one(raw, fields, source, out, rejected)
        elif fmt == "batch":
            items = _batch.decode(raw) if raw.lstrip()[:1] == b"[" else [msgspec.Raw(raw)]
            if len(items) > MAX_BATCH:
                raise _RefusedError(
                    RejectReason.SCHEMA, f"batch of {len(items)} exceeds {MAX_BATCH}"
                )
            for item in items:
                _one(bytes(item), fields, source, out, rejected)
        else:
            mapping = (mappings or {}).get(fmt)
            if mapping is None:
                raise _RefusedError(RejectReason.SCHEMA, f"no format {fmt!r} is configured")
            doc = _any.decode(raw)
            if b"\\u" in raw or raw.count(b'"') != _encode.encode(doc).count(b'"'):
                _unique_keys(raw)  # a key may have been dropped: look closer
            items = doc if isinstance(doc, list) else [doc]
            if len(items) > MAX_BATCH:
                raise _RefusedError(
                    RejectReason.SCHEMA, f"batch of {len(items)} exceeds {MAX_BATCH}"
                )
            for item in items:
                try:
                    out.append(_mapped(item, mapping, fields))
                except _RefusedError as exc:
                    rejected.append(exc.rejected(_dump(item), source))
    except msgspec.DecodeError as exc:
        return [], [Rejected(RejectReason.DECODE, str(exc), raw=excerpt(raw), source=source)]
    except _RefusedError as exc:
        return [], [exc.rejected(raw, source)]
    except RecursionError:
        detail = "payload nested too deeply"
        return [], [Rejected(RejectReason.DECODE, detail, raw=excerpt(raw), source=source)]
    return out, rejected


class _RefusedError(Exception):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail

    def rejected(self, raw: bytes, source: str | None) -> Rejected:
        return Rejected(self.reason, self.detail, raw=excerpt(raw), source=source)


def _one(
    raw: bytes,
    fields: Mapping[str, str],
    source: str | None,
    out: list[Reading],
    rejected: list[Rejected],
) -> None:
    try:
        if not fields:
            reading = _decoder.decode(raw)
            least = _QUOTES + (_QUOTES_QUALITY if reading.quality is not None else 0)
        else:
            part = _partial.decode(raw)
            given = 3 - (part.station, part.kind, part.quality).count(None)
            least = 6 + 4 * given  # value and ts, and each string given
            reading = _checked(
                _merge(part.station, fields.get("station"), "station"),
                _merge(part.kind, fields.get("kind"), "kind"),
                part.value,
                part.ts,
                part.quality,
            )
        if raw.count(b'"') > least:
            _unique_keys(raw)
        out.append(_validated(reading))
    except msgspec.ValidationError as exc:
        rejected.append(Rejected(RejectReason.SCHEMA, str(exc), raw=excerpt(raw), source=source))
    except msgspec.DecodeError as exc:
        rejected.append(Rejected(RejectReason.DECODE, str(exc), raw=excerpt(raw), source=source))
    except _RefusedError as exc:
        rejected.append(exc.rejected(raw, source))


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RefusedError(
                    RejectReason.DUPLICATE_KEY, f"key {key!r} appears more than once in an object"
                )
            seen.add(key)
    return doc


def _unique_keys(raw: bytes) -> None:
    """Refuse a payload in which an object repeats a key (the slow, exact check)."""
    try:
        json.loads(raw, object_pairs_hook=_no_repeats)
    except ValueError as exc:  # msgspec took it, Python's parser does not: refuse
        raise _RefusedError(RejectReason.DECODE, f"payload not plain JSON: {exc}") from exc


def _merge(from_payload: str | None, from_topic: str | None, name: str) -> str:
    if from_payload is not None and from_topic is not None and from_payload != from_topic:
        raise _RefusedError(
            RejectReason.BAD_TOPIC,
            f"{name} {from_payload!r} in the payload does not match {from_topic!r} in the topic",
        )
    value = from_payload if from_payload is not None else from_topic
    if value is None:
        raise _RefusedError(RejectReason.SCHEMA, f"no {name} in the payload or the topic")
    return value


def _checked(station: str, kind: Any, value: float, ts: datetime, quality: str | None) -> Reading:
    if kind not in KINDS:
        raise _RefusedError(RejectReason.SCHEMA, f"kind {kind!r} is not one of {', '.join(KINDS)}")
    return Reading(station, kind, value, ts, quality)


def _validated(reading: Reading) -> Reading:
    if not STATION_RE.match(reading.station):
        raise _RefusedError(
            RejectReason.SCHEMA, f"station id {reading.station!r} is not a valid id"
        )
    if not math.isfinite(reading.value):
        raise _RefusedError(
            RejectReason.NOT_FINITE, f"value {reading.value!r} is not a finite number"
        )
    if reading.ts.tzinfo is None:
        raise _RefusedError(RejectReason.NAIVE_TIME, "timestamp has no time zone")
    return reading


def _path(doc: Any, path: str) -> Any:
    node = doc
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _RefusedError(RejectReason.SCHEMA, f"no {path!r} in the payload")
    return node


def _mapped(doc: Any, m: FieldMapping, fields: Mapping[str, str]) -> Reading:
    if not isinstance(doc, dict):
        raise _RefusedError(RejectReason.SCHEMA, "expected a JSON object")
    station = fields.get("station") or _path(doc, m.station)
    kind = m.fixed_kind or fields.get("kind") or (_path(doc, m.kind) if m.kind else None)
    if not isinstance(station, str) or not isinstance(kind, str):
        raise _RefusedError(RejectReason.SCHEMA, "station and kind must be strings")
    raw_value = _path(doc, m.value)
    if isinstance(raw_value, bool) or not isinstance(raw_value, int | float | str):
        raise _RefusedError(RejectReason.SCHEMA, f"value {raw_value!r} is not a number")
    try:
        value = float(raw_value) * m.scale + m.offset
    except (ValueError, OverflowError) as exc:
        raise _RefusedError(RejectReason.SCHEMA, f"value {raw_value!r} is not a number") from exc
    ts = _timestamp(_path(doc, m.ts), m)
    quality = _path(doc, m.quality) if m.quality else None
    if quality is not None and not isinstance(quality, str):
        quality = str(quality)
    return _validated(_checked(station, kind, value, ts, quality))


def _timestamp(raw: Any, m: FieldMapping) -> datetime:
    try:
        if m.ts_format in ("epoch_s", "epoch_ms"):
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise _RefusedError(RejectReason.SCHEMA, f"timestamp {raw!r} is not a number")
            seconds = raw / 1000 if m.ts_format == "epoch_ms" else raw
            return datetime.fromtimestamp(seconds, tz=UTC)
        if not isinstance(raw, str):
            raise _RefusedError(RejectReason.SCHEMA, f"timestamp {raw!r} is not a string")
        if m.ts_format == "iso":
            ts = datetime.fromisoformat(raw)
        else:
            ts = datetime.strptime(raw, m.ts_format)  # noqa: DTZ007 - zone applied below
        if ts.tzinfo is None and m.timezone is not None:
            ts = ts.replace(tzinfo=ZoneInfo(m.timezone))
        return ts
    except (ValueError, OverflowError, OSError) as exc:
        raise _RefusedError(RejectReason.SCHEMA, f"timestamp {raw!r}: {exc}") from exc


def _dump(item: Any) -> bytes:
    try:
        return msgspec.json.encode(item)
    except (TypeError, ValueError):
        return repr(item).encode()
