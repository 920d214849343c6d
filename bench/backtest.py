"""Backtest throughput: a year of 1-minute data for ~100 stations (~52 M readings).

Writes a synthetic Parquet history (33 ponds with their outlet culverts and rain
gauges, a few storms a year each, a blocked culvert in some), then times, in
this same run:
  (a) the baseline: reading the history into readings and doing nothing else;
  (b) `floodwatch backtest`'s run: the same reading plus the engine, in event
      time, to the end.
Prints readings/s for both, their ratio, and the time (b) takes for the whole
history (target: under 10 minutes on one core). Usage:

    python bench/backtest.py [--days 365] [--stations 99]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import RULES, stations_yaml

from floodwatch.backtest.analysis import run_backtest
from floodwatch.backtest.history import read_history
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import compile_config

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MINUTE = 60_000
WEEK = 7 * 1440


def history(path: Path, stations: int, days: int, seed: int = 1) -> int:
    """Write the synthetic history week by week (rows in time order); row count."""
    rng = np.random.default_rng(seed)
    ponds = stations // 3
    names = [f"{p}{i}" for i in range(ponds) for p in ("p", "c", "r")]
    kinds = ["level", "flow", "rain"] * ponds
    minutes = days * 1440
    # A storm every ~6 weeks per pond: start minute, and whether its culvert blocks.
    storms = [
        [(int(s), bool(rng.random() < 0.3)) for s in rng.uniform(0, minutes, max(1, days // 42))]
        for _ in range(ponds)
    ]
    writer = None
    rows = 0
    for week in range(0, minutes, WEEK):
        t = np.arange(week, min(week + WEEK, minutes))
        cols_level, cols_flow, cols_rain = [], [], []
        for i in range(ponds):
            level = 310.3 + rng.normal(0, 0.002, len(t))
            flow = np.full(len(t), 1.2)
            rain = np.zeros(len(t))
            for start, blocked in storms[i]:
                into = t - start
                wet = (into >= 0) & (into < 180)
                rain[wet] = 0.8
                rise = np.clip(into / 360, 0, 1) * np.exp(-np.clip(into - 360, 0, None) / 600)
                level += (1.6 if blocked else 0.9) * np.where(into >= 0, rise, 0)
                if blocked:
                    flow[(into >= 0) & (into < 720)] = 0.1
            cols_level.append(level)
            cols_flow.append(flow)
            cols_rain.append(rain)
        # Interleave: at each minute every station's reading, in station order.
        values = np.stack(
            [c for i in range(ponds) for c in (cols_level[i], cols_flow[i], cols_rain[i])]
        ).T.ravel()
        ts = np.repeat(START_MS + t * MINUTE, len(names))
        table = pa.table(
            {
                "station": pa.DictionaryArray.from_arrays(
                    pa.array(np.tile(np.arange(len(names)), len(t)), pa.int32()), names
                ),
                "kind": pa.DictionaryArray.from_arrays(
                    pa.array(np.tile(np.arange(len(names)), len(t)), pa.int32()), kinds
                ),
                "ts": pa.array(ts, pa.timestamp("ms", tz="UTC")),
                "value": pa.array(np.round(values, 3)),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=200_000)
        rows += table.num_rows
    assert writer is not None
    writer.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--stations", type=int, default=99)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cfg = work / "config"
        cfg.mkdir()
        (cfg / "stations.yaml").write_text(stations_yaml(args.stations))
        (cfg / "rules.yaml").write_text(RULES)
        compiled = compile_config(load_config_dir(cfg))
        data = work / "history.parquet"
        started = time.perf_counter()
        rows = history(data, args.stations, args.days)
        print(
            f"history: {rows:,} readings ({args.stations} stations, {args.days} days, "
            f"1-minute), written in {time.perf_counter() - started:.0f} s, "
            f"{data.stat().st_size / 2**20:.0f} MiB Parquet"
        )
        started = time.perf_counter()
        count = sum(len(chunk.readings) for chunk in read_history(data))
        base = time.perf_counter() - started
        assert count == rows
        started = time.perf_counter()
        run = run_backtest(compiled, data)
        took = time.perf_counter() - started
        print(f"baseline (read history only): {rows / base:>10,.0f} readings/s, {base:.0f} s")
        print(
            f"backtest (read + engine):     {rows / took:>10,.0f} readings/s, {took:.0f} s "
            f"({took / 60:.1f} min; target < 10 min for ~50 M); "
            f"{(rows / took) / (rows / base):.2f} of the baseline rate"
        )
        print(f"alert transitions: {len(run.alerts):,}; set aside: {run.rejected or 'none'}")


if __name__ == "__main__":
    main()
