"""Recorded readings for a backtest: canonical JSONL, CSV or Parquet, in chunks.

- JSONL: one canonical reading per line (`floodwatch replay`'s input).
- CSV: a header with `station,kind,ts,value` (more columns are ignored); `ts`
  ISO 8601, with a zone or local time (`2026-07-07 00:00:00`, see below).
- Parquet: columns `station`, `kind`, `ts` (a timestamp, or ISO text), `value`.

Time stamps without a zone are read in the station's configured `timezone` or
the command's `--timezone` (`floodwatch.replay.localtime`); with neither they are
refused (`naive_timestamp`). A Parquet timestamp column without a zone is UTC
unless a zone is given.

Chunks come with how far through the input they are (bytes or rows), so a
long run can show progress. A line or row that is not a valid reading is
counted and set aside with its reason, like the live service's dead-letter;
a CSV or Parquet file without one of the four columns raises ValueError
naming them (the caller names the file).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from floodwatch.backtest import extra
from floodwatch.ingest.decode import Decoders
from floodwatch.readings import Reading, Rejected, RejectReason, parse_ts
from floodwatch.replay.localtime import LocalTime

CHUNK = 200_000
COLUMNS = ("station", "kind", "ts", "value")


@dataclass
class Chunk:
    readings: list[Reading]
    rejected: list[Rejected] = field(default_factory=list)
    done: int = 0  # progress so far, in `total` units
    total: int = 0


def read_history(path: Path, local: LocalTime | None = None) -> Iterator[Chunk]:
    """The readings of `path` in chunks; naive time stamps read by `local`."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        chunks = _arrow(path, "csv", local)
    elif suffix in (".parquet", ".pq"):
        chunks = _arrow(path, "parquet", local)
    else:
        return _jsonl(path, local)
    if not local:
        return chunks
    return (Chunk(local.fix(c.readings), c.rejected, c.done, c.total) for c in chunks)


def _jsonl(path: Path, local: LocalTime | None) -> Iterator[Chunk]:
    decoders = Decoders()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as f:
        while True:
            lines = f.readlines(CHUNK * 100)
            if not lines:
                return
            done += sum(map(len, lines))
            payloads = [line.strip() for line in lines if line.strip()]
            readings, rejected = decoders.decode_each(payloads, "canonical", source=str(path))
            if local and any(r.reason is RejectReason.NAIVE_TIME for r in rejected):
                rejected = _localized(decoders, local, rejected, readings, str(path))
            yield Chunk(readings, rejected, done=done, total=total)


def _localized(
    decoders: Decoders,
    local: LocalTime,
    rejected: list[Rejected],
    readings: list[Reading],
    source: str,
) -> list[Rejected]:
    """Decode again the lines refused for a naive time, now given their zone."""
    still = []
    for r in rejected:
        fixed = (
            local.fix_line(r.raw.encode())
            if r.reason is RejectReason.NAIVE_TIME and r.raw
            else None
        )
        if fixed is None:
            still.append(r)
            continue
        got, bad = decoders.decode(fixed, "canonical", source=source)
        readings.extend(got)
        still.extend(bad)
    return still


def _arrow(path: Path, kind: str, local: LocalTime | None = None) -> Iterator[Chunk]:
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError as exc:
        raise extra.missing(*extra.PARQUET_CSV) from exc

    if kind == "csv":
        from pyarrow import csv

        opts = csv.ConvertOptions(
            include_columns=list(COLUMNS),
            column_types={"station": pa.string(), "kind": pa.string(), "ts": pa.string()},
        )
        try:
            batches = csv.open_csv(path, convert_options=opts)
        except pa.ArrowKeyError as exc:  # a column of COLUMNS is not in the header
            names = csv.open_csv(path).schema.names
            missing = set(COLUMNS) - set(names)
            raise ValueError(f"no column {', '.join(sorted(missing))}") from exc
        total = path.stat().st_size
    else:
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        missing = set(COLUMNS) - set(parquet.schema_arrow.names)
        if missing:
            raise ValueError(f"no column {', '.join(sorted(missing))}")
        batches = parquet.iter_batches(batch_size=CHUNK, columns=list(COLUMNS))
        total = parquet.metadata.num_rows
    done = 0
    rows = 0  # data rows before this batch (what a refused row is numbered by)
    for batch in batches:
        n = batch.num_rows
        done += n if kind == "parquet" else int(batch.nbytes)
        ts = batch.column("ts")
        if pa.types.is_string(ts.type) or pa.types.is_large_string(ts.type):
            stamps = [_iso(t) for t in ts.to_pylist()]
        elif local and pa.types.is_timestamp(ts.type) and ts.type.tz is None:
            stamps = [None if t is None else t.replace(tzinfo=None) for t in ts.to_pylist()]
        else:
            unit = ts.type.unit if pa.types.is_timestamp(ts.type) else "ms"
            raw = pc.cast(ts, pa.timestamp(unit)).cast(pa.int64()).to_numpy(zero_copy_only=False)
            ms = (raw // {"s": 1, "ms": 1, "us": 1000, "ns": 1_000_000}[unit]) * (
                1000 if unit == "s" else 1
            )
            # A sweep of many stations shares one time: one datetime per distinct time.
            ms_list = ms.tolist()
            cache = {v: datetime.fromtimestamp(v / 1000, UTC) for v in set(ms_list)}
            stamps = [cache[v] for v in ms_list]
        stations = batch.column("station").to_pylist()
        kinds = batch.column("kind").to_pylist()
        values = batch.column("value").to_pylist()
        chunk = Chunk([], done=min(done, total), total=total)
        if None not in stamps and all(batch.column(c).null_count == 0 for c in COLUMNS):
            make: Any = Reading  # positional construction in C, one call per row
            chunk.readings = list(map(make, stations, kinds, map(float, values), stamps))
            rows += n
            yield chunk
            continue
        for row, (station, kind_, stamp, value) in enumerate(
            zip(stations, kinds, stamps, values, strict=True)
        ):
            if stamp is None or value is None or station is None or kind_ is None:
                chunk.rejected.append(
                    Rejected(
                        RejectReason.SCHEMA,
                        f"row {rows + row}: a field is empty or the time is not ISO 8601",
                        raw=f"{station},{kind_},{stamp},{value}",
                        source=str(path),
                    )
                )
                continue
            chunk.readings.append(Reading(station, kind_, float(value), stamp))
        rows += n
        yield chunk


def _iso(text: str | None) -> datetime | None:
    """The time of `text` (naive when it has no zone: see `floodwatch.replay.localtime`)."""
    if text is None:
        return None
    try:
        return parse_ts(text)
    except ValueError:
        return None
