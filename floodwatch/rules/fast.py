"""The vectorised fast path: most series in most batches cannot change anything.

On a quiet day every gauge reports well inside its limits, far from every
threshold, and no alert is pending. For a released batch, `FastPath.split`
proves — with array operations over every series at once — which series are
*quiet* for the whole batch: every reading would pass the quality gate, no
latch is busy, no rule could enter its lowest level, no compound condition
could become true, no gauge went silent between two of its readings. For those
series `apply` then updates the state (last values, ring buffers, window
probes) in bulk, exactly as the per-reading path would have left it. Every
other series goes through the exact per-reading path. The checks are
conservative (a margin on every comparison): when in doubt, a series is slow.

The output is identical to running every reading through the exact path; a
property test holds the two paths to that.

Why one module over 400 lines: `FastPath` is one proof over one batch; its
checks (quality, levels, rates, accumulations, compounds, silence) share the
batch's index arrays, and the property test holds the module as a whole to the
exact path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from floodwatch.rules.bound import FastBound, Watch, anything
from floodwatch.rules.build import Series
from floodwatch.rules.conditions import LastValue
from floodwatch.rules.kinds.health import Limits
from floodwatch.rules.store import UNITS_PER, Store
from floodwatch.rules.windows import AccumProbe, RateProbe

MARGIN = 1e-9  # comparisons leave this much room: float rounding never makes a series fast
SEASON_STEP_MS = 900_000  # a seasonal value holds for at least this long (`rules.thresholds`)
_SHIFT = 42  # (row << 42) + ts ms keeps rows apart in one sorted key (ts < 2**42 ≈ year 2109)
_METRIC_VALUE, _METRIC_RATE, _METRIC_ACCUM = 0, 1, 2


@dataclass
class Batch:
    """Released readings grouped by series (time order within a series)."""

    s: np.ndarray  # series row per reading
    t: np.ndarray  # event time ms
    v: np.ndarray  # value
    bad: np.ndarray | None  # quality not good (None: all good)

    def __post_init__(self) -> None:
        s = self.s
        first = np.empty(len(s), dtype=bool)
        if len(s):
            first[0] = True
            np.not_equal(s[1:], s[:-1], out=first[1:])
        self.first = first
        self.starts = np.flatnonzero(first)
        self.ends = np.append(self.starts[1:] - 1, len(s) - 1)
        self.useries = s[self.starts]
        self.counts = self.ends - self.starts + 1
        self.seg = np.cumsum(first) - 1  # segment number per reading


class FastPath:
    """Built once per engine from the rules' `fast_bound()`s (see `rules.bound`).

    Fail closed: a rule or dependent without a bound puts its series on the
    exact path for good; a bound the tables below cannot express is an error
    at build time, never a silently quiet series."""

    def __init__(self, series: list[Series], store: Store) -> None:
        self.store = store
        self.series = series
        self.n = len(series)
        self._cols = store.series
        self._health(series)
        owner_of_ring = {id(s.ring): s.order for s in series if s.ring is not None}
        rp, ap = store.rate_probes, store.accum_probes
        self.rp_series = np.array([owner_of_ring[id(p.ring)] for p in rp], dtype=np.int64)
        self.rp_window = np.array([p.window for p in rp], dtype=np.int64)
        self.rp_min_span = np.array([p.min_span for p in rp], dtype=np.int64)
        self.rp_enter = np.full(len(rp), math.inf)  # lowest enter of the rate rules reading it
        self.ap_series = np.array([owner_of_ring[id(p.ring)] for p in ap], dtype=np.int64)
        self.ap_window = np.array([p.window for p in ap], dtype=np.int64)
        self.ap_expected = np.array([p.expected for p in ap], dtype=np.int64)
        self.ap_enter = np.full(len(ap), math.inf)  # lowest rainfall threshold reading it
        self._rp_index = {id(p): i for i, p in enumerate(rp)}
        self._ap_index = {id(p): i for i, p in enumerate(ap)}
        self._owner = {id(s.last): s.order for s in series}
        self._read: set[int] = set()  # every source a rule reads or watches on any series
        # Level-like bounds: a reading below the series' ceiling cannot start anything.
        self.below: list[list[Callable[[int], float]]] = [[] for _ in series]
        self.reads: list[tuple[int, int]] = []  # (reader row, row it reads)
        self.seasonal: list[int] = []
        watchers: dict[int, tuple[FastBound, list[int]]] = {}
        for s in series:
            for rule in s.rules:
                self._add(s.order, rule.fast_bound(), id(rule), watchers)
            for dep in s.dependents:
                self._add(s.order, dep.fast_bound(), id(dep), watchers)
        self.ceiling = np.array([self._ceiling(s.order, 0) for s in series], dtype=np.float64)
        self._watch_table(list(watchers.values()))
        self.read_by = np.array([r for r, _ in self.reads], dtype=np.int64)
        self.read_of = np.array([t for _, t in self.reads], dtype=np.int64)
        # A `light` series (see `split`) steps per reading only the probes another
        # rule may read (and its rates); its other window totals wait for `catch_up`.
        self.ap_deferred = np.array([id(p) not in self._read for p in ap], dtype=bool)
        self.stepped: list[list[RateProbe | AccumProbe]] = [
            [p for p in s.probes if not isinstance(p, AccumProbe) or id(p) in self._read]
            for s in series
        ]

    def _health(self, series: list[Series]) -> None:
        """The quality gate's limits as columns (range, step, stuck time)."""
        self.stale_ms = np.array([s.stale_ms for s in series], dtype=np.int64)
        self.interval = np.array([s.station.interval_ms for s in series], dtype=np.int64)
        self.has_health = np.array([s.health is not None for s in series], dtype=bool)
        lim = [
            s.health.limits if s.health is not None else Limits(None, None, None) for s in series
        ]
        self.lim_min = np.array([_or(x.min, -math.inf) for x in lim], dtype=np.float64)
        self.lim_max = np.array([_or(x.max, math.inf) for x in lim], dtype=np.float64)
        self.max_step = np.array([_or(x.max_step, math.inf) for x in lim], dtype=np.float64)
        self.stuck_ms = np.array(
            [
                s.health.stuck_ms if s.health is not None and s.health.stuck_ms is not None else -1
                for s in series
            ],
            dtype=np.int64,
        )

    def _add(
        self,
        row: int,
        bound: FastBound | None,
        key: int,
        watchers: dict[int, tuple[FastBound, list[int]]],
    ) -> None:
        """Record one rule's bound on series `row` (None: the series is always exact)."""
        if bound is None:
            self.below[row].append(_never)
            return
        if bound.below is not anything:
            self.below[row].append(bound.below)
            if bound.seasonal and row not in self.seasonal:
                self.seasonal.append(row)
        for probe, enter in bound.rates:
            i = self._rp_index[id(probe)]
            self.rp_enter[i] = min(self.rp_enter[i], enter)
        for accum, threshold in bound.totals:
            i = self._ap_index[id(accum)]
            self.ap_enter[i] = min(self.ap_enter[i], threshold)
        self._read.update(id(w.source) for w in bound.watches)
        for source in bound.reads:
            self._read.add(id(source))
            metric, target = self._metric(Watch(source, "above", 0.0))
            if metric == _METRIC_RATE:
                target = int(self.rp_series[target])
            elif metric == _METRIC_ACCUM:
                target = int(self.ap_series[target])
            self.reads.append((row, target))
        if bound.watches:
            rows = watchers.setdefault(key, (bound, []))[1]
            if row not in rows:
                rows.append(row)

    def _watch_table(self, watchers: list[tuple[FastBound, list[int]]]) -> None:
        """Compound conditions as a table: (watcher, metric, target row, above?, bound),
        and the (watcher, series) pairs each is evaluated on."""
        c_comp, c_metric, c_target, c_above, c_bound = [], [], [], [], []
        for k, (bound, _) in enumerate(watchers):
            for watch in bound.watches:
                metric, target = self._metric(watch)
                c_comp.append(k)
                c_metric.append(metric)
                c_target.append(target)
                c_above.append(watch.side == "above")
                c_bound.append(watch.bound)
        self.compounds = [bound for bound, _ in watchers]
        self.c_comp = np.array(c_comp, dtype=np.int64)
        self.c_metric = np.array(c_metric, dtype=np.int64)
        self.c_target = np.array(c_target, dtype=np.int64)
        self.c_above = np.array(c_above, dtype=bool)
        self.c_bound = np.array(c_bound, dtype=np.float64)
        self.comp_all = np.array([bound.all_of for bound, _ in watchers], dtype=bool)
        self.comp_nconds = np.bincount(self.c_comp, minlength=len(watchers))
        pairs = sorted((k, row) for k, (_, rows) in enumerate(watchers) for row in rows)
        self.inv_comp = np.array([k for k, _ in pairs], dtype=np.int64)
        self.inv_series = np.array([row for _, row in pairs], dtype=np.int64)
        # The rate levels anything watches on each rate probe (rules and compounds).
        self.rp_watch_hi = self.rp_enter.copy()
        self.rp_watch_lo = np.full(len(self.rp_enter), -math.inf)
        for metric, target, above, value in zip(c_metric, c_target, c_above, c_bound, strict=True):
            if metric == _METRIC_RATE:
                if above:
                    self.rp_watch_hi[target] = min(self.rp_watch_hi[target], value)
                else:
                    self.rp_watch_lo[target] = max(self.rp_watch_lo[target], value)

    def _metric(self, watch: Watch) -> tuple[int, int]:
        src = watch.source
        if isinstance(src, LastValue):
            return _METRIC_VALUE, self._owner[id(src)]
        if isinstance(src, RateProbe):
            return _METRIC_RATE, self._rp_index[id(src)]
        if isinstance(src, AccumProbe):
            return _METRIC_ACCUM, self._ap_index[id(src)]
        raise TypeError(f"the fast path cannot bound a condition on {src!r}")

    def _ceiling(self, row: int, ts: int) -> float:
        """The lowest value at which a rule on series `row` could start doing anything."""
        ceiling = min((below(ts) for below in self.below[row]), default=math.inf)
        return ceiling - MARGIN * max(1.0, abs(ceiling)) if math.isfinite(ceiling) else ceiling

    def _seasonal_ceiling(self, row: int, times: np.ndarray) -> float:
        """The lowest ceiling of series `row` at any of its readings' times: a season
        may begin and end between a long batch's ends (a replayed archive)."""
        _, first = np.unique(times // SEASON_STEP_MS, return_index=True)
        return min(self._ceiling(row, int(ts)) for ts in times[first])

    # -- which series are quiet ----------------------------------------------------

    def split(self, b: Batch) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(slow flag per series row, facts `apply` reuses).

        Checks are per-segment reductions where a bound is enough (range, ceiling,
        spike, silence), so the cost per reading is a handful of array passes."""
        cols = self._cols
        t, v, starts = b.t, b.v, b.starts
        us = b.useries
        last_ts = cols["last_ts"][us]
        # Gaps between consecutive readings of a series; the first against the store.
        gap = np.empty_like(t)
        gap[1:] = t[1:] - t[:-1]
        dup_gap = gap.copy()
        dup_gap[starts] = 1
        seen = np.where(last_ts >= 0, last_ts, cols["expected_from"][us])
        gap[starts] = np.where(seen >= 0, t[starts] - seen, 0)
        seg_slow = np.minimum.reduceat(dup_gap, starts) == 0  # duplicates: exact path
        stale = self.stale_ms[us]
        seg_slow |= (stale > 0) & (np.maximum.reduceat(gap, starts) > stale)
        if b.bad is not None:
            seg_slow |= np.logical_or.reduceat(b.bad, starts)
        vmax = np.maximum.reduceat(v, starts)
        vmin = np.minimum.reduceat(v, starts)
        # Quality gate: range (the gate's own comparison) and spike (a bound: a step
        # within max_step can never be a spike, whatever the elapsed time).
        seg_slow |= (vmin < self.lim_min[us]) | (vmax > self.lim_max[us])
        step = np.empty_like(v)
        step[1:] = v[1:] - v[:-1]
        good = cols["h_last_good_ts"][us] >= 0
        step[starts] = np.where(good, v[starts] - cols["h_last_good"][us], 0.0)
        np.abs(step, out=step)
        seg_slow |= np.maximum.reduceat(step, starts) > self.max_step[us] - MARGIN
        # Stuck values: the run of identical values, and when it started.
        facts: dict[str, np.ndarray] = {}
        if (self.stuck_ms[us] >= 0).any():
            seg_slow |= self._stuck(b, facts)
        # Level-like thresholds: a reading at or above the series' ceiling.
        ceiling = self.ceiling[us]
        for row in self.seasonal:
            at = np.flatnonzero(us == row)
            if len(at):
                ceiling[at] = self._seasonal_ceiling(row, t[starts[at[0]] : b.ends[at[0]] + 1])
        seg_slow |= vmax >= ceiling - MARGIN
        slow = cols["busy"].copy()
        slow[us[seg_slow]] = True
        # Window rates: bounds for rate rules and compound conditions.
        rate_max, rate_min = self._rates(b, vmax, vmin, slow, facts)
        slow[self.rp_series[rate_max >= _lower(self.rp_enter)]] = True
        # Rainfall: window total before the batch plus all of the batch's rain.
        rain = np.zeros(self.n)
        rain[us] = np.add.reduceat(v, starts)
        bound = self.store.accum["units"] / UNITS_PER + rain[self.ap_series]
        slow[self.ap_series[bound >= self.ap_enter - 1e-6]] = True
        own = slow.copy()  # slow on its own account (a rule or the gate may act)
        involved = np.zeros(self.n, dtype=bool)  # in a compound that may become true
        while True:  # a slow reader makes what it reads slow; compounds may add more
            marked = int(slow.sum())
            if len(self.read_by):
                slow[self.read_of[slow[self.read_by]]] = True
            if len(self.compounds):
                self._compounds(b, vmax, vmin, slow, rate_max, rate_min, bound, involved)
            if int(slow.sum()) == marked:
                # Slow only because a slow rule reads it: every reading passes the
                # gate and no rule on it can act, so the exact path only has to
                # keep its state in step (`light`: what `apply` does, per reading).
                facts["light"] = slow & ~own & ~involved
                return slow, facts

    def _stuck(self, b: Batch, facts: dict[str, np.ndarray]) -> np.ndarray:
        """Segments where a value stays the same for the stuck time; records when
        each reading's run of identical values began."""
        cols = self._cols
        s, t, v, starts, us = b.s, b.t, b.v, b.starts, b.useries
        last_value = np.empty_like(v)
        last_value[1:] = v[:-1]
        last_value[starts] = cols["h_last_value"][us]
        same = v == last_value
        run_start = np.where(same, -1, t)
        carried = same[starts]
        run_start[starts[carried]] = cols["h_same_since"][us[carried]]
        offset = b.seg << _SHIFT
        same_since = np.maximum.accumulate(run_start + offset) - offset
        facts["same_since"] = same_since
        stuck = self.stuck_ms[s]
        return np.logical_or.reduceat((stuck >= 0) & same & (t - same_since >= stuck), starts)

    def _rates(  # noqa: PLR0915 — one vectorised derivation over shared index arrays
        self,
        b: Batch,
        vmax: np.ndarray,
        vmin: np.ndarray,
        slow: np.ndarray,
        facts: dict[str, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bounds on each rate probe's rate over the batch (its rate before included),
        and each probe's exact state at its series' last reading (for `apply`).

        A rate is (value − value at the window start) per hour over at least the
        probe's minimum span, so it lies within ± (spread of the held window and the
        batch) / minimum span."""
        store = self.store
        prior = store.rate["rate"]
        has_prior = ~np.isnan(prior)
        rmax = np.where(has_prior, prior, -math.inf)
        rmin = np.where(has_prior, prior, math.inf)
        seg_of = np.full(self.n, -1, dtype=np.int64)
        seg_of[b.useries] = np.arange(len(b.useries))
        pseg = seg_of[self.rp_series] if len(self.rp_series) else np.zeros(0, np.int64)
        rows = np.flatnonzero(pseg >= 0)
        facts["rate_rows"] = rows
        if not len(rows):
            return rmax, rmin
        ser = self.rp_series[rows]
        seg = pseg[rows]
        cols = store.series
        cap = store.ring_cap[ser]
        base = store.ring_base[ser]
        n0 = cols["ring_n"][ser]
        st0 = np.maximum(store.rate["start"][rows], np.maximum(n0 - cap, 0))
        held = n0 - st0
        cnt = b.counts[seg]
        size = held + cnt
        off = np.concatenate(([0], np.cumsum(size)[:-1]))
        total = int(size.sum())
        vt = np.empty(total, dtype=np.int64)
        vv = np.empty(total, dtype=np.float64)
        # Held ring samples st0 .. n0-1 (oldest first), then the batch's readings.
        r_row = np.repeat(np.arange(len(rows)), held)
        within = np.arange(len(r_row)) - np.repeat(np.cumsum(held) - held, held)
        slot = base[r_row] + (st0[r_row] + within) % cap[r_row]
        pos = off[r_row] + within
        vt[pos] = store.rts[slot]
        vv[pos] = store.rval[slot]
        q_row = np.repeat(np.arange(len(rows)), cnt)
        j = np.arange(len(q_row)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        src = b.starts[seg][q_row] + j
        qpos = off[q_row] + held[q_row] + j
        vt[qpos] = b.t[src]
        vv[qpos] = b.v[src]
        # Bounds from the spread of values over the minimum span.
        lo_all = np.minimum.reduceat(vv, off)
        hi_all = np.maximum.reduceat(vv, off)
        span = self.rp_min_span[rows].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            up = (vmax[seg] - lo_all) * 3_600_000.0 / span
            down = (vmin[seg] - hi_all) * 3_600_000.0 / span
        up[span <= 0] = math.inf
        down[span <= 0] = -math.inf
        # Where a bound reaches a threshold that reads this probe: every reading's
        # rate exactly, as RateProbe.update computes it.
        unsure = (up >= _lower(self.rp_watch_hi[rows])) | (down <= self.rp_watch_lo[rows])
        if unsure.any():
            keys = (np.repeat(np.arange(len(rows)), size) << _SHIFT) + vt
            pick = unsure[q_row]
            qr, qj = q_row[pick], j[pick]
            qt = b.t[src[pick]]
            qv = b.v[src[pick]]
            cutoff = qt - self.rp_window[rows][qr]
            first = np.searchsorted(keys, (qr << _SHIFT) + cutoff, "left") - off[qr]
            a = n0[qr] + qj
            oldest = np.maximum(0, a + 1 - cap[qr])
            start = np.minimum(a, np.maximum(np.maximum(st0[qr], oldest), st0[qr] + first))
            at = off[qr] + (start - st0[qr])
            gone = qt - vt[at]
            ok = (gone >= self.rp_min_span[rows][qr]) & (gone > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = (qv - vv[at]) * 3_600_000.0 / gone
            heads = _group_starts(qr)
            exact_up = np.maximum.reduceat(np.where(ok, rate, -math.inf), heads)
            exact_down = np.minimum.reduceat(np.where(ok, rate, math.inf), heads)
            which = np.flatnonzero(unsure)
            up[which] = exact_up
            down[which] = exact_down
        rmax[rows] = np.maximum(rmax[rows], up)
        rmin[rows] = np.minimum(rmin[rows], down)
        # Exact state at the last reading, as RateProbe.update computes it.
        keys = (np.repeat(np.arange(len(rows)), size) << _SHIFT) + vt
        last = off + size - 1
        t_last = vt[last]
        a = n0 + cnt - 1
        oldest = np.maximum(0, a + 1 - cap)
        first = np.searchsorted(
            keys, (np.arange(len(rows)) << _SHIFT) + t_last - self.rp_window[rows], "left"
        )
        start = np.minimum(a, np.maximum(np.maximum(st0, oldest), st0 + first - off))
        at = off + (start - st0)
        gone = t_last - vt[at]
        ok = (gone >= self.rp_min_span[rows]) & (gone > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            facts["rate_last"] = np.where(ok, (vv[last] - vv[at]) * 3_600_000.0 / gone, np.nan)
        facts["rate_start"] = start
        # A series that goes the exact way may skip readings: its rates are unknown.
        unknown = slow[self.rp_series]
        rmax[unknown] = math.inf
        rmin[unknown] = -math.inf
        return rmax, rmin

    def _compounds(
        self,
        b: Batch,
        seg_vmax: np.ndarray,
        seg_vmin: np.ndarray,
        slow: np.ndarray,
        rate_max: np.ndarray,
        rate_min: np.ndarray,
        accum_bound: np.ndarray,
        involved: np.ndarray,
    ) -> None:
        """Mark every series of a compound that could become true (or is busy), in
        `slow` and in `involved`."""
        cols = self._cols
        has = cols["lv_ts"] >= 0
        vmax = np.where(has, cols["lv_value"], -math.inf)
        vmin = np.where(has, cols["lv_value"], math.inf)
        vmax[b.useries] = np.maximum(vmax[b.useries], seg_vmax)
        vmin[b.useries] = np.minimum(vmin[b.useries], seg_vmin)
        metric, target, above, bound = self.c_metric, self.c_target, self.c_above, self.c_bound
        hi = np.empty(len(metric))
        lo = np.empty(len(metric))
        for code, top, bottom in (
            (_METRIC_VALUE, vmax, vmin),
            (_METRIC_RATE, rate_max, rate_min),
            (_METRIC_ACCUM, accum_bound, np.full(len(accum_bound), -math.inf)),
        ):
            m = metric == code
            hi[m] = top[target[m]]
            lo[m] = bottom[target[m]]
        margin = MARGIN * np.maximum(1.0, np.abs(bound))
        rate = np.flatnonzero(metric == _METRIC_RATE)
        while True:
            # Rates of series that go the exact way are unknown to this analysis.
            unknown = rate[slow[self.rp_series[target[rate]]]]
            hi[unknown] = math.inf
            lo[unknown] = -math.inf
            possible = np.where(above, hi >= bound - margin, lo < bound + margin)
            n_possible = np.bincount(self.c_comp, weights=possible, minlength=len(self.compounds))
            live = np.where(self.comp_all, n_possible == self.comp_nconds, n_possible > 0)
            rows = self.inv_series[live[self.inv_comp]]
            involved[rows] = True
            newly = rows[~slow[rows]]
            if not len(newly):
                return
            slow[newly] = True

    # -- bulk update of quiet series -----------------------------------------------

    def apply(self, b: Batch, slow: np.ndarray, facts: dict[str, np.ndarray]) -> int:
        """Advance every quiet series past its readings; returns how many readings."""
        store = self.store
        cols = self._cols
        fast_seg = ~slow[b.useries]
        if not fast_seg.any():
            return 0
        us = b.useries[fast_seg]
        ends = b.ends[fast_seg]
        counts = b.counts[fast_seg]
        t_last = b.t[ends]
        v_last = b.v[ends]
        cols["last_ts"][us] = t_last
        cols["lv_ts"][us] = t_last
        cols["lv_value"][us] = v_last
        self._gate(us, ends, t_last, v_last, facts)
        # Ring buffers: the last `cap` readings of each series land in their slots.
        cap = store.ring_cap[us]
        ringed = cap > 0
        if ringed.any():
            r_us, r_cap, r_cnt = us[ringed], cap[ringed], counts[ringed]
            r_start = b.starts[fast_seg][ringed]
            keep = np.minimum(r_cnt, r_cap)
            row = np.repeat(np.arange(len(r_us)), keep)
            j = np.arange(len(row)) - np.repeat(np.cumsum(keep) - keep, keep) + (r_cnt - keep)[row]
            n0 = cols["ring_n"][r_us]
            slot = store.ring_base[r_us][row] + (n0[row] + j) % r_cap[row]
            store.rts[slot] = b.t[r_start[row] + j]
            store.rval[slot] = b.v[r_start[row] + j]
            cols["ring_n"][r_us] = n0 + r_cnt
        # Rate probes: their state at the series' last reading.
        rows = facts.get("rate_rows")
        if rows is not None and len(rows):
            quiet = ~slow[self.rp_series[rows]]
            r = rows[quiet]
            store.rate["start"][r] = facts["rate_start"][quiet]
            store.rate["rate"][r] = facts["rate_last"][quiet]
            last_t = np.zeros(self.n, dtype=np.int64)
            last_t[us] = t_last
            store.rate["updated"][r] = last_t[self.rp_series[r]]
        self._accumulate(b, us, t_last, fast_seg)
        return int(counts.sum())

    def catch_up(self, b: Batch, light: np.ndarray, facts: dict[str, np.ndarray]) -> None:
        """After the exact path, for the `light` series (see `split`): what the
        exact path left out, as `apply` sets it for a quiet series — the latest
        raw value, the quality gate's columns, and the window totals no other rule
        reads (`stepped`), at each one's last reading (rings already appended)."""
        seg = light[b.useries]
        if not seg.any():
            return
        us = b.useries[seg]
        ends = b.ends[seg]
        t_last = b.t[ends]
        self._gate(us, ends, t_last, b.v[ends], facts)
        if self.ap_deferred.any():
            self._accumulate(b, us, t_last, seg, self.ap_deferred)

    def _gate(
        self,
        us: np.ndarray,
        ends: np.ndarray,
        t_last: np.ndarray,
        v_last: np.ndarray,
        facts: dict[str, np.ndarray],
    ) -> None:
        """The latest raw value and the quality gate's columns after readings that
        all passed it."""
        cols = self._cols
        cols["last_raw"][us] = v_last
        health = self.has_health[us]
        hs = us[health]
        cols["h_last_good_ts"][hs] = t_last[health]
        cols["h_last_good"][hs] = v_last[health]
        cols["h_last_value"][hs] = v_last[health]
        stuck = health & (self.stuck_ms[us] >= 0)
        if stuck.any() and "same_since" in facts:
            cols["h_same_since"][us[stuck]] = facts["same_since"][ends[stuck]]

    def _accumulate(
        self,
        b: Batch,
        us: np.ndarray,
        t_last: np.ndarray,
        fast_seg: np.ndarray,
        only: np.ndarray | None = None,
    ) -> None:
        """Window totals at each quiet series' last reading (rings already appended);
        `only`: of these accumulation probes."""
        store = self.store
        acc = store.accum
        seg_of = np.full(self.n, -1, dtype=np.int64)
        seg_of[us] = np.arange(len(us))
        pseg = seg_of[self.ap_series] if len(self.ap_series) else np.zeros(0, np.int64)
        rows = np.flatnonzero(pseg >= 0 if only is None else (pseg >= 0) & only)
        if not len(rows):
            return
        seg = pseg[rows]
        ser = self.ap_series[rows]
        units_in = np.add.reduceat(np.rint(b.v * UNITS_PER).astype(np.int64), b.starts)[fast_seg][
            seg
        ]
        cnt = b.counts[fast_seg][seg]
        tl = t_last[seg]
        cap = store.ring_cap[ser]
        base = store.ring_base[ser]
        n = store.series["ring_n"][ser]
        start = acc["start"][rows]
        units = acc["units"][rows] + units_in
        count = acc["count"][rows] + cnt
        cutoff = tl - self.ap_window[rows]
        overwritten = start < n - cap
        active = ~overwritten
        while True:
            slot = base + start % cap
            expire = active & (start < n - 1) & (store.rts[slot] <= cutoff)
            if not expire.any():
                break
            units[expire] -= np.rint(store.rval[slot[expire]] * UNITS_PER).astype(np.int64)
            count[expire] -= 1
            start[expire] += 1
        acc["start"][rows] = start
        acc["units"][rows] = units
        acc["count"][rows] = count
        acc["complete"][rows] = count >= self.ap_expected[rows]
        acc["updated"][rows] = tl
        for k in np.flatnonzero(overwritten):
            store.accum_probes[rows[k]].recount(int(tl[k]))


def _or(value: float | None, default: float) -> float:
    return default if value is None else float(value)


def _group_starts(sorted_ids: np.ndarray) -> np.ndarray:
    first = np.ones(len(sorted_ids), dtype=bool)
    first[1:] = sorted_ids[1:] != sorted_ids[:-1]
    return np.flatnonzero(first)


def _lower(x: np.ndarray) -> np.ndarray:
    """`x` less a relative margin (infinities stay as they are)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(x), x - MARGIN * np.maximum(1.0, np.abs(x)), x)


def _never(_ts: int) -> float:
    """The ceiling of a rule without a bound: every value may act."""
    return -math.inf
