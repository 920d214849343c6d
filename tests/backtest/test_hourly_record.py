"""A real hourly record through `floodwatch backtest` and `replay`.

Three years (2014–2016) of an hourly rain gauge and a groundwater well at the
Schwingbach research station (Hesse, Germany; Justus-Liebig-University
Gießen), as shipped in `spotpy`'s example data (a test dependency, MIT): 26,304
hours, local time without a zone, and — like many real exports — days 1–12 of
each month written as YYYY-DD-MM while the rows stay in time order.

Before clock discipline, each new hour was 60 min ahead of the clock
(`max_future` 10 min) until the second gauge's reading of that hour came, so
most rain readings were refused, the record 85.7 mm/h storm raised nothing, and
the command exited 0.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from floodwatch.cli.app import main

ZONE = "Etc/GMT-1"  # the record keeps UTC+1 all year (no summer-time gaps or repeats)
STATIONS = """
stations:
  - id: schwingbach-rain
    name: 施温巴赫雨量站
    name_en: Schwingbach rain gauge
    type: rain_gauge
    interval: 1h
    limits:
      rain: {min: 0.0, max: 200.0}
  - id: schwingbach-well
    name: 施温巴赫观测井
    name_en: Schwingbach well
    type: river
    interval: 1h
"""
RULES = """
rules:
  - id: rain-accumulation
    name: 累计雨量
    kind: rainfall
    station_types: [rain_gauge]
    clear_for: 30m
    levels:
      blue:   {within: {1h: 30, 3h: 50, 6h: 80, 24h: 120}}
      yellow: {within: {1h: 40, 3h: 70, 6h: 100, 24h: 150}}
      orange: {within: {1h: 50, 3h: 90, 6h: 130, 24h: 200}}
      red:    {within: {1h: 70, 3h: 120, 6h: 160, 24h: 250}}
  - id: sensor-health
    name: 设备状态
    kind: sensor_health
    station_types: [rain_gauge, river]
    stale_after: 2
"""


Row = tuple[str, float, float | None]


def _record() -> list[Row]:
    """(time as written, rain mm in the hour, well head m or None) per row."""
    spec = importlib.util.find_spec("spotpy")  # not imported: only its data is used
    assert spec is not None and spec.submodule_search_locations, "pip install spotpy (test dep)"
    path = Path(spec.submodule_search_locations[0], "examples/cmf_data/driver_data_site24.csv")
    rows = []
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            head = float(row["gwhead_m"]) if row["gwhead_m"] else None
            rows.append((row["time"], float(row["rain_mmday"]) / 24, head))
    return rows


def _fixed_dates(rows: list[Row]) -> list[Row]:
    """What an engineer does to the export: read YYYY-DD-MM where YYYY-MM-DD
    would break the hourly sequence."""
    out = []
    previous: datetime | None = None
    for text, rain, head in rows:
        ts = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 (local, as exported)
        if previous is not None and ts != previous + timedelta(hours=1):
            ts = datetime.strptime(text, "%Y-%d-%m %H:%M:%S")  # noqa: DTZ007
        assert previous is None or ts == previous + timedelta(hours=1), text
        out.append((ts.isoformat(), rain, head))
        previous = ts
    return out


def _csv(path: Path, rows: list[Row]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["station", "kind", "ts", "value"])
        for ts, rain, head in rows:
            w.writerow(["schwingbach-rain", "rain", ts, f"{rain:.4f}"])
            if head is not None:
                w.writerow(["schwingbach-well", "level", ts, f"{head:.4f}"])
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "stations.yaml").write_text(STATIONS, encoding="utf-8")
    (cfg / "rules.yaml").write_text(RULES, encoding="utf-8")
    return cfg


def _backtest(config: Path, history: Path, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main,
        [
            "backtest",
            "--config",
            str(config),
            "--input",
            str(history),
            "--report",
            str(history.parent / "report"),
            "--quiet",
            *extra,
        ],
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_hourly_record_is_taken_whole_and_its_record_storm_is_red(
    tmp_path: Path, config: Path
) -> None:
    rows = _fixed_dates(_record())
    assert len(rows) == 26_304
    history = _csv(tmp_path / "schwingbach.csv", rows)
    code, out, err = _backtest(config, history, "--timezone", ZONE)
    assert code == 0, err + out
    assert "49,596 readings" in out
    report = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "rejected" not in report.lower() or "0 rejected" in report.lower()
    # The same through `replay`, to read the alert events.
    jsonl = tmp_path / "schwingbach.jsonl"
    with jsonl.open("w", encoding="utf-8") as f:
        for ts, rain, head in rows:
            gauge = {"station": "schwingbach-rain", "kind": "rain", "value": rain, "ts": ts}
            f.write(json.dumps(gauge) + "\n")
            if head is not None:
                well = {"station": "schwingbach-well", "kind": "level", "value": head, "ts": ts}
                f.write(json.dumps(well) + "\n")
    alerts = tmp_path / "alerts.jsonl"
    result = CliRunner().invoke(
        main,
        [
            "replay",
            "--config",
            str(config),
            "--input",
            str(jsonl),
            "--output",
            str(alerts),
            "--timezone",
            ZONE,
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "(0 rejected)" in result.stderr
    events = [json.loads(line) for line in alerts.read_text().splitlines()]
    red = [e for e in events if e["severity"] == "red" and e["transition"] != "resolved"]
    assert {e["id"] for e in red} == {red[0]["id"]}  # one red episode …
    # … from the hour 73 mm fell (17:00 local, UTC+1) before the 85.7 mm hour.
    assert red[0]["ts"] == datetime(2014, 7, 24, 16, 0, tzinfo=UTC).isoformat().replace(
        "+00:00", "Z"
    )
    assert not [e for e in events if e["rule"].startswith("sensor-health")]  # no gap is a silence


def test_the_export_as_it_is_fails_loudly_saying_its_dates_run_backwards(
    tmp_path: Path, config: Path
) -> None:
    history = _csv(tmp_path / "export.csv", _record())
    code, _, err = _backtest(config, history, "--timezone", ZONE)
    assert code == 1
    assert "too_late" in err
    assert "day and month swapped" in err
    assert "sample of refused rows" in err
    assert "'station': 'schwingbach-rain'" in err  # the rows themselves


def test_local_times_without_timezone_fail_loudly_naming_the_option(
    tmp_path: Path, config: Path
) -> None:
    history = _csv(tmp_path / "export.csv", _fixed_dates(_record())[:500])
    code, out, err = _backtest(config, history)
    assert code == 1
    assert "naive_timestamp" in err
    assert "--timezone" in err
    assert "0 alert transitions" in out  # the report is still written, then the failure


def test_a_stations_configured_zone_reads_its_local_times(tmp_path: Path, config: Path) -> None:
    stations = config / "stations.yaml"
    stations.write_text(
        stations.read_text(encoding="utf-8").replace(
            "    interval: 1h\n", f"    interval: 1h\n    timezone: {ZONE}\n"
        ),
        encoding="utf-8",
    )
    history = _csv(tmp_path / "export.csv", _fixed_dates(_record())[:500])
    code, out, err = _backtest(config, history)
    assert code == 0, err
    assert "976 readings" in out  # 500 hours; the well misses 24


def test_replay_of_local_times_without_a_zone_fails_loudly(tmp_path: Path, config: Path) -> None:
    jsonl = tmp_path / "local.jsonl"
    rows = _fixed_dates(_record())[:100]
    jsonl.write_text(
        "".join(
            json.dumps({"station": "schwingbach-rain", "kind": "rain", "value": rain, "ts": ts})
            + "\n"
            for ts, rain, _ in rows
        ),
        encoding="utf-8",
    )
    args = ["replay", "--config", str(config), "--input", str(jsonl), "--output", "/dev/null"]
    failed = CliRunner().invoke(main, args)
    assert failed.exit_code == 1
    assert "naive_timestamp: 100" in failed.stderr
    assert "--timezone" in failed.stderr
    taken = CliRunner().invoke(main, [*args, "--timezone", "Asia/Shanghai"])
    assert taken.exit_code == 0, taken.stderr
    assert "(0 rejected)" in taken.stderr
