"""Episode plots of the backtest report (PNG, matplotlib, no display needed).

One plot per alert episode worth a look (reaching the events' `min_severity`,
else yellow; the 40 most severe): the station's series from 6 h before the
episode to 6 h after, in the service's time zone, each value axis with its
unit; on a level axis the station's characteristic levels — crest, spillway
crest, the flood-limit level of the season at the episode's start, warning
and guaranteed levels — and the level rules' warning lines, each labelled;
the alert bands in the warning colours; each event in the window marked with
a vertical line and its description. With `--compare`, the other config's
alert bands are drawn under the plot's time axis in a strip of their own, so
both configs' alerts are read against the same series.

Chinese labels need a CJK font: `cjk_font()` finds Noto Sans CJK (Debian
`fonts-noto-cjk`) and selects it; without one the labels are English.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.backtest import extra
from floodwatch.backtest.analysis import FAR, Episode, Event
from floodwatch.backtest.history import read_history
from floodwatch.backtest.words import Words
from floodwatch.config.values import Expr
from floodwatch.readings import UNITS, ts_to_ms
from floodwatch.replay.localtime import LocalTime
from floodwatch.rules.compile import CompiledConfig, resolve

COLOURS = {
    Severity.INFO: "#9e9e9e",
    Severity.BLUE: "#1f6fd1",
    Severity.YELLOW: "#e6b800",
    Severity.ORANGE: "#f28c00",
    Severity.RED: "#d62020",
}
MARGIN = timedelta(hours=6)
MAX_PLOTS = 40
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC")
CJK_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf")
# station level attribute → (zh, en, line style)
LEVELS = (
    ("crest", "坝顶", "crest", "-"),
    ("spillway_crest", "溢洪道堰顶", "spillway crest", "-."),
    ("flood_limit", "汛限水位", "flood-limit level", ":"),
    ("warning", "警戒水位", "warning level", ":"),
    ("guarantee", "保证水位", "guaranteed level", ":"),
)
KIND_ZH = {"level": "水位", "rain": "雨量", "flow": "流量"}


@functools.cache
def cjk_font() -> str | None:
    """The family of a CJK font matplotlib can use (registered if needed), or None."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    for path in font_manager.findSystemFonts():  # .ttf, .otf and .ttc
        if Path(path).name in CJK_FILES:
            font_manager.fontManager.addfont(path)
            known = {f.name for f in font_manager.fontManager.ttflist}
            for family in CJK_FAMILIES:
                if family in known:
                    return family
    return None


def worth(episodes: list[Episode], floor: Severity) -> list[Episode]:
    chosen = [ep for ep in episodes if ep.top.rank >= floor.rank]
    chosen.sort(key=lambda ep: (-ep.top.rank, ep.start))
    return sorted(chosen[:MAX_PLOTS], key=lambda ep: ep.start)


def write_plots(  # noqa: PLR0913 — the inputs of the episode plots
    episodes: list[Episode],
    alerts: list[AlertEvent],
    other_alerts: list[AlertEvent] | None,
    compiled: CompiledConfig,
    history: Path,
    local: LocalTime | None,
    events: list[Event],
    words: Words,
    out: Path,
    last: datetime | None,
) -> list[Path]:
    """One PNG per episode in `out`; the files, in episode order."""
    if not episodes:
        return []
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise extra.missing(*extra.PLOTS) from exc

    family = cjk_font()
    if family is None and words.lang != "en":
        words = Words("en", words.compiled)  # no CJK font: boxes are worse than English
    out.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    until = last or FAR
    for ep in episodes:
        wanted[ep.station].append((ep.start - MARGIN, (ep.end or until) + MARGIN))
    series = _collect(history, wanted, local)
    files = []
    with matplotlib.rc_context():
        if family is not None:
            matplotlib.rcParams["font.family"] = ["sans-serif"]
            matplotlib.rcParams["font.sans-serif"] = [family, "DejaVu Sans"]
        for n, ep in enumerate(episodes, 1):
            t0, t1 = ep.start - MARGIN, (ep.end or until) + MARGIN
            kinds = sorted(k for (station, k) in series if station == ep.station) or ["level"]
            rows = len(kinds) + (1 if other_alerts is not None else 0)
            ratios = [3] * len(kinds) + ([0.6] if other_alerts is not None else [])
            fig, axes = plt.subplots(
                rows,
                1,
                figsize=(11, 3.0 * len(kinds) + 1.2),
                sharex=True,
                squeeze=False,
                gridspec_kw={"height_ratios": ratios},
            )
            column = [a[0] for a in axes]
            for ax, kind in zip(column, kinds, strict=False):
                points = [(t, v) for t, v in series.get((ep.station, kind), []) if t0 <= t <= t1]
                if points:
                    ax.plot([t for t, _ in points], [v for _, v in points], color="black", lw=1)
                unit = UNITS.get(kind, "")
                ax.set_ylabel(f"{words.pick(KIND_ZH.get(kind, kind), kind)} ({unit})")
                if kind == "level":
                    _level_lines(ax, compiled, ep.station, t0, words)
                _bands(ax, alerts, ep.station, t0, t1)
                _events(ax, events, ep.station, compiled, t0, t1, words)
                ax.set_xlim(t0, t1)
                ax.grid(alpha=0.3)
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
            if other_alerts is not None:
                strip = column[-1]
                _bands(strip, other_alerts, ep.station, t0, t1, alpha=0.5)
                strip.set_yticks([])
                strip.set_ylabel(
                    words.pick("对比配置的预警", "the other config's alerts"),
                    rotation=0,
                    ha="right",
                    va="center",
                )
            column[0].set_title(
                f"{words.station(ep.station)} — {words.rule(ep.rule)}\n"
                f"{words.severity(ep.top)}, {words.when(ep.start)}",
                fontsize=10,
                loc="left",
            )
            zone = compiled.zone
            column[-1].xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M", tz=zone))  # type: ignore[no-untyped-call]
            column[-1].set_xlabel(f"{words('time')} ({zone.key})")
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


def _level_lines(
    ax: Any, compiled: CompiledConfig, station: str, at: datetime, words: Words
) -> None:
    """Characteristic levels (the season's flood limit) and level rules' warning lines."""
    info = compiled.stations.get(station)
    if info is None:
        return
    ms = ts_to_ms(at)
    for attribute, zh, en, ls in LEVELS:
        threshold = resolve(Expr(attribute, 0.0), info, compiled.zone)
        if threshold is None:
            continue
        value = threshold.at(ms)
        ax.axhline(value, color="#555555", lw=1.1, ls=ls, label=f"{words.pick(zh, en)} {value:g}")
    for binding in compiled.bindings:
        if binding.station.id != station or getattr(binding.rule, "kind", None) != "level":
            continue
        for level in binding.levels:
            value = level.enter.at(ms)
            ax.axhline(
                value,
                color=COLOURS[level.severity],
                lw=1,
                ls="--",
                label=f"{words.severity(level.severity)} {value:g}",
            )


def _events(
    ax: Any,
    events: list[Event],
    station: str,
    compiled: CompiledConfig,
    t0: datetime,
    t1: datetime,
    words: Words,
) -> None:
    for ev in events:
        if station in _links(compiled, ev.station) and t0 <= ev.at <= t1:
            ax.axvline(ev.at, color="black", lw=1.4, ls="-")
            ax.annotate(
                f"{words('event')}: {ev.what}",
                (ev.at, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -10),
                textcoords="offset points",
                fontsize=8,
            )


def _links(compiled: CompiledConfig, station: str) -> set[str]:
    info = compiled.stations.get(station)
    return {station, *info.model.links.values()} if info is not None else {station}


def _bands(
    ax: Any,
    alerts: list[AlertEvent],
    station: str,
    t0: datetime,
    t1: datetime,
    alpha: float = 0.18,
) -> None:
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
        ax.axvspan(max(start, t0), min(end, t1), color=COLOURS[severity], alpha=alpha, lw=0)
