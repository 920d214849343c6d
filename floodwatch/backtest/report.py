"""The backtest report: Markdown, a self-contained HTML page, alert JSONL, plots.

Plots (PNG, matplotlib, no display needed): one per alert episode worth a look
(reaching the events' `min_severity`, else yellow; the 40 most severe), each
showing the station's series from 6 h before the episode to 6 h after, the
level rules' threshold lines and the alert bands in the warning colours.
"""

from __future__ import annotations

import base64
import html
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.backtest.analysis import (
    FAR,
    Comparison,
    Episode,
    EventsFile,
    Run,
    Score,
    by_severity,
    stats,
)
from floodwatch.backtest.forecasts import ForecastComparison
from floodwatch.backtest.history import read_history
from floodwatch.localtime import LocalTime
from floodwatch.readings import format_ts, ts_to_ms
from floodwatch.rules.compile import CompiledConfig

COLOURS = {
    Severity.INFO: "#9e9e9e",
    Severity.BLUE: "#1f6fd1",
    Severity.YELLOW: "#e6b800",
    Severity.ORANGE: "#f28c00",
    Severity.RED: "#d62020",
}
MARGIN = timedelta(hours=6)
MAX_PLOTS = 40
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


def write_report(report: Report, out: Path) -> list[Path]:
    """Write report.md, report.html, alerts.jsonl (and plots/); return the files."""
    out.mkdir(parents=True, exist_ok=True)
    files = [_jsonl(out / "alerts.jsonl", report.run.alerts)]
    if report.other is not None:
        files.append(_jsonl(out / "alerts-compare.jsonl", report.other.alerts))
    plots = _plots(report, out / "plots")
    md = _markdown(report, plots)
    (out / "report.md").write_text(md, encoding="utf-8")
    (out / "report.html").write_text(_html(md, report, plots, out), encoding="utf-8")
    return [out / "report.md", out / "report.html", *files, *plots]


def _jsonl(path: Path, alerts: list[AlertEvent]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for e in alerts:
            f.write(json.dumps(e.to_json(), ensure_ascii=False) + "\n")
    return path


def _duration(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    hours, rest = divmod(abs(minutes), 60)
    sign = "-" if minutes < 0 else ""
    return f"{sign}{hours}h{rest:02d}m" if hours else f"{sign}{rest}m"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return out


def _markdown(r: Report, plots: list[Path]) -> str:
    run = r.run
    period = (
        f"{format_ts(run.first)} – {format_ts(run.last)}" if run.first and run.last else "empty"
    )
    counts = by_severity(run.alerts)
    episodes = run.episodes()
    until = run.last or FAR
    in_alert = sum((ep.duration(until) for ep in episodes), timedelta(0))
    lines = [
        f"# {r.title}",
        "",
        f"- config: `{r.config}`"
        + (f"; compared with `{r.other_config}`" if r.other_config else ""),
        f"- input: `{r.history}` — {run.readings:,} readings, {period}",
        f"- set aside: {_rejected(run.rejected)}",
        f"- run time: {r.seconds:.1f} s",
        "",
        "## Totals",
        "",
        *_table(
            ["alerts reaching", *[s.value for s in ORDER], "episodes", "time in alert"],
            [
                [
                    "count",
                    *[str(counts.get(s.value, 0)) for s in ORDER],
                    str(len(episodes)),
                    _duration(in_alert),
                ]
            ],
        ),
        "",
    ]
    if r.score is not None and r.events is not None:
        s = r.score
        lines += [
            f"Events: **{len(s.events)}**; hits **{s.hits}**, misses **{s.misses}**; "
            f"false alarms **{len(s.false_alarms)}** (an alert of at least "
            f"{r.events.min_severity.value} counts within "
            f"{_duration(r.events.warning_window)} before an event).",
            "",
        ]
    if r.comparison is not None:
        lines += _comparison(r)
    if r.forecasts:
        lines += _forecasts(r)
    if r.score is not None:
        lines += ["## Events", ""]
        rows = []
        for sc in r.score.events:
            leads = ", ".join(f"{sev.value} {_duration(t)}" for sev, t in sc.lead.items())
            rows.append(
                [
                    format_ts(sc.event.at),
                    sc.event.station,
                    sc.event.what,
                    "hit" if sc.hit else "**miss**",
                    leads or "—",
                ]
            )
        lines += [*_table(["time", "station", "what", "result", "lead time"], rows), ""]
        lines += ["## False alarms", ""]
        if r.score.false_alarms:
            lines += _table(
                ["start", "station", "rule", "top", "lasted"],
                [
                    [
                        format_ts(ep.start),
                        ep.station,
                        ep.rule,
                        ep.top.value,
                        _duration(ep.duration(until)),
                    ]
                    for ep in r.score.false_alarms
                ],
            )
        else:
            lines.append("None.")
        lines.append("")
    lines += ["## Per station and rule", ""]
    lines += _table(
        ["station", "rule", "episodes", *[s.value for s in ORDER], "time in alert"],
        [
            [
                str(row["station"]),
                str(row["rule"]),
                str(row["episodes"]),
                *[str(row.get(s.value, 0)) for s in ORDER],
                _duration(row["time"]),  # type: ignore[arg-type]
            ]
            for row in stats(run)
        ],
    )
    lines += ["", "## Episodes", ""]
    if plots:
        for plot in plots:
            lines.append(f"![{plot.stem}](plots/{plot.name})")
    else:
        lines.append("No episode worth a plot.")
    lines.append("")
    return "\n".join(lines)


def _rejected(counts: dict[str, int]) -> str:
    if not counts:
        return "none"
    return ", ".join(f"{reason} {n:,}" for reason, n in sorted(counts.items()))


def _forecasts(r: Report) -> list[str]:
    """Each time-to-crest rule of both configs: lead times and false alarms."""
    lines = ["## Forecasts side by side", ""]
    for f in r.forecasts:
        this, other = f.methods
        lines += [
            f"`{f.rule}`: `{this}` (this config) against `{this if this == other else other}` "
            f"(`{r.other_config}`). False alarms (orange or red, no event): "
            f"**{f.false_alarms[0]}** → **{f.false_alarms[1]}**.",
            "",
            *_table(
                [
                    "event",
                    "station",
                    f"orange lead ({this})",
                    f"orange lead ({other})",
                    f"red lead ({this})",
                    f"red lead ({other})",
                ],
                [
                    [
                        format_ts(row.event.at),
                        row.event.station,
                        _duration(row.lead[Severity.ORANGE][0]),
                        _duration(row.lead[Severity.ORANGE][1]),
                        _duration(row.lead[Severity.RED][0]),
                        _duration(row.lead[Severity.RED][1]),
                    ]
                    for row in f.events
                ],
            ),
            "",
        ]
    return lines


def _comparison(r: Report) -> list[str]:
    c = r.comparison
    assert c is not None
    lines = [
        "## What the change does",
        "",
        f"Compared with `{r.other_config}`: **{len(c.added)}** transitions added, "
        f"**{len(c.removed)}** removed; hits {c.hits[0]} → {c.hits[1]}; "
        f"false alarms {c.false_alarms[0]} → {c.false_alarms[1]}.",
        "",
    ]
    rows = [
        ["added", format_ts(e.ts), e.station, e.rule, e.severity.value, e.transition.value]
        for e in c.added
    ] + [
        ["removed", format_ts(e.ts), e.station, e.rule, e.severity.value, e.transition.value]
        for e in c.removed
    ]
    rows.sort(key=lambda row: (row[1], row[2], row[3]))
    if rows:
        lines += [*_table(["", "time", "station", "rule", "severity", "transition"], rows), ""]
    if c.lead:
        lines += [
            *_table(
                ["event", "station", "severity", "lead before", "lead after", "change"],
                [
                    [
                        format_ts(ev.at),
                        ev.station,
                        sev.value,
                        _duration(a),
                        _duration(b),
                        _duration((b or timedelta(0)) - (a or timedelta(0))),
                    ]
                    for ev, sev, a, b in c.lead
                ],
            ),
            "",
        ]
    return lines


# -- plots ----------------------------------------------------------------------


def _worth(r: Report) -> list[Episode]:
    floor = (r.events.min_severity if r.events else Severity.YELLOW).rank
    episodes = [ep for ep in r.run.episodes() if ep.top.rank >= floor]
    episodes.sort(key=lambda ep: (-ep.top.rank, ep.start))
    return sorted(episodes[:MAX_PLOTS], key=lambda ep: ep.start)


def _plots(r: Report, out: Path) -> list[Path]:
    episodes = _worth(r)
    if not episodes:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    until = r.run.last or FAR
    for ep in episodes:
        wanted[ep.station].append((ep.start - MARGIN, (ep.end or until) + MARGIN))
    series = _collect(r.history, wanted, r.local)
    files = []
    for n, ep in enumerate(episodes, 1):
        t0, t1 = ep.start - MARGIN, (ep.end or until) + MARGIN
        kinds = sorted(k for (station, k) in series if station == ep.station)
        fig, axes = plt.subplots(len(kinds) or 1, 1, figsize=(10, 2.8 * max(1, len(kinds))))
        axes = list(axes) if len(kinds) > 1 else [axes]
        for ax, kind in zip(axes, kinds, strict=False):
            points = [(t, v) for t, v in series[(ep.station, kind)] if t0 <= t <= t1]
            if points:
                ax.plot([t for t, _ in points], [v for _, v in points], color="black", lw=1)
            ax.set_ylabel(kind)
            _threshold_lines(ax, r.compiled, ep.station, kind, t0)
            _bands(ax, r.run.alerts, ep.station, t0, t1)
            ax.set_xlim(t0, t1)
            ax.grid(alpha=0.3)
        axes[0].set_title(
            f"{ep.station} — {ep.rule} ({ep.top.value}), {format_ts(ep.start)}", fontsize=10
        )
        fig.autofmt_xdate()
        fig.tight_layout()
        path = out / f"{n:02d}-{ep.station}-{ep.rule.replace('/', '_')}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        files.append(path)
    return files


def _collect(
    history: Path,
    wanted: dict[str, list[tuple[datetime, datetime]]],
    local: LocalTime | None = None,
) -> dict[tuple[str, str], list[tuple[datetime, float]]]:
    """The readings of the wanted stations within their windows (a second pass)."""
    out: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    for chunk in read_history(history, local):
        for reading in chunk.readings:
            spans = wanted.get(reading.station)
            if reading.ts.tzinfo is None or not spans:
                continue  # a naive time the engine refused too
            if any(a <= reading.ts <= b for a, b in spans):
                out[(reading.station, reading.kind)].append((reading.ts, reading.value))
    for points in out.values():
        points.sort()
    return out


def _threshold_lines(
    ax: object, compiled: CompiledConfig, station: str, kind: str, at: datetime
) -> None:
    for binding in compiled.bindings:
        if binding.station.id != station or getattr(binding.rule, "kind", None) != "level":
            continue
        if kind != "level":
            continue
        for level in binding.levels:
            value = level.enter.at(ts_to_ms(at))
            ax.axhline(  # type: ignore[attr-defined]
                value, color=COLOURS[level.severity], lw=1, ls="--", label=level.severity.value
            )


def _bands(ax: object, alerts: list[AlertEvent], station: str, t0: datetime, t1: datetime) -> None:
    """Shade the time the station's highest alert was at each severity."""
    current: dict[str, Severity] = {}
    changes: list[tuple[datetime, Severity | None]] = []
    for e in alerts:
        if e.station != station:
            continue
        if e.transition.value == "resolved":
            current.pop(e.id, None)
        else:
            current[e.id] = e.severity
        top = max(current.values(), key=lambda s: s.rank, default=None)
        changes.append((e.ts, top))
    for (start, severity), (end, _) in zip(changes, [*changes[1:], (t1, None)], strict=True):
        if severity is None or end < t0 or start > t1:
            continue
        ax.axvspan(max(start, t0), min(end, t1), color=COLOURS[severity], alpha=0.18, lw=0)  # type: ignore[attr-defined]


# -- HTML -------------------------------------------------------------------------


def _html(md: str, r: Report, plots: list[Path], out: Path) -> str:
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
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:.25em .6em;text-align:left}th{background:#f3f3f3}img{max-width:100%;"
        "display:block;margin:1em 0}p.item{margin:.2em 0}code{background:#f3f3f3}"
    )
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(r.title)}"
        f"</title><style>{style}</style><body>{''.join(body)}</body></html>\n"
    )


def _inline(text: str) -> str:
    out = html.escape(text.replace("\\|", "|"))
    parts = out.split("**")
    out = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
    parts = out.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
