"""`backtest.history`: recorded readings for a backtest, from canonical JSONL,
CSV or Parquet, in chunks with their progress. What real exports get wrong —
local time without a zone, empty cells, bad lines, timestamps in seconds or
nanoseconds — is read right or set aside with its reason, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from floodwatch.backtest import history
from floodwatch.backtest.history import Chunk, read_history
from floodwatch.readings import Reading, RejectReason
from floodwatch.replay.localtime import LocalTime
from floodwatch.testing import compile_yaml
from tests.conftest import POND

RULES = "rules:\n  - {id: lvl, kind: level, stations: [p1], levels: {yellow: {enter: 311.4}}}\n"
T = datetime(2026, 7, 7, 0, 0, tzinfo=UTC)


def _local(default: str | None = "Asia/Shanghai", stations: str = POND) -> LocalTime:
    return LocalTime(compile_yaml(stations=stations, rules=RULES), default)


def _all(chunks: list[Chunk]) -> tuple[list[Reading], list[RejectReason]]:
    readings = [r for c in chunks for r in c.readings]
    return readings, [r.reason for c in chunks for r in c.rejected]


# -- JSONL ----------------------------------------------------------------------------


def test_jsonl_reads_canonical_lines_and_sets_bad_ones_aside(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"station": "p1", "kind": "level", "value": 310.42, "ts": "2026-07-07T00:00:00Z"}\r\n'
        b"\n"
        b"not json\n"
        b'{"station": "p1", "kind": "level", "value": 310.44, "ts": "2026-07-07T00:05:00Z"}\n'
        b'{"station": "p1", "kind": "level", "ts": "2026-07-07T00:10:00Z"}\n'
    )
    chunks = list(read_history(path))
    readings, reasons = _all(chunks)
    assert [(r.station, r.value, r.ts) for r in readings] == [
        ("p1", 310.42, T),
        ("p1", 310.44, T.replace(minute=5)),
    ]
    assert len(reasons) == 2 and set(reasons) <= {RejectReason.DECODE, RejectReason.SCHEMA}
    assert all(r.source == str(path) for c in chunks for r in c.rejected)
    assert chunks[-1].done == chunks[-1].total == path.stat().st_size


def test_jsonl_comes_in_chunks_with_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "CHUNK", 2)  # ~200 bytes a chunk
    path = tmp_path / "in.jsonl"
    lines = [
        f'{{"station": "p1", "kind": "level", "value": {310 + k / 100}, '
        f'"ts": "2026-07-07T00:{k:02d}:00Z"}}\n'
        for k in range(20)
    ]
    path.write_text("".join(lines), encoding="utf-8")
    chunks = list(read_history(path))
    assert len(chunks) > 3
    progress = [c.done for c in chunks]
    assert progress == sorted(progress) and progress[-1] == path.stat().st_size
    readings, reasons = _all(chunks)
    assert len(readings) == 20 and reasons == []
    assert [r.ts.minute for r in readings] == list(range(20))  # order kept


def test_jsonl_naive_time_is_refused_without_a_zone_and_read_in_one(tmp_path: Path) -> None:
    path = tmp_path / "local.jsonl"
    path.write_text(
        '{"station": "p1", "kind": "level", "value": 310.5, "ts": "2026-07-07 08:00:00"}\n'
        '{"station": "p1", "kind": "level", "value": 310.6, "ts": "2026-07-07T00:05:00Z"}\n',
        encoding="utf-8",
    )
    readings, reasons = _all(list(read_history(path)))
    assert [r.value for r in readings] == [310.6] and reasons == [RejectReason.NAIVE_TIME]
    readings, reasons = _all(list(read_history(path, _local())))
    assert reasons == []
    assert sorted((r.ts, r.value) for r in readings) == [(T, 310.5), (T.replace(minute=5), 310.6)]


def test_a_station_zone_wins_over_the_default(tmp_path: Path) -> None:
    stations = POND.replace("    type: culvert\n", "    type: culvert\n    timezone: UTC\n")
    path = tmp_path / "local.jsonl"
    path.write_text(
        '{"station": "c1", "kind": "flow", "value": 1.5, "ts": "2026-07-07 00:00:00"}\n'
        '{"station": "p1", "kind": "level", "value": 310.5, "ts": "2026-07-07 08:00:00"}\n',
        encoding="utf-8",
    )
    readings, _ = _all(list(read_history(path, _local("Asia/Shanghai", stations))))
    assert {r.station: r.ts for r in readings} == {"c1": T, "p1": T}


# -- CSV ------------------------------------------------------------------------------


def test_csv_with_zones_extra_columns_and_any_column_order(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "value,ts,note,station,kind\n"
        "310.42,2026-07-07T00:00:00Z,ok,p1,level\n"
        "310.44,2026-07-07T08:05:00+08:00,ok,p1,level\n",
        encoding="utf-8",
    )
    readings, reasons = _all(list(read_history(path)))
    assert reasons == []
    assert [(r.station, r.kind, r.value, r.ts) for r in readings] == [
        ("p1", "level", 310.42, T),
        ("p1", "level", 310.44, T.replace(minute=5)),
    ]


def test_csv_local_time_read_in_the_given_zone(tmp_path: Path) -> None:
    path = tmp_path / "scada.csv"
    path.write_text("station,kind,ts,value\np1,level,2026-07-07 08:00:00,310.5\n", encoding="utf-8")
    naive = _all(list(read_history(path)))[0]
    assert naive[0].ts.tzinfo is None  # left naive: the engine refuses it with its reason
    readings = _all(list(read_history(path, _local())))[0]
    assert readings[0].ts == T


def test_csv_empty_cells_and_bad_times_are_set_aside_with_their_row(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text(
        "station,kind,ts,value\n"
        "p1,level,2026-07-07T00:00:00Z,310.5\n"
        "p1,level,2026-07-07T00:05:00Z,\n"
        "p1,level,yesterday,310.6\n"
        "p1,level,2026-07-07T00:15:00Z,310.7\n",
        encoding="utf-8",
    )
    chunks = list(read_history(path))
    readings, reasons = _all(chunks)
    assert [r.value for r in readings] == [310.5, 310.7]
    assert reasons == [RejectReason.SCHEMA, RejectReason.SCHEMA]
    details = [r.detail for c in chunks for r in c.rejected]
    assert details[0].startswith("row 1: ") and details[1].startswith("row 2: ")
    assert chunks[-1].done == chunks[-1].total


def test_csv_without_a_needed_column_fails_naming_it(tmp_path: Path) -> None:
    # a ValueError, which `floodwatch backtest` reports and exits 2 on (it used
    # to be pyarrow's KeyError: a traceback)
    path = tmp_path / "short.csv"
    path.write_text("station,ts,value\np1,2026-07-07T00:00:00Z,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^no column kind$"):
        list(read_history(path))


# -- Parquet --------------------------------------------------------------------------


def _parquet(path: Path, ts: pa.Array, **extra: pa.Array) -> Path:
    n = len(ts)
    columns = {
        "station": pa.array(["p1"] * n),
        "kind": pa.array(["level"] * n),
        "ts": ts,
        "value": pa.array([310.0 + k / 10 for k in range(n)]),
        **extra,
    }
    pq.write_table(pa.table(columns), path)
    return path


@pytest.mark.parametrize(("unit", "scale"), [("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)])
def test_parquet_timestamps_in_any_unit(tmp_path: Path, unit: str, scale: int) -> None:
    epoch = int(T.timestamp())
    ts = pa.array([epoch * scale, (epoch + 300) * scale], type=pa.timestamp(unit, tz="UTC"))
    readings, reasons = _all(list(read_history(_parquet(tmp_path / "in.parquet", ts))))
    assert reasons == []
    assert [r.ts for r in readings] == [T, T.replace(minute=5)]


def test_parquet_in_another_zone_is_the_same_instant(tmp_path: Path) -> None:
    epoch_ms = int(T.timestamp()) * 1000
    ts = pa.array([epoch_ms], type=pa.timestamp("ms", tz="Asia/Shanghai"))
    readings = _all(list(read_history(_parquet(tmp_path / "in.pq", ts))))[0]
    assert readings[0].ts == T


def test_parquet_without_a_zone_is_utc_unless_a_zone_is_given(tmp_path: Path) -> None:
    local_8am = datetime(2026, 7, 7, 8, 0)  # noqa: DTZ001 — a naive export, on purpose
    ts = pa.array([local_8am], type=pa.timestamp("ms"))
    path = _parquet(tmp_path / "in.parquet", ts)
    assert _all(list(read_history(path)))[0][0].ts == T.replace(hour=8)
    assert _all(list(read_history(path, _local())))[0][0].ts == T


def test_parquet_iso_text_and_nulls(tmp_path: Path) -> None:
    ts = pa.array(["2026-07-07T00:00:00Z", None, "2026-07-07T00:10:00Z"])
    path = _parquet(tmp_path / "text.parquet", ts)
    chunks = list(read_history(path))
    readings, reasons = _all(chunks)
    assert [r.ts for r in readings] == [T, T.replace(minute=10)]
    assert reasons == [RejectReason.SCHEMA]
    assert chunks[0].rejected[0].detail.startswith("row 1: ")
    assert (chunks[-1].done, chunks[-1].total) == (3, 3)  # rows, for Parquet


def test_parquet_without_a_needed_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"station": ["p1"], "ts": ["2026-07-07T00:00:00Z"]}), path)
    with pytest.raises(ValueError, match="no column kind, value"):
        list(read_history(path))
