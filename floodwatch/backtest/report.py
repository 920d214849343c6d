"""The backtest report: Markdown, a self-contained HTML page, a PDF, alert
JSONL, plots (`backtest/plots.py`).

Written in Chinese, English or both (`Report.lang`, `--lang`), times in the
service's time zone (`engine.timezone`), stations and rules by name
(`backtest/words.py`). Lead times are honest: a warning standing since before
the warning window is "already active before the event (≥ window)", a miss
has no lead time but those of lower severities really raised, and with
`--compare` the report says so when no lead time changed. The PDF is the HTML
page laid out by WeasyPrint (`backtest/pdf.py`).
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.backtest.analysis import (
    FAR,
    Comparison,
    EventsFile,
    Run,
    Score,
    Scored,
    by_severity,
    stats,
)
from floodwatch.backtest.forecasts import ForecastComparison
from floodwatch.backtest.plots import worth, write_plots
from floodwatch.backtest.words import Lang, Words, duration
from floodwatch.replay.localtime import LocalTime
from floodwatch.rules.compile import CompiledConfig

ORDER = [Severity.RED, Severity.ORANGE, Severity.YELLOW, Severity.BLUE, Severity.INFO]


@dataclass
class Report:
    title: str
    config: Path
    history: Path
    run: Run
    compiled: CompiledConfig
    events: EventsFile | None = None
    score: Score | None = None
    other_config: Path | None = None
    other: Run | None = None
    other_score: Score | None = None
    comparison: Comparison | None = None
    forecasts: list[ForecastComparison] = field(default_factory=list)
    seconds: float = 0.0
    local: LocalTime | None = None  # zones of naive time stamps in the history
    lang: Lang = "both"
    other_compiled: CompiledConfig | None = None

    @property
    def words(self) -> Words:
        return Words(self.lang, self.compiled)


def write_report(report: Report, out: Path, pdf: bool = True) -> list[Path]:
    """Write report.md, report.html, report.pdf (unless `pdf` is False),
    alerts.jsonl (and plots/); return the files."""
    out.mkdir(parents=True, exist_ok=True)
    files = [_jsonl(out / "alerts.jsonl", report.run.alerts)]
    if report.other is not None:
        files.append(_jsonl(out / "alerts-compare.jsonl", report.other.alerts))
    floor = report.events.min_severity if report.events else Severity.YELLOW
    plots = write_plots(
        worth(report.run.episodes(), floor),
        report.run.alerts,
        report.other.alerts if report.other is not None else None,
        report.compiled,
        report.history,
        report.local,
        report.events.events if report.events else [],
        report.words,
        out / "plots",
        report.run.last,
    )
    md = _markdown(report, plots)
    (out / "report.md").write_text(md, encoding="utf-8")
    page = _html(md, report, out)
    (out / "report.html").write_text(page, encoding="utf-8")
    written = [out / "report.md", out / "report.html"]
    if pdf:
        from floodwatch.backtest.pdf import write_pdf

        written.append(write_pdf(page, out / "report.pdf"))
    return [*written, *files, *plots]


def _jsonl(path: Path, alerts: list[AlertEvent]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for e in alerts:
            f.write(json.dumps(e.to_json(), ensure_ascii=False) + "\n")
    return path


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return out


def _markdown(r: Report, plots: list[Path]) -> str:
    w, run = r.words, r.run
    period = f"{w.when(run.first)} – {w.when(run.last)}" if run.first and run.last else "—"
    counts = by_severity(run.alerts)
    episodes = run.episodes()
    until = run.last or FAR
    in_alert = sum((ep.duration(until) for ep in episodes), timedelta(0))
    compared = f"; {w('compared')} `{r.other_config}`" if r.other_config else ""
    lines = [
        f"# {w('title')}",
        "",
        f"- {w('config')}: `{r.config}`{compared}",
        f"- {w('input')}: `{r.history}` — {run.readings:,} {w('readings')}, {period}",
        f"- {w('zone')}: {r.compiled.zone.key}",
        f"- {w('set_aside')}: {_rejected(run.rejected, w('none'))}",
        f"- {w('run_time')}: {r.seconds:.1f} s",
        "",
        f"## {w('totals')}",
        "",
        *_table(
            [w("alerts_reaching"), *[w.severity(s) for s in ORDER], w("episodes"),
             w("time_in_alert")],
            [
                [
                    w("count"),
                    *[str(counts.get(s.value, 0)) for s in ORDER],
                    str(len(episodes)),
                    duration(in_alert),
                ]
            ],
        ),
        "",
    ]  # fmt: skip
    if r.score is not None and r.events is not None:
        s, floor = r.score, r.events.min_severity
        window = duration(r.events.warning_window)
        lines += [
            w.pick(
                f"事件 **{len(s.events)}** 个：命中 **{s.hits}**，漏报 **{s.misses}**；误报 "
                f"**{len(s.false_alarms)}** 次（事件前 {window} 内有{w.severity(floor)}及以上"
                "预警即为命中）。",
                f"Events: **{len(s.events)}**; hits **{s.hits}**, misses **{s.misses}**; "
                f"false alarms **{len(s.false_alarms)}** (an alert of at least {floor.value} "
                f"counts within {window} before an event).",
            ),
            "",
        ]
    if r.comparison is not None:
        lines += _comparison(r)
    if r.forecasts:
        lines += _forecasts(r)
    if r.score is not None and r.events is not None:
        lines += [f"## {w('events')}", ""]
        rows = [
            [
                w.when(sc.event.at),
                w.station(sc.event.station),
                sc.event.what,
                w("hit") if sc.hit else f"**{w('miss')}**",
                leads_text(w, sc, r.events),
            ]
            for sc in r.score.events
        ]
        lines += [
            *_table([w("time"), w("station"), w("what"), w("result"), w("lead")], rows),
            "",
        ]
        lines += [f"## {w('false_alarms')}", ""]
        if r.score.false_alarms:
            lines += _table(
                [w("start"), w("station"), w("rule"), w("top"), w("lasted")],
                [
                    [
                        w.when(ep.start),
                        w.station(ep.station),
                        w.rule(ep.rule),
                        w.severity(ep.top),
                        duration(ep.duration(until)),
                    ]
                    for ep in r.score.false_alarms
                ],
            )
        else:
            lines.append(w("no_false"))
        lines.append("")
    lines += [f"## {w('per_station')}", ""]
    lines += _table(
        [w("station"), w("rule"), w("episodes"), *[w.severity(s) for s in ORDER],
         w("time_in_alert")],
        [
            [
                w.station(str(row["station"])),
                w.rule(str(row["rule"])),
                str(row["episodes"]),
                *[str(row.get(s.value, 0)) for s in ORDER],
                duration(row["time"]),  # type: ignore[arg-type]
            ]
            for row in stats(run)
        ],
    )  # fmt: skip
    lines += ["", f"## {w('plots')}", ""]
    if plots:
        lines += [f"![{plot.stem}](plots/{plot.name})" for plot in plots]
    else:
        lines.append(w("no_plots"))
    lines.append("")
    return "\n".join(lines)


def leads_text(w: Words, sc: Scored, events: EventsFile) -> str:
    """Each severity's lead (or that it stood before the window); a miss says it."""
    shown = [
        f"{w.severity(sev)} {w.lead(sc.value(sev), events.warning_window)}"
        for sev in ORDER
        if sc.value(sev) is not None
    ]
    if sc.hit:
        return ", ".join(shown) or "—"
    below = w.pick(
        f"，均低于{w.severity(events.min_severity)}", f"; below {events.min_severity.value}"
    )
    return f"— ({', '.join(shown)}{below})" if shown else "—"


def _rejected(counts: dict[str, int], none: str) -> str:
    if not counts:
        return none
    return ", ".join(f"{reason} {n:,}" for reason, n in sorted(counts.items()))


def _forecasts(r: Report) -> list[str]:
    """Each time-to-crest rule of both configs: lead times and false alarms."""
    w = r.words
    lines = [f"## {w('forecasts')}", ""]
    for f in r.forecasts:
        this, other = f.methods
        lines += [
            w.pick(
                f"`{w.rule(f.rule)}`：`{this}`（本配置）对比 `{other}`（`{r.other_config}`）。"
                f"误报（橙色或红色而无事件）：**{f.false_alarms[0]}** → **{f.false_alarms[1]}**。",
                f"`{f.rule}`: `{this}` (this config) against `{other}` "
                f"(`{r.other_config}`). False alarms (orange or red, no event): "
                f"**{f.false_alarms[0]}** → **{f.false_alarms[1]}**.",
            ),
            "",
            *_table(
                [
                    w("event"),
                    w("station"),
                    f"{w.severity(Severity.ORANGE)} {w('lead')} ({this})",
                    f"{w.severity(Severity.ORANGE)} {w('lead')} ({other})",
                    f"{w.severity(Severity.RED)} {w('lead')} ({this})",
                    f"{w.severity(Severity.RED)} {w('lead')} ({other})",
                ],
                [
                    [
                        w.when(row.event.at),
                        w.station(row.event.station),
                        duration(row.lead[Severity.ORANGE][0]),
                        duration(row.lead[Severity.ORANGE][1]),
                        duration(row.lead[Severity.RED][0]),
                        duration(row.lead[Severity.RED][1]),
                    ]
                    for row in f.events
                ],
            ),
            "",
        ]
    return lines


def _comparison(r: Report) -> list[str]:
    c, w = r.comparison, r.words
    assert c is not None
    lines = [
        f"## {w('change')}",
        "",
        w.pick(
            f"与 `{r.other_config}` 相比：新增 **{len(c.added)}** 次预警变化，取消 "
            f"**{len(c.removed)}** 次；命中 {c.hits[0]} → {c.hits[1]}；误报 "
            f"{c.false_alarms[0]} → {c.false_alarms[1]}。",
            f"Compared with `{r.other_config}`: **{len(c.added)}** transitions added, "
            f"**{len(c.removed)}** removed; hits {c.hits[0]} → {c.hits[1]}; "
            f"false alarms {c.false_alarms[0]} → {c.false_alarms[1]}.",
        ),
        "",
    ]
    rows = [
        [w(what), w.when(e.ts), w.station(e.station), w.rule(e.rule), w.severity(e.severity),
         w.transition(e.transition.value), e.ts.isoformat()]
        for what, found in (("added", c.added), ("removed", c.removed))
        for e in found
    ]  # fmt: skip
    rows.sort(key=lambda row: (row[-1], row[2], row[3]))
    if rows:
        head = ["", w("time"), w("station"), w("rule"), w("severity"), w("transition")]
        lines += [*_table(head, [row[:-1] for row in rows]), ""]
    window = r.events.warning_window if r.events else timedelta(hours=24)
    if c.lead:
        lines += [
            *_table(
                [w("event"), w("station"), w("severity"), w("lead_before"), w("lead_after"),
                 w("lead_change")],
                [
                    [
                        w.when(ev.at),
                        w.station(ev.station),
                        w.severity(sev),
                        w.lead(a, window),
                        w.lead(b, window),
                        duration(b - a)
                        if isinstance(a, timedelta) and isinstance(b, timedelta)
                        else "—",
                    ]
                    for ev, sev, a, b in c.lead
                ],
            ),
            "",
        ]  # fmt: skip
    elif c.events:
        lines += [
            w.pick(
                f"**预见期没有变化**：{c.events} 个事件的各等级预见期修改前后相同。",
                f"**Lead times did not change**: every severity's lead time is the same "
                f"for all {c.events} events.",
            ),
            "",
        ]
    return lines


# -- HTML -------------------------------------------------------------------------


def _html(md: str, r: Report, out: Path) -> str:
    """A self-contained page: the Markdown's tables and text, images inlined."""
    body: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if not table:
            return
        rows = [row.strip("|").split(" | ") for row in table if not row.startswith("|---")]
        head, *rest = rows
        body.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>")
        body.extend(
            "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rest
        )
        body.append("</table>")
        table.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            table.append(line.strip())
            continue
        flush()
        if line.startswith("# "):
            body.append(f"<h1>{_inline(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{_inline(line[3:])}</h2>")
        elif line.startswith("- "):
            body.append(f"<p class=item>{_inline(line[2:])}</p>")
        elif line.startswith("!["):
            name = line[line.index("(") + 1 : -1]
            data = base64.b64encode((out / name).read_bytes()).decode()
            body.append(f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}">')
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    flush()
    style = (
        "body{font-family:'Noto Sans CJK SC',sans-serif;max-width:1100px;margin:2em auto;"
        "color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:.25em .6em;text-align:left}th{background:#f3f3f3}img{max-width:100%;"
        "display:block;margin:1em 0}p.item{margin:.2em 0}code{background:#f3f3f3}"
    )
    return (
        f"<!doctype html><html lang={'en' if r.lang == 'en' else 'zh'}><meta charset=utf-8>"
        f"<title>{html.escape(r.words('title'))}"
        f"</title><style>{style}</style><body>{''.join(body)}</body></html>\n"
    )


def _inline(text: str) -> str:
    out = html.escape(text.replace("\\|", "|"))
    parts = out.split("**")
    out = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
    parts = out.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
