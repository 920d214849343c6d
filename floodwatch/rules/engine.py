"""The engine: readings in, alert events out. Pure: no I/O, no wall clock.

Time is event time. Readings are admitted into a reorder buffer and released
to the rules in (time, station, kind) order once the watermark — the engine
clock minus the allowed lateness — has passed them, so any arrival order
within the allowed lateness, and any duplicates, give the same alerts. The
clock moves with the readings and with explicit `advance(now)` ticks, which is
also what lets a silent gauge be noticed.

Guarantees:
- `process` and `advance` return every alert event their input caused, in
  event-time order; nothing is emitted for a reading that was rejected.
- Rejected readings (unknown station, not finite, too late, too far in the
  future, duplicate) come back with a reason; they never reach the rules.
- `flush` releases everything still buffered (end of a replay).
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.readings import Reading, Rejected, RejectReason, format_ts, ms_to_dt
from floodwatch.rules.build import Series, build_series
from floodwatch.rules.compile import CompiledConfig
from floodwatch.rules.kinds.health import GOOD_QUALITY

# (ts ms, series order, value, arrival seq, quality, series)
_Item = tuple[int, int, float, int, str | None, Series]


@dataclass
class EngineOutput:
    alerts: list[AlertEvent] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def extend(self, other: EngineOutput) -> None:
        self.alerts.extend(other.alerts)
        self.rejected.extend(other.rejected)


@dataclass(frozen=True)
class ActiveAlert:
    id: str
    rule: str
    station: str
    severity: Severity
    since: datetime


class Engine:
    def __init__(self, compiled: CompiledConfig) -> None:
        self.compiled = compiled
        self._series = build_series(compiled)
        self._lateness = compiled.lateness_ms
        self._max_future = compiled.max_future_ms
        self._buffer: list[_Item] = []
        self._buffer_min = math.inf
        self._clock: int | None = None
        self._released_before = -(2**62)  # everything below this has gone to the rules
        self._seq = 0
        self._heap: list[tuple[int, int, Series]] = []
        self.readings_evaluated = 0

    # -- public API ---------------------------------------------------------------

    @property
    def clock(self) -> datetime | None:
        """The engine's event-time clock (latest reading time or tick)."""
        return None if self._clock is None else ms_to_dt(self._clock)

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def process(self, readings: Iterable[Reading]) -> EngineOutput:
        """Admit readings (any order) and evaluate whatever the watermark releases."""
        out = EngineOutput()
        for r in readings:
            ts = r.ts
            if ts.tzinfo is None:
                out.rejected.append(
                    Rejected(RejectReason.NAIVE_TIME, "timestamp has no time zone", r)
                )
                continue
            self._admit(r.station, r.kind, r.value, int(ts.timestamp() * 1000), r.quality, out, r)
        self._release(out)
        return out

    def process_rows(self, rows: Iterable[tuple[str, str, float, int, str | None]]) -> EngineOutput:
        """As `process`, for rows (station, kind, value, ts epoch ms, quality)."""
        out = EngineOutput()
        admit = self._admit
        for station, kind, value, ts, quality in rows:
            admit(station, kind, value, ts, quality, out, None)
        self._release(out)
        return out

    def advance(self, now: datetime) -> EngineOutput:
        """Move the clock to `now` (a tick); releases readings and fires stale checks."""
        out = EngineOutput()
        ts = int(now.timestamp() * 1000)
        self._tick(ts)
        self._release(out)
        return out

    def flush(self) -> EngineOutput:
        """Release every buffered reading now (end of input). Stale checks run up to
        the last reading's time, not beyond."""
        out = EngineOutput()
        if self._buffer:
            self._evaluate(self._take(math.inf), out)
        return out

    def active_alerts(self) -> list[ActiveAlert]:
        """Every alert that is currently firing, most severe first."""
        found: dict[str, ActiveAlert] = {}
        for s in self._series.values():
            trackers = [r.tracker for r in (*s.rules, *s.dependents)]  # type: ignore[attr-defined]
            if s.health is not None:
                trackers.extend(s.health.trackers.values())
            for t in trackers:
                if t.severity is not None and t.episode is not None:
                    found[t.episode] = ActiveAlert(
                        t.episode,
                        t.ctx.rule,
                        t.ctx.station,
                        t.severity,
                        ms_to_dt(t.episode_start),
                    )
        return sorted(found.values(), key=lambda a: (-a.severity.rank, a.since, a.id))

    # -- admission ----------------------------------------------------------------

    def _admit(
        self,
        station: str,
        kind: str,
        value: float,
        ts: int,
        quality: str | None,
        out: EngineOutput,
        reading: Reading | None,
    ) -> None:
        series = self._series.get((station, kind))
        problem = self._problem(series, station, kind, value, ts)
        if problem is not None:
            row = reading or _row(station, kind, value, ts, quality)
            out.rejected.append(Rejected(problem[0], problem[1], row))
            return
        assert series is not None
        self._seq += 1
        self._buffer.append((ts, series.order, value, self._seq, quality, series))
        self._buffer_min = min(self._buffer_min, ts)
        if self._clock is None or ts > self._clock:
            self._tick(ts)

    def _problem(
        self, series: Series | None, station: str, kind: str, value: float, ts: int
    ) -> tuple[RejectReason, str] | None:
        """Why a reading cannot be admitted, or None when it can."""
        if not math.isfinite(value):
            return RejectReason.NOT_FINITE, f"value {value!r} is not a finite number"
        if series is None:
            kinds = sorted(k for s, k in self._series if s == station)
            if not kinds:
                return RejectReason.UNKNOWN_STATION, f"no station {station!r} in config"
            return (
                RejectReason.UNEXPECTED_KIND,
                f"station {station!r} reports {', '.join(kinds)}, not {kind!r}",
            )
        if ts < self._released_before:
            reason = RejectReason.DUPLICATE if ts == series.last_ts else RejectReason.TOO_LATE
            return reason, (
                f"event time {format_ts(ts)} is behind the watermark "
                f"{format_ts(self._released_before)} (allowed lateness "
                f"{self._lateness // 1000}s)"
            )
        clock = self._clock
        if clock is not None and ts > clock + self._max_future:
            return RejectReason.TOO_EARLY, (
                f"event time {format_ts(ts)} is more than {self._max_future // 1000}s "
                f"ahead of the clock {format_ts(clock)}"
            )
        return None

    def _tick(self, ts: int) -> None:
        if self._clock is None:
            self._start(ts)
        if self._clock is None or ts > self._clock:
            self._clock = ts

    def _start(self, ts: int) -> None:
        """First sign of time: every watched series is expected to report from now on."""
        for s in self._series.values():
            if s.stale_ms:
                heapq.heappush(self._heap, (ts + s.stale_ms, s.order, s))
                s.in_heap = True
                s.expected_from = ts

    # -- release and evaluation ---------------------------------------------------

    def _release(self, out: EngineOutput) -> None:
        if self._clock is None:
            return
        watermark = self._clock - self._lateness
        if watermark <= self._released_before:
            return
        if self._buffer_min < watermark:
            self._evaluate(self._take(watermark), out)
        self._released_before = watermark
        self._fire_stale(watermark, out)

    def _take(self, before: float) -> list[_Item]:
        buffer = self._buffer
        buffer.sort()
        if before == math.inf:
            cut = len(buffer)
        else:
            cut = bisect.bisect_left(buffer, before, key=lambda item: item[0])
        taken = buffer[:cut]
        self._buffer = buffer[cut:]
        self._buffer_min = self._buffer[0][0] if self._buffer else math.inf
        if taken:
            self._released_before = max(self._released_before, taken[-1][0] + 1)
        return taken

    def _fire_stale(self, before: int, out: EngineOutput) -> None:
        heap = self._heap
        while heap and heap[0][0] < before:
            deadline, order, s = heapq.heappop(heap)
            last = s.last_ts if s.last_ts >= 0 else s.expected_from
            due = last + s.stale_ms
            if due > deadline:
                heapq.heappush(heap, (due, order, s))
                continue
            s.in_heap = False
            s.stale = True
            if s.health is not None:
                s.health.on_stale(deadline, last, out.alerts)

    def _evaluate(self, items: list[_Item], out: EngineOutput) -> None:
        alerts = out.alerts
        heap = self._heap
        evaluated = 0
        for ts, _order, value, _seq, quality, s in items:
            if ts == s.last_ts:
                if value != s.last_raw:
                    out.rejected.append(
                        Rejected(
                            RejectReason.CONFLICTING_DUPLICATE,
                            f"another value for {s.station.id}/{s.kind} at {format_ts(ts)} "
                            "was kept",
                            _row(s.station.id, s.kind, value, ts, quality),
                        )
                    )
                continue
            if heap and heap[0][0] < ts:
                self._fire_stale(ts, out)
            s.last_ts = ts
            s.last_raw = value
            evaluated += 1
            health = s.health
            if health is not None:
                if s.stale:
                    s.stale = False
                    health.on_alive(ts, alerts)
                if s.stale_ms and not s.in_heap:
                    heapq.heappush(heap, (ts + s.stale_ms, s.order, s))
                    s.in_heap = True
                if not health.check(ts, value, quality, alerts):
                    continue
            elif quality not in GOOD_QUALITY:
                continue
            ring = s.ring
            if ring is not None:
                ring.append(ts, value)
                for probe in s.probes:
                    probe.update(ts, value)
            last = s.last
            last.ts = ts
            last.value = value
            for rule in s.rules:
                rule.on_reading(ts, value, alerts)
            for rule in s.dependents:
                rule.on_reading(ts, value, alerts)
        self.readings_evaluated += evaluated


def _row(station: str, kind: str, value: float, ts: int, quality: str | None) -> Reading:
    return Reading(station, kind, value, ms_to_dt(ts), quality)  # type: ignore[arg-type]
