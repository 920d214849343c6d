"""`backtest.report`: the report files — Markdown, a self-contained HTML page,
a PDF, the alerts as JSONL and the plots — in Chinese, English or both, with
honest lead times, a comparison that says what changed (or that no lead time
did) and the forecasts side by side."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.backtest.analysis import Event, EventsFile, Run, compare, related, score
from floodwatch.backtest.forecasts import ForecastComparison, ForecastLead
from floodwatch.backtest.report import Report, leads_text, write_report
from floodwatch.backtest.words import Words
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.testing import T0, series
from tests.integration.services import ROOT
from tests.unit.backtest.alerts import episode

H = timedelta(hours=1)
M = timedelta(minutes=1)
DAY = timedelta(days=1)
BLUE, YELLOW, ORANGE, RED = Severity.BLUE, Severity.YELLOW, Severity.ORANGE, Severity.RED
EVENT = Event(station="maokeng-pond", at=T0 + DAY, what="overtopped | spillway")
MISSED = Event(station="xiawu-pond", at=T0 + DAY + 2 * H, what="seepage")
EVENTS = EventsFile(warning_window=timedelta(hours=12), min_severity=YELLOW, events=[EVENT, MISSED])


@pytest.fixture(scope="module")
def compiled() -> CompiledConfig:
    return compile_config(load_config_dir(ROOT / "config"))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    levels = [310.5 + 0.005 * i for i in range(400)]
    path = tmp_path_factory.mktemp("history") / "h.jsonl"
    readings = series("maokeng-pond", "level", levels)
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in readings), encoding="utf-8")
    return path


def _alerts(red_at: timedelta) -> list[AlertEvent]:
    hit = episode(
        "maokeng-pond", "pond-level", [(DAY - 3 * H, YELLOW), (DAY - red_at, RED), (DAY + H, None)]
    )
    false = episode("maokeng-pond", "pond-rise", [(4 * H, ORANGE), (5 * H, None)])
    below = episode("xiawu-pond", "pond-level", [(DAY + H, BLUE), (DAY + 3 * H, None)])
    return sorted([*hit, *false, *below], key=lambda a: a.ts)


def _run(alerts: list[AlertEvent]) -> Run:
    return Run(alerts, 400, {"unknown_station": 3}, T0, T0 + 2 * DAY)


def _report(compiled: CompiledConfig, history: Path, lang: str = "en", **kw: object) -> Report:
    run = _run(_alerts(H))
    return Report(
        title="t",
        config=Path("config"),
        history=history,
        run=run,
        compiled=compiled,
        events=EVENTS,
        score=score(run, EVENTS, related(compiled)),
        lang=lang,  # type: ignore[arg-type]
        seconds=1.25,
        **kw,  # type: ignore[arg-type]
    )


def test_the_files_and_what_the_english_report_says(
    compiled: CompiledConfig, history: Path, tmp_path: Path
) -> None:
    report = _report(compiled, history)
    files = write_report(report, tmp_path, pdf=False)
    names = [f.relative_to(tmp_path).as_posix() for f in files]
    assert names == [
        "report.md",
        "report.html",
        "alerts.jsonl",
        "plots/01-maokeng-pond-pond-rise.png",
        "plots/02-maokeng-pond-pond-level.png",
    ]
    stored = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert [AlertEvent.from_json(a) for a in stored] == report.run.alerts
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "- set aside: unknown_station 3" in md
    assert "- time zone: Asia/Shanghai" in md
    assert "| count | 1 | 1 | 1 | 1 | 0 | 3 |" in md  # red orange yellow blue info, episodes
    assert "Events: **2**; hits **1**, misses **1**; false alarms **1**" in md
    assert (
        "| 2026-07-08 08:00 +08:00 | Maokeng pond | overtopped \\| spillway | hit "
        "| red 1h00m, yellow 3h00m |" in md
    )
    assert "| **miss** | — (blue 1h00m; below yellow) |" in md
    assert "## False alarms" in md and "| rate of rise | orange | 1h00m |" in md
    assert "![02-maokeng-pond-pond-level](plots/02-maokeng-pond-pond-level.png)" in md
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html><html lang=en>")
    assert "<td>overtopped | spillway</td>" in page  # the escaped pipe is one cell
    assert page.count('src="data:image/png;base64,') == 2  # self-contained
    assert "<b>miss</b>" in page and "plots/" not in page.split("<body>")[1].replace(
        'alt="plots/', ""
    )


def test_the_chinese_report_speaks_chinese_in_local_time(
    compiled: CompiledConfig, history: Path, tmp_path: Path
) -> None:
    write_report(_report(compiled, history, "zh"), tmp_path, pdf=False)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# 预警规则回测报告")
    assert (
        "事件 **2** 个：命中 **1**，漏报 **1**；误报 **1** 次"
        "（事件前 12h00m 内有黄色及以上预警即为命中）。" in md
    )
    assert (
        "| 2026-07-08 08:00 +08:00 | 毛坑山塘 | overtopped \\| spillway | 命中 "
        "| 红色 1h00m, 黄色 3h00m |" in md
    )
    assert "## 误报" in md and "## 按测站和规则" in md
    assert (
        (tmp_path / "report.html")
        .read_text(encoding="utf-8")
        .startswith("<!doctype html><html lang=zh>")
    )


def test_no_episode_worth_a_plot_and_no_false_alarm_are_said(
    compiled: CompiledConfig, history: Path, tmp_path: Path
) -> None:
    run = _run(episode("xiawu-pond", "pond-level", [(H, BLUE), (2 * H, None)]))
    report = Report(
        "t", Path("config"), history, run, compiled, EVENTS, score(run, EVENTS), lang="en"
    )
    files = write_report(report, tmp_path, pdf=False)
    assert not any("plots" in f.parts for f in files)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## False alarms\n\nNone." in md and "No episode worth a plot." in md


def test_a_comparison_lists_what_changed_and_each_changed_lead(
    compiled: CompiledConfig, history: Path, tmp_path: Path
) -> None:
    base, other = _run(_alerts(H)), _run(_alerts(2 * H))
    scores = score(base, EVENTS), score(other, EVENTS)
    report = _report(
        compiled,
        history,
        other_config=Path("other"),
        other=other,
        comparison=compare(base, other, *scores),
    )
    files = write_report(report, tmp_path, pdf=False)
    assert tmp_path / "alerts-compare.jsonl" in files
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Compared with `other`: **1** transitions added, **1** removed; hits 1 → 1" in md
    assert "| added | 2026-07-08 06:00 +08:00 | Maokeng pond | pond level | red | escalated |" in md
    assert (
        "| removed | 2026-07-08 07:00 +08:00 | Maokeng pond | pond level | red | escalated |" in md
    )
    assert "| 2026-07-08 08:00 +08:00 | Maokeng pond | red | 1h00m | 2h00m | 1h00m |" in md


def test_a_comparison_that_changes_no_lead_time_says_so(
    compiled: CompiledConfig, history: Path, tmp_path: Path
) -> None:
    run = _run(_alerts(H))
    s = score(run, EVENTS)
    report = _report(
        compiled,
        history,
        "zh",
        other_config=Path("o"),
        other=run,
        comparison=compare(run, run, s, s),
    )
    write_report(report, tmp_path, pdf=False)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "与 `o` 相比：新增 **0** 次预警变化，取消 **0** 次" in md
    assert "**预见期没有变化**：2 个事件的各等级预见期修改前后相同。" in md


def test_the_forecasts_side_by_side(
    compiled: CompiledConfig, history: Path, tmp_path: Path
) -> None:
    row = ForecastLead(EVENT, {ORANGE: (2 * H, None), RED: (40 * M, 25 * M)})
    forecasts = [ForecastComparison("pond-overtop", ("trend", "water_balance"), [row], (4, 0))]
    write_report(
        _report(compiled, history, other_config=Path("b"), forecasts=forecasts), tmp_path, pdf=False
    )
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert (
        "`pond-overtop`: `trend` (this config) against `water_balance` (`b`). "
        "False alarms (orange or red, no event): **4** → **0**." in md
    )
    assert "| 2026-07-08 08:00 +08:00 | Maokeng pond | 2h00m | — | 40m | 25m |" in md


def test_leads_text_of_a_hit_a_miss_and_nothing(compiled: CompiledConfig) -> None:
    both = Words("both", compiled)
    hit, miss = score(_run(_alerts(H)), EVENTS).events
    assert leads_text(both, hit, EVENTS) == "红色 (red) 1h00m, 黄色 (yellow) 3h00m"
    assert leads_text(Words("zh", compiled), miss, EVENTS) == "— (蓝色 1h00m，均低于黄色)"
    [nothing, _] = score(_run([]), EVENTS).events
    assert leads_text(both, nothing, EVENTS) == "—"


def test_the_pdf_is_written_from_the_page(
    compiled: CompiledConfig, history: Path, tmp_path: Path
) -> None:
    run = _run([])
    files = write_report(Report("t", Path("c"), history, run, compiled, lang="en"), tmp_path)
    assert tmp_path / "report.pdf" in files
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF-")
