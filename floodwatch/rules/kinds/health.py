"""Sensor health: quality gating of readings, and maintenance notices (info).

Gating applies whenever a station declares limits: a reading out of range, or
one that jumps further than `max_step` per interval from the last good reading
(a spike), or a value stuck for too long, is bad — it never raises a flood
alert and never clears one. When a sensor_health rule covers the station, each
problem is also an `info` alert for maintenance (stale, stuck, out_of_range,
spike). A silent gauge is stale; stale is not safe, so flood alerts stay.
"""

from __future__ import annotations

from dataclasses import dataclass

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import Measure
from floodwatch.alerts.state import Severity
from floodwatch.rules.base import AlertTracker
from floodwatch.rules.store import Column

CHECKS = ("stale", "stuck", "out_of_range", "spike")
BACK = {  # what the all-clear of each check says
    "stale": ("已恢复上报", "reports again"),
    "stuck": ("读数已恢复变化", "readings change again"),
    "out_of_range": ("读数已回到量程以内", "reads within its range again"),
    "spike": ("读数已恢复平稳", "reads steadily again"),
}
GOOD_QUALITY = (None, "good", "ok", "G")


@dataclass(frozen=True)
class Limits:
    min: float | None
    max: float | None
    max_step: float | None


class Health:
    """Quality gate (and, with trackers, maintenance alerts) for one series."""

    __slots__ = ("_cols", "_i", "interval_ms", "limits", "measure", "stuck_ms", "trackers")

    last_good_ts: Column[int] = Column("h_last_good_ts")
    last_good: Column[float] = Column("h_last_good")
    last_value: Column[float] = Column("h_last_value")  # NaN before the first reading
    same_since: Column[int] = Column("h_same_since")

    def __init__(
        self,
        limits: Limits,
        interval_ms: int,
        measure: Measure,
        stuck_ms: int | None = None,
        trackers: dict[str, AlertTracker] | None = None,
    ) -> None:
        self.limits = limits
        self.interval_ms = interval_ms
        self.measure = measure
        self.stuck_ms = stuck_ms
        self.trackers = trackers or {}

    def check(self, ts: int, value: float, quality: str | None, out: list[AlertEvent]) -> bool:
        """Is this reading good enough for flood rules? Emits maintenance alerts."""
        if quality not in GOOD_QUALITY:
            return False
        good = True
        lim = self.limits
        m = self.measure
        if (lim.min is not None and value < lim.min) or (lim.max is not None and value > lim.max):
            good = False
            low = "" if lim.min is None else f"{lim.min:g}"
            high = "" if lim.max is None else f"{lim.max:g}"
            self._set(
                "out_of_range",
                ts,
                True,
                out,
                value,
                (
                    f"读数{m.fmt_zh(value)}，超出量程{low}～{high}{m.unit_zh}，该读数不参与预警判断",
                    f"reads {m.fmt_en(value)}, outside its range {low} to {high} {m.unit_en}. "
                    "The reading is not used for warnings",
                ),
            )
        else:
            self._set("out_of_range", ts, False, out, value)
            if lim.max_step is not None and self.last_good_ts >= 0:
                elapsed = max(1.0, (ts - self.last_good_ts) / self.interval_ms)
                step = value - self.last_good
                if abs(step) > lim.max_step * elapsed:
                    good = False
                    self._set(
                        "spike",
                        ts,
                        True,
                        out,
                        value,
                        (
                            f"读数突变{m.fmt_zh(step)}，上次可信值{m.fmt_zh(self.last_good)}，"
                            "该读数不参与预警判断",
                            f"jumped by {m.fmt_en(step)} from the last good reading of "
                            f"{m.fmt_en(self.last_good)}. The reading is not used for warnings",
                        ),
                    )
                else:
                    self._set("spike", ts, False, out, value)
        if self.stuck_ms is not None:
            if value != self.last_value:
                self.same_since = ts
                self._set("stuck", ts, False, out, value)
            elif ts - self.same_since >= self.stuck_ms:
                good = False
                minutes = (ts - self.same_since) // 60_000
                self._set(
                    "stuck",
                    ts,
                    True,
                    out,
                    value,
                    (
                        f"读数{m.fmt_zh(value)}已{minutes}分钟未变化，暂不参与预警判断",
                        f"has been stuck at {m.fmt_en(value)} for {minutes} min. "
                        "Its readings are not used for warnings meanwhile",
                    ),
                )
        self.last_value = value
        if good:
            self.last_good_ts = ts
            self.last_good = value
        return good

    def on_stale(self, ts: int, last_ts: int, out: list[AlertEvent]) -> None:
        minutes = (ts - last_ts) // 60_000
        self._set(
            "stale",
            ts,
            True,
            out,
            None,
            (
                f"已{minutes}分钟无数据上报，失联期间已有预警保持不变",
                f"has sent no report for {minutes} min. Warnings in force stay in force meanwhile",
            ),
        )

    def on_alive(self, ts: int, out: list[AlertEvent]) -> None:
        self._set("stale", ts, False, out, None)

    def _set(
        self,
        check: str,
        ts: int,
        on: bool,
        out: list[AlertEvent],
        value: float | None,
        what: tuple[str, str] = ("", ""),
    ) -> None:
        tracker = self.trackers.get(check)
        if tracker is None or (tracker.severity is not None) == on:
            return
        event = tracker.change(
            ts,
            Severity.INFO if on else None,
            value=value,
            threshold=None,
            what=what if on else BACK[check],
            details={"check": check},
        )
        if event is not None:
            out.append(event)

    def active(self) -> dict[str, bool]:
        return {check: t.severity is not None for check, t in self.trackers.items()}
