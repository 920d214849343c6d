"""Sensor health: quality gating of readings, and maintenance notices (info).

Gating applies whenever a station declares limits: a reading out of range, or
one that jumps further than `max_step` per interval from the last good reading
(a spike), or a value stuck for too long, is bad — it never raises a flood
alert and never clears one. So is a reading whose source says the gauge is
faulty (quality `gauge_fault`: an SL 651 RTU's status word). When a
sensor_health rule covers the station, each problem is also an `info` alert
for maintenance (stale, stuck, out_of_range, spike, gauge_fault), and so is a
reading the RTU reports over its own alarm limit (quality `over_limit`: used
for warnings as usual; cleared by the next reading without it). A silent
gauge is stale; stale is not safe, so flood alerts stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from floodwatch.alerts import sensor_text as text
from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import MEASURES, Measure
from floodwatch.alerts.state import Severity
from floodwatch.config.models import RuleBase
from floodwatch.config.values import Duration
from floodwatch.readings import Kind
from floodwatch.rules.base import AlertTracker
from floodwatch.rules.compile import Binding, CompiledConfig, StationInfo, ms
from floodwatch.rules.context import context
from floodwatch.rules.kind import BindContext, SeriesKey
from floodwatch.rules.store import Column

if TYPE_CHECKING:
    from floodwatch.rules.build import Series

# -- its config model (given to the loader: config/config_types.py) ---------------


class SensorHealthRule(RuleBase):
    """Maintenance notices (severity info): stale, stuck, out of range, spike."""

    kind: Literal["sensor_health"]
    stale_after: float = Field(
        3, gt=0, description="intervals without a report before a gauge counts as silent"
    )
    stuck_for: Duration | None = Field(
        None, description="identical values for this long count as stuck"
    )
    stuck_kinds: list[Kind] = Field(
        default_factory=lambda: list[Kind](["level"]),
        description="kinds checked for stuck values (rain and culvert flow are often 0 for hours)",
    )


CHECKS = ("stale", "stuck", "out_of_range", "spike", "gauge_fault", "over_limit")
GOOD_QUALITY = (None, "good", "ok", "G", "manual")
# Qualities a source sets from the gauge's own status (SL 651's status word):
# a faulty gauge's reading is held back; one over the RTU's alarm limit is used.
GAUGE_FAULT = "gauge_fault"
OVER_LIMIT = "over_limit"
USABLE = (*GOOD_QUALITY, OVER_LIMIT)


@dataclass(frozen=True)
class Limits:
    min: float | None
    max: float | None
    max_step: float | None


class Health:
    """Quality gate (and, given `track`, maintenance alerts) for one series.

    A check's alert tracker is made the first time the check fails (or a
    snapshot or reload hands it a state): most gauges never raise most checks,
    and six idle trackers per series were most of the engine's memory beyond
    its buffers (docs/performance.md). `trackers` holds the ones made."""

    __slots__ = (
        "_cols",
        "_i",
        "interval_ms",
        "limits",
        "measure",
        "stuck_ms",
        "track",
        "trackers",
    )

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
        track: Callable[[str], AlertTracker] | None = None,
    ) -> None:
        self.limits = limits
        self.interval_ms = interval_ms
        self.measure = measure
        self.stuck_ms = stuck_ms
        self.track = track
        self.trackers: dict[str, AlertTracker] = {}

    def tracker(self, check: str) -> AlertTracker | None:
        """The alert tracker of `check` (one of CHECKS), made on first use;
        None when this series raises no maintenance alerts."""
        tracker = self.trackers.get(check)
        if tracker is None and self.track is not None:
            tracker = self.trackers[check] = self.track(check)
        return tracker

    def check(self, ts: int, value: float, quality: str | None, out: list[AlertEvent]) -> bool:
        """Is this reading good enough for flood rules? Emits maintenance alerts."""
        if quality == GAUGE_FAULT:
            self._set(GAUGE_FAULT, ts, True, out, value, text.gauge_fault())
            return False
        if quality not in USABLE:
            return False
        self._set(GAUGE_FAULT, ts, False, out, value)
        over = quality == OVER_LIMIT
        what = text.over_limit(self.measure, value) if over else ("", "")
        self._set(OVER_LIMIT, ts, over, out, value, what)
        good = True
        lim = self.limits
        m = self.measure
        if (lim.min is not None and value < lim.min) or (lim.max is not None and value > lim.max):
            good = False
            self._set(
                "out_of_range", ts, True, out, value, text.out_of_range(m, value, lim.min, lim.max)
            )
        else:
            self._set("out_of_range", ts, False, out, value)
            if lim.max_step is not None and self.last_good_ts >= 0:
                elapsed = max(1.0, (ts - self.last_good_ts) / self.interval_ms)
                step = value - self.last_good
                if abs(step) > lim.max_step * elapsed:
                    good = False
                    self._set("spike", ts, True, out, value, text.spike(m, step, self.last_good))
                else:
                    self._set("spike", ts, False, out, value)
        if self.stuck_ms is not None:
            if value != self.last_value:
                self.same_since = ts
                self._set("stuck", ts, False, out, value)
            elif ts - self.same_since >= self.stuck_ms:
                good = False
                minutes = (ts - self.same_since) // 60_000
                self._set("stuck", ts, True, out, value, text.stuck(m, value, minutes))
        self.last_value = value
        if good:
            self.last_good_ts = ts
            self.last_good = value
        return good

    def on_stale(self, ts: int, last_ts: int, out: list[AlertEvent]) -> None:
        minutes = (ts - last_ts) // 60_000
        self._set("stale", ts, True, out, None, text.stale(minutes))

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
        tracker = self.trackers.get(check) if not on else self.tracker(check)
        if tracker is None or (tracker.severity is not None) == on:
            return
        event = tracker.change(
            ts,
            Severity.INFO if on else None,
            value=value,
            threshold=None,
            what=what if on else text.BACK[check],
            details={"check": check},
        )
        if event is not None:
            out.append(event)

    def active(self) -> dict[str, bool]:
        return {check: t.severity is not None for check, t in self.trackers.items()}


def limits_of(kind: str, limits: Any) -> Limits:
    """A station's declared limits; rain can never be negative."""
    low = limits.min if limits is not None else None
    if kind == "rain":
        low = 0.0 if low is None else max(0.0, low)
    return Limits(
        low,
        limits.max if limits is not None else None,
        limits.max_step if limits is not None else None,
    )


class SensorHealthKind:
    """Not a rule instance: it fits each series of its station with a `Health`
    carrying info trackers, and sets the stale time."""

    name = "sensor_health"
    model = SensorHealthRule

    def reads(self, rule: SensorHealthRule) -> None:
        return None

    def bind(
        self, rule: SensorHealthRule, index: int, info: StationInfo, ctx: BindContext
    ) -> Binding:
        return Binding(index, rule, info)

    def history(self, binding: Binding) -> Iterator[tuple[SeriesKey, int]]:
        return iter(())

    def linked(self, binding: Binding) -> set[str]:
        return set()

    def attach(
        self, compiled: CompiledConfig, binding: Binding, series: dict[SeriesKey, Series]
    ) -> None:
        rule = binding.rule
        assert isinstance(rule, SensorHealthRule)
        _attach(compiled, binding, rule, series)


SENSOR_HEALTH = SensorHealthKind()


def _attach(
    compiled: CompiledConfig,
    binding: Binding,
    rule: SensorHealthRule,
    series: dict[SeriesKey, Series],
) -> None:
    info = binding.station
    for kind in info.model.kinds:
        target = series[(info.id, kind)]
        limits = info.model.limits.get(kind)
        stuck = ms(rule.stuck_for) if rule.stuck_for and kind in rule.stuck_kinds else None
        target.health = Health(
            limits_of(kind, limits),
            info.interval_ms,
            MEASURES[kind],
            stuck,
            partial(_tracker, compiled, binding, kind),
        )
        target.stale_ms = int(rule.stale_after * info.interval_ms)


def _tracker(compiled: CompiledConfig, binding: Binding, kind: str, check: str) -> AlertTracker:
    return AlertTracker(context(compiled, binding, kind, f"/{check}", (Severity.INFO,)))
