"""`floodwatch backtest` over a simulated month with known overtopping events."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from floodwatch.alerts.state import Severity
from floodwatch.backtest.analysis import (
    compare,
    load_events,
    related,
    run_backtest,
    score,
    transition_key,
)
from floodwatch.backtest.forecasts import compare_forecasts
from floodwatch.backtest.plots import cjk_font
from floodwatch.cli.app import load, main
from floodwatch.readings import Reading
from floodwatch.replay.run import run_readings
from floodwatch.sim import simulate
from floodwatch.testing import T0

ROOT = Path(__file__).resolve().parents[2]
# Day → storm: a blocked culvert overtops the pond; an open one comes close.
PLAN = {2: "blocked", 5: "open", 9: "blocked", 14: "open", 20: "blocked", 25: "flash"}


def month() -> tuple[list[Reading], list[dict[str, str]]]:
    readings: list[Reading] = []
    events = []
    for day in range(30):
        start = T0 + timedelta(days=day)
        storm = simulate(
            PLAN.get(day, "quiet"), start=start, quiet_ponds={"xiawu-pond": 203.8}, seed=day
        )
        today = [r for r in storm.readings if r.ts < start + timedelta(days=1)]
        readings += today
        over = [r for r in today if r.station == "maokeng-pond" and r.value >= 312.0]
        if over:  # the truth: when the water reached the dam crest
            events.append(
                {"station": "maokeng-pond", "at": over[0].ts.isoformat(), "what": "overtopped"}
            )
    # Something no gauge could see: a miss.
    seepage = T0 + timedelta(days=17, hours=9)
    events.append({"station": "xiawu-pond", "at": seepage.isoformat(), "what": "seepage"})
    return readings, events


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("month")
    readings, events = month()
    (work / "month.jsonl").write_text("".join(json.dumps(r.to_json()) + "\n" for r in readings))
    (work / "events.yaml").write_text(
        yaml.safe_dump({"warning_window": "24h", "min_severity": "yellow", "events": events})
    )
    with (work / "month.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["station", "kind", "ts", "value"])
        out.writerows([r.station, r.kind, r.to_json()["ts"], r.value] for r in readings)
    table = pa.table(
        {
            "station": [r.station for r in readings],
            "kind": [r.kind for r in readings],
            "ts": pa.array([r.ts for r in readings], pa.timestamp("ms", tz="UTC")),
            "value": [r.value for r in readings],
        }
    )
    pq.write_table(table, work / "month.parquet")
    trend = work / "trend"  # the same config with the straight-line forecast
    shutil.copytree(ROOT / "config", trend, ignore=shutil.ignore_patterns("tests"))
    text = (trend / "rules.yaml").read_text()
    assert "    method: auto" in text
    (trend / "rules.yaml").write_text(text.replace("    method: auto", "    method: trend"))
    changed = work / "red-lower"
    shutil.copytree(ROOT / "config", changed, ignore=shutil.ignore_patterns("tests"))
    rules = changed / "rules.yaml"
    text = rules.read_text()
    assert "red:    {enter: crest - 0.2}" in text
    rules.write_text(text.replace("red:    {enter: crest - 0.2}", "red:    {enter: crest - 0.3}"))
    return work


def test_hits_misses_and_lead_times_match_the_known_events(history: Path) -> None:
    compiled = load(ROOT / "config")
    events = load_events(history / "events.yaml")
    run = run_backtest(compiled, history / "month.jsonl")
    result = score(run, events, related(compiled))
    assert [(s.event.what, s.hit) for s in result.events] == [
        ("overtopped", True),
        ("overtopped", True),
        ("seepage", False),
        ("overtopped", True),
    ]
    assert result.hits == 3 and result.misses == 1
    # Lead times, independently: the first time the pond or its linked gauges
    # reached each severity in the 24 h before the overtopping.
    alerts = run_readings(compiled, month()[0]).alerts
    near = {"maokeng-pond", "maokeng-culvert", "maokeng-rain"}
    for scored in result.events:
        if not scored.hit:
            continue
        at = scored.event.at
        for severity in (Severity.RED, Severity.ORANGE, Severity.YELLOW):
            first = min(
                e.ts
                for e in alerts
                if e.station in near
                and e.severity is severity
                and e.transition.value != "resolved"
                and at - timedelta(hours=24) <= e.ts <= at
            )
            assert scored.lead[severity] == at - first
        assert timedelta(minutes=30) <= scored.lead[Severity.RED] <= timedelta(hours=3)
    # The open-culvert storms came close without overtopping: false alarms.
    assert {ep.start.day for ep in result.false_alarms} == {12, 21, 1}


def test_the_report_files(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main,
        [
            "backtest",
            *("--config", str(ROOT / "config")),
            *("--input", str(history / "month.jsonl")),
            *("--events", str(history / "events.yaml")),
            *("--report", str(out)),
            *("--quiet", "--lang", "en"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "events 4: 3 hits, 1 misses" in result.output
    md = (out / "report.md").read_text()
    assert "hits **3**, misses **1**" in md
    assert "| 2026-07-24 17:00 +08:00 | Xiawu pond | seepage | **miss** | — |" in md
    assert "| 2026-07-09 15:40 +08:00 | Maokeng pond | overtopped | hit | red 50m, " in md
    plots = sorted((out / "plots").glob("*.png"))
    assert plots and all(f"plots/{p.name}" in md for p in plots)
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(plots)
    assert 'src="plots/' not in page  # self-contained
    assert_renders(out / "report.pdf", tmp_path)
    lines = (out / "alerts.jsonl").read_text().splitlines()
    assert len(lines) == len(run_readings(load(ROOT / "config"), month()[0]).alerts)


def assert_renders(pdf: Path, work: Path) -> None:
    """The PDF's first page as PNG (poppler's pdftoppm) is not blank."""
    assert pdf.read_bytes().startswith(b"%PDF-")
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(work / "page")],
        check=True,
        timeout=60,
    )
    [png] = work.glob("page*.png")
    with Image.open(png) as image:
        grey = image.convert("L")
        dark = sum(grey.histogram()[:200])  # pixels clearly darker than paper
        assert dark > 0.01 * grey.width * grey.height, f"{png} is blank"


def test_the_report_in_chinese_in_local_time_with_names(history: Path, tmp_path: Path) -> None:
    """zh: headings, station and rule names, times in the service's zone; the
    plots' Chinese labels need a CJK font (matplotlib warns on a missing glyph,
    and warnings are errors here)."""
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main,
        [
            "backtest",
            *("--config", str(ROOT / "config")),
            *("--input", str(history / "month.jsonl")),
            *("--events", str(history / "events.yaml")),
            *("--report", str(out)),
            *("--quiet", "--lang", "zh", "--no-pdf"),
        ],
    )
    assert result.exit_code == 0, result.output
    md = (out / "report.md").read_text()
    assert md.startswith("# 预警规则回测报告")
    assert "事件 **4** 个：命中 **3**，漏报 **1**" in md
    assert "| 2026-07-24 17:00 +08:00 | 下坞山塘 | seepage | **漏报** | — |" in md
    assert "| 毛坑山塘 | 山塘水位 |" in md and "maokeng-pond |" not in md
    assert "T0" not in md and "Z |" not in md  # no UTC times
    assert not (out / "report.pdf").exists()
    assert cjk_font() is not None


def test_compare_shows_both_forecasts_side_by_side(history: Path, tmp_path: Path) -> None:
    """The straight line (`trend`) against the water balance over the same month:
    lead times per overtopping event and the forecast's false alarms."""
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main,
        [
            "backtest",
            *("--config", str(history / "trend")),
            *("--input", str(history / "month.jsonl")),
            *("--events", str(history / "events.yaml")),
            *("--compare", str(ROOT / "config")),
            *("--report", str(out)),
            *("--quiet", "--lang", "en"),
        ],
    )
    assert result.exit_code == 0, result.output
    md = (out / "report.md").read_text()
    assert "## Forecasts side by side" in md
    assert "`pond-overtop`: `trend` (this config) against `trend+water_balance`" in md
    trend_cfg, balance_cfg = load(history / "trend"), load(ROOT / "config")
    events = load_events(history / "events.yaml")
    runs = [run_backtest(cfg, history / "month.jsonl") for cfg in (trend_cfg, balance_cfg)]
    [f] = compare_forecasts(*runs, trend_cfg, balance_cfg, events, related(trend_cfg))
    assert f"False alarms (orange or red, no event): **{f.false_alarms[0]}** → " in md
    # The open storms and the flash flood: the straight line cries wolf, the
    # water balance does not.
    assert f.false_alarms[0] >= 3 and f.false_alarms[1] == 0
    overtopped = [row for row in f.events if row.event.what == "overtopped"]
    assert len(overtopped) == 3
    for row in overtopped:
        line, red = row.lead[Severity.RED]
        assert red is not None and red >= timedelta(minutes=30)
        assert line is not None and red >= line  # its own red line: no later than the line's


def test_compare_reports_exactly_what_moving_one_red_threshold_changes(history: Path) -> None:
    base_cfg, other_cfg = load(ROOT / "config"), load(history / "red-lower")
    events = load_events(history / "events.yaml")
    base = run_backtest(base_cfg, history / "month.jsonl")
    other = run_backtest(other_cfg, history / "month.jsonl")
    links = related(base_cfg)
    c = compare(base, other, score(base, events, links), score(other, events, links))
    readings = month()[0]
    before = {transition_key(e) for e in run_readings(base_cfg, readings).alerts}
    after = {transition_key(e) for e in run_readings(other_cfg, readings).alerts}
    assert {transition_key(e) for e in c.added} == after - before
    assert {transition_key(e) for e in c.removed} == before - after
    # Only the pond-level rule moved: red comes earlier (and on the near misses),
    # and the downgrade from red to orange moves with it.
    changed = {(e.rule, e.severity.value, e.transition.value) for e in c.added + c.removed}
    assert changed == {("pond-level", "red", "escalated"), ("pond-level", "orange", "downgraded")}
    earlier = sorted(e.ts for e in c.added if e.severity is Severity.RED)
    assert len(earlier) == 5  # three overtopping storms and the two near misses
    assert c.hits == (3, 3)


@pytest.mark.parametrize("name", ["month.csv", "month.parquet"])
def test_csv_and_parquet_give_what_jsonl_gives(history: Path, name: str) -> None:
    compiled = load(ROOT / "config")
    jsonl = run_backtest(compiled, history / "month.jsonl")
    other = run_backtest(compiled, history / name)
    assert other.readings == jsonl.readings
    assert [e.to_json() for e in other.alerts] == [e.to_json() for e in jsonl.alerts]


def test_a_bad_events_file_is_named_with_line_and_key(history: Path, tmp_path: Path) -> None:
    bad = tmp_path / "events.yaml"
    bad.write_text("events:\n  - {station: maokeng-pond, at: yesterday}\n")
    result = CliRunner().invoke(
        main,
        ["backtest", "--input", str(history / "month.jsonl"), "--events", str(bad), "--quiet"],
    )
    assert result.exit_code == 2
    assert f"{bad}:2:" in result.output and "events[0].at" in result.output
