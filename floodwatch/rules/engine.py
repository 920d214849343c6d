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
- At the end of each instant (event time) that raised an alert event, the
  output also holds the figures of every active alert as of that instant
  (`EngineOutput.figures`): what its rule measures now (`Figure`), so an
  incident notice tells the current level, rise and rain, not the values of
  each alert's last transition.

Speed: admission is vectorised over the batch (numpy columns), and a released
batch first goes through the fast path (`rules.fast`), which proves most series
quiet and advances them in bulk; only the rest are evaluated reading by
reading. Both paths share one state store (`rules.store`) and give identical
output — `Engine(compiled, fast=False)` runs everything the exact way, and a
property test compares the two.

Why one module over 400 lines: admission, the reorder buffer, release, the exact
per-reading path and the hand-off to the fast path share the engine's clock,
buffer and state store, and the ordering guarantees above are properties of all
of them together. The rule kinds, windows, fast path, state store, snapshot and
reload are modules of their own.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from operator import attrgetter, eq
from typing import Any

import numpy as np

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.readings import (
    KINDS,
    Reading,
    Rejected,
    RejectReason,
    format_ts,
    ms_to_dt,
    ts_to_ms,
)
from floodwatch.rules.base import Figure
from floodwatch.rules.build import Series, build_series
from floodwatch.rules.clock import BEHIND_MS, RECENT_MS, ClockGuard, ClockNotices, ahead_detail
from floodwatch.rules.compile import CompiledConfig, ms
from floodwatch.rules.fast import Batch, FastPath
from floodwatch.rules.kinds.crest import CrestCore
from floodwatch.rules.kinds.health import GOOD_QUALITY, USABLE, Health
from floodwatch.rules.store import Store
from floodwatch.rules.windows import AccumProbe, RateProbe

_STATION = attrgetter("station")
_KIND = attrgetter("kind")
_KIND_CODE: dict[str, int] = {kind: code for code, kind in enumerate(KINDS)}
_VALUE = attrgetter("value")
_TS = attrgetter("ts")
_QUALITY = attrgetter("quality")
_NAIVE = np.iinfo(np.int64).min  # epoch ms of a timestamp without a time zone


# (event time ms of an instant, {alert id: what its rule measures then})
Figures = tuple[int, dict[str, Figure]]


@dataclass
class EngineOutput:
    alerts: list[AlertEvent] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    figures: list[Figures] = field(default_factory=list)  # in event-time order

    def extend(self, other: EngineOutput) -> None:
        self.alerts.extend(other.alerts)
        self.rejected.extend(other.rejected)
        self.figures.extend(other.figures)


@dataclass(frozen=True)
class ActiveAlert:
    id: str
    rule: str
    station: str
    severity: Severity
    since: datetime


@dataclass
class _Chunk:
    """Admitted readings waiting for the watermark, as columns."""

    s: np.ndarray  # series row
    t: np.ndarray  # event time ms
    v: np.ndarray
    seq: np.ndarray  # arrival order
    q: np.ndarray | None  # quality (object array), None when every reading had none


class Engine:
    def __init__(self, compiled: CompiledConfig, *, fast: bool = True) -> None:
        self.compiled = compiled
        self._series = build_series(compiled)
        self._rows = list(self._series.values())
        stations = sorted({station for station, _ in self._series})
        self._station_index = {station: i for i, station in enumerate(stations)}
        # Row of (station, kind); the last row and column answer -1 (unknown).
        self._row_table = np.full((len(stations) + 1, len(KINDS) + 1), -1, dtype=np.int64)
        for (station, kind), s in self._series.items():
            self._row_table[self._station_index[station], _KIND_CODE[kind]] = s.order
        self.store = Store(self._rows)
        self._fast = FastPath(self._rows, self.store) if fast else None
        self._neighbours = _neighbours(self._rows)
        self._lateness = compiled.lateness_ms
        self._skew = ms(compiled.config.engine.max_clock_skew)
        self._chunks: list[_Chunk] = []
        self._buffered = 0
        self._buffer_min = math.inf
        self._clock: int | None = None
        self._released_before = -(2**62)  # everything below this has gone to the rules
        self._seq = 0
        # Who may move the clock, and the wall clock in live service (`bound`).
        self.guard = ClockGuard(len(stations), compiled.max_future_ms, self._skew)
        self._row_station = np.array(
            [self._station_index[s.station.id] for s in self._rows], dtype=np.int64
        )
        self._places = {s.station.id: s.station.place for s in self._rows}
        # Stations with a backfill window: their readings are admitted in their own
        # time order up to `backfill` behind the clock, not by the one watermark.
        backfill = {
            st.id: ms(st.backfill) for st in compiled.config.stations if st.backfill is not None
        }
        self._backfill = np.array(
            [backfill.get(s.station.id, -1) for s in self._rows] + [-1], dtype=np.int64
        )
        self._own_order = bool((self._backfill >= 0).any())
        self.notices = ClockNotices()
        self._notes: list[AlertEvent] = []  # notices raised in this call
        self._heap: list[tuple[int, int, Series]] = []
        self.readings_evaluated = 0
        self.readings_fast = 0
        self.readings_stepped = 0  # exact only because a slow rule reads them (`light`)
        self._instances = self.rule_instances()

    # -- public API ---------------------------------------------------------------

    @property
    def clock(self) -> datetime | None:
        """The engine's event-time clock (latest reading time or tick)."""
        return None if self._clock is None else ms_to_dt(self._clock)

    @property
    def clock_ms(self) -> int | None:
        """The event-time clock in epoch milliseconds (None: not started)."""
        return self._clock

    def capture(self) -> dict[str, Any]:
        """Everything this engine knows, as plain types and numpy arrays (what
        `rules.snapshot.dumps` writes); `restore` on an engine of the same
        layout brings it back exactly."""
        from floodwatch.rules import snapshot  # snapshot reads this module's state

        return snapshot.capture(self)

    def restore(self, state: dict[str, Any]) -> None:
        """Take up a state `capture` returned; raises `rules.snapshot.SnapshotError`
        for one of another layout (other series, windows or rule instances)."""
        from floodwatch.rules import snapshot

        snapshot.restore(self, state)

    def carry_over(self, compiled: CompiledConfig) -> Engine:
        """A fresh engine of `compiled` brought to this one's state (windows,
        alerts, latches, staleness, clock): hot reload, see `rules.reload`.
        This engine is left as it was."""
        from floodwatch.rules import reload

        fresh = Engine(compiled, fast=self._fast is not None)
        reload.carry_over(self, fresh)
        return fresh

    def history_ms(self) -> int:
        """How far back input must be replayed to rebuild this engine's state: the
        longest window any series keeps, the longest dwell, the allowed lateness."""
        window = max((s.window_ms for s in self._rows), default=0)
        return window + self.compiled.longest_hold_ms() + self._lateness

    @property
    def buffered(self) -> int:
        return self._buffered

    def bound(self, wall_ms: int) -> None:
        """Live service: the wall clock now (epoch ms), given before each step. From
        then on the clock never runs past it and readings stamped more than
        `max_clock_skew` ahead of it are refused (see `rules.clock`)."""
        self.guard.wall = wall_ms

    def process(self, readings: Iterable[Reading]) -> EngineOutput:
        """Admit readings (any order) and evaluate whatever the watermark releases."""
        out = EngineOutput()
        batch = readings if isinstance(readings, list) else list(readings)
        if batch:
            self._admit(batch, out)
        self._release(out)
        if self._notes:
            out.alerts.extend(self._notes)
            self._notes = []
        return out

    def advance(self, now: datetime) -> EngineOutput:
        """Move the clock to `now` (a tick; live: never past the wall clock);
        releases readings and fires stale checks."""
        out = EngineOutput()
        target = ts_to_ms(now)
        wall = self.guard.wall
        self._tick(target if wall is None else min(target, wall))
        self._release(out)
        return out

    def flush(self) -> EngineOutput:
        """Release every buffered reading now (end of input). A reading still held
        ahead of the clock is taken if it follows within the record's usual step,
        else refused (`too_far_in_future`). Stale checks run up to the last
        reading's time, not beyond."""
        out = EngineOutput()
        if self._buffered:
            if self._clock is None:  # never had a quorum: start from what there is
                c = _concat(self._chunks)
                self._tick(int(c.t.min()))
                self._walk(c.t, self._row_station[c.s])
            self._refuse_held(out)
        if self._buffered:
            self._evaluate(self._take(math.inf), out)
        return out

    def health_gates(self) -> list[Health]:
        """Each series' quality gate (with its sensor checks), in row order."""
        return [s.health for s in self._rows if s.health is not None]

    def rule_instances(self) -> list[Any]:
        """Every (rule, station) instance once, in row order."""
        seen: dict[int, Any] = {}
        for s in self._rows:
            for rule in (*s.rules, *s.dependents):
                seen.setdefault(id(rule), rule)
        return list(seen.values())

    def forecasts(self) -> dict[tuple[str, str], tuple[int, dict[str, float]]]:
        """(station, rule) -> (event time ms, forecast) of the latest forecast each
        time-to-crest rule made (minutes to crest, expected peak…), made or not
        into an alert: what the command center shows live between transitions."""
        out: dict[tuple[str, str], tuple[int, dict[str, float]]] = {}
        for rule in self.rule_instances():
            if isinstance(rule, CrestCore) and rule.latest is not None:
                out[(rule.ctx.station, rule.ctx.rule)] = rule.latest
        return out

    def figures(self) -> dict[str, Figure]:
        """Alert id -> what its rule measures now, for every active alert whose
        rule has a figure to tell."""
        out: dict[str, Figure] = {}
        for rule in self._instances:
            tracker = rule.tracker
            if tracker.severity is not None and tracker.episode is not None:
                figure = rule.figure()
                if figure is not None:
                    out[tracker.episode] = figure
        return out

    def active_alerts(self) -> list[ActiveAlert]:
        """Every alert that is currently firing, most severe first."""
        found: dict[str, ActiveAlert] = {}
        for s in self._rows:
            trackers = [r.tracker for r in (*s.rules, *s.dependents)]
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

    def _admit(self, readings: list[Reading], out: EngineOutput) -> None:
        n = len(readings)
        stations = list(map(_STATION, readings))
        kinds = list(map(_KIND, readings))
        # No per-reading tuples (they would wake the garbage collector): station
        # and kind are looked up apart and combined in a table.
        station_at = np.array(list(map(self._station_index.get, stations, repeat(-1, n))))
        kind_at = np.array(list(map(_KIND_CODE.get, kinds, repeat(len(_KIND_CODE), n))))
        rows = self._row_table[station_at, kind_at]
        values = np.fromiter(map(_VALUE, readings), np.float64, n)
        ts = _epoch_ms(list(map(_TS, readings)))
        aware = ts != _NAIVE
        # Before 1970 the epoch ms are negative, and -1 means "no reading yet":
        # such a reading would corrupt the series' state, so it is refused.
        valid = aware & (ts >= 0) & (rows >= 0) & np.isfinite(values)
        refused: dict[int, tuple[RejectReason, str]] = {}
        if self.guard.wall is not None:
            self._beyond_wall(ts, valid, stations, kinds, refused)
            if self._clock is None and valid.any():
                self._start_live(ts[valid], out)
        ok = valid & (ts >= self._floor(rows))
        for i in np.flatnonzero(~ok).tolist():
            if i in refused:
                continue
            if not aware[i]:
                refused[i] = (RejectReason.NAIVE_TIME, "timestamp has no time zone")
                continue
            if ts[i] < 0:
                refused[i] = (
                    RejectReason.BEFORE_1970,
                    f"event time {format_ts(int(ts[i]))} is before 1970-01-01, which floodwatch "
                    "cannot take (a two-digit year read as 19xx?)",
                )
                continue
            row = int(rows[i])
            series = self._rows[row] if row >= 0 else None
            problem = self._problem(series, stations[i], kinds[i], float(values[i]), int(ts[i]))
            assert problem is not None
            refused[i] = problem
            if problem[0] is RejectReason.TOO_LATE and self.guard.wall is not None:
                self._maybe_behind(stations[i], kinds[i], int(ts[i]))
        for i in sorted(refused):
            reason, detail = refused[i]
            out.rejected.append(Rejected(reason, detail, readings[i]))
        if not ok.any():
            return
        if self.notices.open and self.guard.wall is not None:
            self._maybe_plausible(ts, station_at, ok)
        admitted_station = station_at[ok]
        self.guard.seen[admitted_station] = True
        quals = list(map(_QUALITY, readings))
        q = None
        if quals.count(None) != n:
            q = np.array(quals, dtype=object)[ok]
        count = int(ok.sum())
        chunk = _Chunk(rows[ok], ts[ok], values[ok], np.arange(self._seq, self._seq + count), q)
        self._seq += count
        self._chunks.append(chunk)
        self._buffered += count
        self._buffer_min = min(self._buffer_min, int(chunk.t.min()))
        if self._clock is None:
            if not self.guard.may_start():
                return  # replay: the clock starts from a quorum of stations, not one
            c = _concat(self._chunks)  # in arrival order: nothing was released yet
            self._tick(int(c.t.min()))
            self._walk(c.t, self._row_station[c.s])
            return
        self._walk(chunk.t, admitted_station)

    def _floor(self, rows: np.ndarray) -> np.ndarray | int:
        """The earliest event time each row may still take: the one watermark, or
        for a station with a backfill window, just after its latest released
        reading and within the window behind the clock."""
        if not self._own_order:
            return self._released_before
        backfill = self._backfill[rows]
        clock = self._released_before if self._clock is None else self._clock
        last = self.store.series["last_ts"][np.maximum(rows, 0)] + 1
        own = np.maximum(last, clock - backfill)
        return np.where(
            backfill >= 0, np.minimum(own, self._released_before), self._released_before
        )

    def _beyond_wall(
        self,
        ts: np.ndarray,
        valid: np.ndarray,
        stations: list[str],
        kinds: list[str],
        refused: dict[int, tuple[RejectReason, str]],
    ) -> None:
        """Live: refuse readings stamped more than the skew ahead of the wall clock,
        with a notice per station."""
        wall = self.guard.wall
        assert wall is not None
        beyond = valid & (ts > wall + self._skew)
        for i in np.flatnonzero(beyond).tolist():
            t = int(ts[i])
            valid[i] = False
            refused[i] = (RejectReason.TOO_EARLY, ahead_detail(t, wall, self._skew))
            place = self._places[stations[i]]
            self.notices.wrong(stations[i], place, kinds[i], t - wall, wall, self._notes)

    def _start_live(self, ts: np.ndarray, out: EngineOutput) -> None:
        """Live cold start: from the wall clock's side — the earliest reading of
        the last `RECENT_MS` if there is one (a backlog the broker kept while we
        were down is taken; a gauge reset to 2000 is then too late), else the
        earliest reading (input from the past, e.g. a recorded storm)."""
        wall = self.guard.wall
        assert wall is not None
        near = ts[ts >= wall - RECENT_MS]
        self._tick(int(near.min()) if len(near) else int(ts.min()))
        self._release(out)

    def _maybe_behind(self, station: str, kind: str, ts: int) -> None:
        """Live: a reading refused as too late, stamped more than `BEHIND_MS` behind
        the event clock (no delivery delay explains that): the gauge's clock is
        behind. Also while the service catches up on a backlog."""
        wall = self.guard.wall
        assert wall is not None and self._clock is not None
        if ts < wall - self._skew and ts < self._clock - BEHIND_MS:
            self.notices.wrong(station, self._places[station], kind, ts - wall, wall, self._notes)

    def _maybe_plausible(self, ts: np.ndarray, station_at: np.ndarray, ok: np.ndarray) -> None:
        """Live: a station with an open clock notice had a reading taken again
        (neither beyond the wall clock nor too late): its clock is plausible."""
        wall = self.guard.wall
        assert wall is not None
        for station in list(self.notices.open):
            index = self._station_index.get(station, -2)
            if (ok & (station_at == index)).any():
                self.notices.plausible(station, self._places[station], wall, self._notes)

    def _walk(self, t: np.ndarray, st: np.ndarray) -> None:
        """Move the clock over newly admitted readings (see `ClockGuard.walk`)."""
        assert self._clock is not None
        self._tick(self.guard.walk(self._clock, t, st))

    def _refuse_held(self, out: EngineOutput) -> None:
        """End of input: take what is still held ahead of the clock if it follows
        within the record's usual step, refuse the rest (`ClockGuard.settle`)."""
        assert self._clock is not None
        c = _concat(self._chunks)
        order = np.argsort(c.t, kind="stable")
        clock, refused = self.guard.settle(self._clock, c.t[order])
        if refused.any():
            keep = np.ones(len(c.t), dtype=bool)
            for i in order[refused].tolist():
                keep[i] = False
                s = self._rows[int(c.s[i])]
                quality = None if c.q is None else c.q[i]
                t = int(c.t[i])
                out.rejected.append(
                    Rejected(
                        RejectReason.TOO_EARLY,
                        f"event time {format_ts(t)} is ahead of the clock {format_ts(clock)} "
                        "by more than the record's usual step, and no other station "
                        "confirmed it",
                        _row(s.station.id, s.kind, float(c.v[i]), t, quality),
                    )
                )
            kept = _select(c, keep)
            self._chunks = [kept] if len(kept.t) else []
            self._buffered = len(kept.t)
            self._buffer_min = int(kept.t.min()) if len(kept.t) else math.inf
        self._tick(clock)

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
        floor = int(np.asarray(self._floor(np.array([series.order]))).reshape(-1)[0])
        if ts < floor and self._backfill[series.order] >= 0:
            reason = RejectReason.DUPLICATE if ts == series.last_ts else RejectReason.TOO_LATE
            return reason, (
                f"event time {format_ts(ts)} is not after the station's latest reading "
                f"{format_ts(series.last_ts)}, or more than its backfill "
                f"{self._backfill[series.order] // 1000}s behind the clock"
            )
        if ts < floor:
            reason = RejectReason.DUPLICATE if ts == series.last_ts else RejectReason.TOO_LATE
            return reason, (
                f"event time {format_ts(ts)} is behind the watermark "
                f"{format_ts(self._released_before)} (allowed lateness "
                f"{self._lateness // 1000}s)"
            )
        return None

    def _tick(self, ts: int) -> None:
        if self._clock is None:
            self._start(ts)
        if self._clock is None or ts > self._clock:
            self._clock = ts

    def _start(self, ts: int) -> None:
        """First sign of time: every watched series is expected to report from now on."""
        for s in self._rows:
            if s.stale_ms:
                heapq.heappush(self._heap, (ts + s.stale_ms, s.order, s))
                s.in_heap = True
                s.expected_from = ts

    # -- release and evaluation ---------------------------------------------------

    def _release(self, out: EngineOutput) -> None:
        if self._clock is None:
            return
        watermark = self._clock - self._lateness
        if self._buffer_min < watermark:  # (below the watermark: a backfill's readings)
            self._evaluate(self._take(watermark), out)
        if watermark <= self._released_before:
            return
        self._released_before = watermark
        self._fire_stale(watermark, out)

    def _take(self, before: float) -> _Chunk:
        """Everything buffered below `before`, in (time, series, value, arrival) order."""
        c = _concat(self._chunks)
        key = c.t * len(self._rows) + c.s
        order = np.argsort(key, kind="stable")
        if len(key) > 1 and (np.diff(key[order]) == 0).any():  # same series and time
            order = np.lexsort((c.seq, c.v, c.s, c.t))
        c = _select(c, order)
        cut = len(c.t) if before == math.inf else int(np.searchsorted(c.t, before, "left"))
        taken = _select(c, slice(0, cut))
        rest = _select(c, slice(cut, None))
        self._chunks = [rest] if len(rest.t) else []
        self._buffered = len(rest.t)
        self._buffer_min = int(rest.t[0]) if len(rest.t) else math.inf
        if cut:
            self._released_before = max(self._released_before, int(taken.t[-1]) + 1)
        return taken

    def _fire_stale(self, before: int, out: EngineOutput) -> None:
        heap = self._heap
        busy = self.store.series["busy"]
        while heap and heap[0][0] < before:
            deadline, order, s = heapq.heappop(heap)
            last = s.last_ts
            if last < 0:
                last = s.expected_from
            due = last + s.stale_ms
            if due > deadline:
                heapq.heappush(heap, (due, order, s))
                continue
            hole_end = self.guard.holes.end_of(deadline)
            if hole_end is not None:  # a gap in a replayed record: expected anew after it
                heapq.heappush(heap, (hole_end + s.stale_ms, order, s))
                continue
            s.in_heap = False
            s.stale = True
            busy[order] = True
            if s.health is not None:
                s.health.on_stale(deadline, last, out.alerts)

    def _evaluate(self, c: _Chunk, out: EngineOutput) -> None:
        if not len(c.t):
            return
        fast = self._fast
        light: dict[int, list[RateProbe | AccumProbe]] = {}
        if fast is None:
            slow = np.ones(len(self._rows), dtype=bool)
        else:
            group = np.argsort(c.s, kind="stable")
            bad = None
            if c.q is not None:
                bad = np.fromiter((q not in GOOD_QUALITY for q in c.q[group]), bool, len(group))
            batch = Batch(c.s[group], c.t[group], c.v[group], bad)
            slow, facts = fast.split(batch)
            moved = fast.apply(batch, slow, facts)
            self.readings_evaluated += moved
            self.readings_fast += moved
            light = {r: fast.stepped[r] for r in np.flatnonzero(facts["light"]).tolist()}
        picked = np.flatnonzero(slow[c.s])
        if len(picked):
            quals = [None] * len(picked) if c.q is None else c.q[picked].tolist()
            rows = c.s[picked].tolist()
            self._exact(
                zip(c.t[picked].tolist(), rows, c.v[picked].tolist(), quals, strict=True),
                out,
                light,
            )
            self._refresh_busy(set(rows))
        if light:
            assert fast is not None
            fast.catch_up(batch, facts["light"], facts)

    def _exact(  # noqa: C901, PLR0912, PLR0915 — the per-reading hot loop, inlined on purpose
        self,
        items: Iterable[tuple[int, int, float, str | None]],
        out: EngineOutput,
        light: dict[int, list[RateProbe | AccumProbe]] | None = None,
    ) -> None:
        """The per-reading path: every reading through the gate, windows and rules.

        A row in `light` is exact only because a slow rule reads it (`FastPath.split`
        proved every one of its readings good and none of its rules able to act):
        its state is kept in step reading by reading, as `FastPath.apply` would
        have left it, without calling the gate's notices or its rules: its clock
        (`last_ts`, which staleness reads), ring, last good value and the probes
        that other rules read (`light[row]`) step with each reading; the rest
        (the gate's columns, other window totals) is set after the batch
        (`FastPath.catch_up`)."""
        light = light or {}
        alerts = out.alerts
        heap = self._heap
        series = self._rows
        evaluated = 0
        stepped = 0
        instant = -1  # the event time being evaluated, and the alerts before it
        mark = len(alerts)
        for ts, row, value, quality in items:
            if ts != instant:
                if len(alerts) > mark:
                    out.figures.append((instant, self.figures()))
                instant, mark = ts, len(alerts)
            s = series[row]
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
            evaluated += 1
            health = s.health
            if row in light and not s.stale:
                stepped += 1
                if health is not None and s.stale_ms and not s.in_heap:
                    heapq.heappush(heap, (ts + s.stale_ms, s.order, s))
                    s.in_heap = True
                ring = s.ring
                if ring is not None:
                    ring.append(ts, value)
                    for probe in light[row]:
                        probe.update(ts, value)
                last = s.last
                last.ts = ts
                last.value = value
                continue
            s.last_raw = value
            if health is not None:
                if s.stale:
                    s.stale = False
                    health.on_alive(ts, alerts)
                if s.stale_ms and not s.in_heap:
                    heapq.heappush(heap, (ts + s.stale_ms, s.order, s))
                    s.in_heap = True
                if not health.check(ts, value, quality, alerts):
                    continue
            elif quality not in USABLE:
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
        if len(alerts) > mark:
            out.figures.append((instant, self.figures()))
        self.readings_evaluated += evaluated
        self.readings_stepped += stepped

    def _refresh_busy(self, rows: Iterable[int]) -> None:
        """Recompute which series the fast path must leave alone (after exact work)."""
        busy = self.store.series["busy"]
        for row in {n for r in rows for n in self._neighbours[r]}:
            s = self._rows[row]
            health = s.health
            busy[row] = (
                s.stale
                or any(r.latch.busy for r in s.rules)
                or any(r.latch.busy for r in s.dependents)
                or (health is not None and any(t.severity for t in health.trackers.values()))
            )


def _epoch_ms(stamps: list[datetime]) -> np.ndarray:
    """Epoch ms of each timestamp (`_NAIVE` for one without a zone). A sweep of
    readings shares one timestamp, so only where it changes is it converted."""
    n = len(stamps)
    change = np.ones(n, dtype=bool)
    if n > 1:
        change[1:] = ~np.fromiter(map(eq, stamps[1:], stamps[:-1]), bool, n - 1)
    heads = np.flatnonzero(change)
    converted = np.array(
        [_NAIVE if stamps[i].tzinfo is None else ts_to_ms(stamps[i]) for i in heads.tolist()],
        dtype=np.int64,
    )
    out: np.ndarray = converted[np.cumsum(change) - 1]
    return out


def _neighbours(rows: list[Series]) -> list[list[int]]:
    """Per series: itself and every series it shares a compound rule with."""
    near = [{s.order} for s in rows]
    by_rule: dict[int, list[int]] = {}
    for s in rows:
        for dep in s.dependents:
            by_rule.setdefault(id(dep), []).append(s.order)
    for members in by_rule.values():
        for m in members:
            near[m].update(members)
    return [sorted(n) for n in near]


def _concat(chunks: list[_Chunk]) -> _Chunk:
    if len(chunks) == 1:
        return chunks[0]
    q = None
    if any(c.q is not None for c in chunks):
        q = np.concatenate([c.q if c.q is not None else np.full(len(c.t), None) for c in chunks])
    return _Chunk(
        np.concatenate([c.s for c in chunks]),
        np.concatenate([c.t for c in chunks]),
        np.concatenate([c.v for c in chunks]),
        np.concatenate([c.seq for c in chunks]),
        q,
    )


def _select(c: _Chunk, index: np.ndarray | slice) -> _Chunk:
    return _Chunk(
        c.s[index], c.t[index], c.v[index], c.seq[index], None if c.q is None else c.q[index]
    )


def _row(station: str, kind: str, value: float, ts: int, quality: str | None) -> Reading:
    return Reading(station, kind, value, ms_to_dt(ts), quality)  # type: ignore[arg-type]
