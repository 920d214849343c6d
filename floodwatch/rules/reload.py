"""Swap a running engine's config without losing its state or re-announcing alerts.

`carry_over(old, new)` brings a freshly built engine (new config) to where the
old one stands:

1. **Windows.** The samples the old engine holds — every series' ring (as long
   as its longest window), the last good value of the others, and the readings
   still waiting in the reorder buffer — are replayed through the new engine,
   which rebuilds its windows, rates, totals and sensor-health state from
   them. What that replay would announce is discarded.
2. **Alert state.** For every (rule, station) and every sensor-health check
   that exists in both configs, the alert (severity, episode id and start) and
   the latch (which levels are on, running dwells) are copied from the old
   engine, level by level of the same severity. So an active alert stays
   active under the same episode id, nothing is re-announced, and a changed
   threshold applies from the next reading (which may escalate, downgrade or
   resolve — one transition, as for any reading).
3. A (rule, station) that is new starts clean: if its condition already holds,
   the next reading raises it, with its dwell from then.

`changes(old, new, active)` describes the difference for the change report.
"""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np

from floodwatch.alerts.state import Severity
from floodwatch.readings import Reading, format_ts, ms_to_dt
from floodwatch.rules.base import AlertTracker
from floodwatch.rules.compile import CompiledConfig
from floodwatch.rules.engine import ActiveAlert, Engine
from floodwatch.rules.snapshot import set_tracker_state, tracker_state


def _history(old: Engine) -> list[Reading]:
    """The readings the old engine's state depends on, oldest first."""
    out: list[Reading] = []
    for s in old._rows:
        sid, kind = s.station.id, s.kind
        ring = s.ring
        if ring is not None and ring.n:
            ts, values = ring.since(-(2**62))
            out.extend(
                Reading(sid, kind, v, ms_to_dt(t))  # type: ignore[arg-type]
                for t, v in zip(ts.tolist(), values.tolist(), strict=True)
            )
        elif s.last.ts >= 0:
            out.append(Reading(sid, kind, s.last.value, ms_to_dt(s.last.ts)))  # type: ignore[arg-type]
    for chunk in old._chunks:
        quality = chunk.q.tolist() if chunk.q is not None else [None] * len(chunk.t)
        for row, t, v, q in zip(
            chunk.s.tolist(), chunk.t.tolist(), chunk.v.tolist(), quality, strict=True
        ):
            s = old._rows[row]
            out.append(Reading(s.station.id, s.kind, v, ms_to_dt(t), q))
    out.sort(key=lambda r: r.ts)
    return out


def _instances(engine: Engine) -> dict[tuple[str, str], Any]:
    return {(r.ctx.rule, r.ctx.station): r for r in engine.rule_instances()}


def _health(engine: Engine) -> dict[tuple[str, str, str], AlertTracker]:
    return {
        (s.station.id, s.kind, check): tracker
        for s in engine._rows
        if s.health is not None
        for check, tracker in s.health.trackers.items()
    }


def _copy_latch(source: Any, target: Any) -> None:
    """Level by level of the same severity; a level the old rule lacked stays off."""
    old_levels = list(source.ctx.levels)
    state = source.latch.state()
    new_state: dict[str, list[object]] = {"on": [], "enter_since": [], "exit_since": []}
    new_levels = list(target.ctx.levels)
    for t, severity in enumerate(new_levels):
        # Levels of one severity pair up from the top: time to crest ends with a
        # second red (overtopping), which keeps the old overtopping's state and
        # never takes a red forecast's.
        later = new_levels[t + 1 :].count(severity)
        same = [i for i, old in enumerate(old_levels) if old == severity]
        j = same[-1 - later] if later < len(same) else None
        new_state["on"].append(state["on"][j] if j is not None else False)
        new_state["enter_since"].append(state["enter_since"][j] if j is not None else None)
        new_state["exit_since"].append(state["exit_since"][j] if j is not None else None)
    target.latch.restore(new_state)


def _reset(rule: Any) -> None:
    fresh = rule.latch.state()
    n = len(fresh["on"])
    rule.latch.restore({"on": [False] * n, "enter_since": [None] * n, "exit_since": [None] * n})
    set_tracker_state(rule.tracker, (None, None, 0))


def carry_over(old: Engine, new: Engine) -> None:
    """Bring `new` (a freshly built engine) to `old`'s state; see the module doc."""
    if old._clock is None:
        return
    history = _history(old)
    new.process(history)  # discarded: the old engine announced what mattered
    new.advance(ms_to_dt(old._clock))
    new.guard.wall = old.guard.wall
    new._released_before = max(new._released_before, old._released_before)
    new.guard.ahead = {}
    new.notices.open = {
        station: event for station, event in old.notices.open.items() if station in new._places
    }
    for station, index in old._station_index.items():
        if old.guard.seen[index] and station in new._station_index:
            new.guard.seen[new._station_index[station]] = True
    old_rules = _instances(old)
    for key, rule in _instances(new).items():
        before = old_rules.get(key)
        if before is None:
            _reset(rule)
            continue
        set_tracker_state(rule.tracker, tracker_state(before.tracker))
        _copy_latch(before, rule)
    # Health trackers are made on first use: the new engine makes the ones
    # the old had made (the others are idle in both).
    new_health = {(s.station.id, s.kind): s.health for s in new._rows if s.health is not None}
    for (station, kind, check), old_tracker in _health(old).items():
        health = new_health.get((station, kind))
        tracker = None if health is None else health.tracker(check)
        if tracker is not None:
            set_tracker_state(tracker, tracker_state(old_tracker))
    # Staleness as the old engine saw it, for the series both have.
    old_series = {(s.station.id, s.kind): s for s in old._rows}
    for s in new._rows:
        before = old_series.get((s.station.id, s.kind))
        if before is not None:
            s.stale, s.in_heap = before.stale, before.in_heap
            s.expected_from = before.expected_from
    new._heap = []
    for s in new._rows:
        if s.stale_ms and s.in_heap:
            last = s.last_ts if s.last_ts >= 0 else s.expected_from
            heapq.heappush(new._heap, (last + s.stale_ms, s.order, s))
    new._refresh_busy(range(len(new._rows)))


def _levels(compiled: CompiledConfig) -> dict[tuple[str, str], dict[Severity, tuple[Any, Any]]]:
    out: dict[tuple[str, str], dict[Severity, tuple[Any, Any]]] = {}
    for b in compiled.bindings:
        rule_id = str(getattr(b.rule, "id", ""))
        out[(rule_id, b.station.id)] = {
            lv.severity: (lv.enter.values(), lv.exit.values()) for lv in b.levels
        }
    return out


def changes(old: CompiledConfig, new: CompiledConfig, active: list[ActiveAlert]) -> list[str]:
    """What a config change does, one line each, and the active alerts it touches."""
    lines: list[str] = []
    old_rules = {str(getattr(r, "id", "")) for r in old.config.rules}
    new_rules = {str(getattr(r, "id", "")) for r in new.config.rules}
    lines += [f"rule added: {r}" for r in sorted(new_rules - old_rules)]
    lines += [f"rule removed: {r}" for r in sorted(old_rules - new_rules)]
    lines += [f"station added: {s}" for s in sorted(set(new.stations) - set(old.stations))]
    lines += [f"station removed: {s}" for s in sorted(set(old.stations) - set(new.stations))]
    before, after = _levels(old), _levels(new)
    touched: set[tuple[str, str]] = set()
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key, {}), after.get(key, {})
        for severity in sorted(set(a) | set(b), key=lambda s: -s.rank):
            if a.get(severity) != b.get(severity):
                touched.add(key)
                lines.append(
                    f"threshold moved: {key[0]} at {key[1]}, {severity.value}: "
                    f"{_text(a.get(severity))} -> {_text(b.get(severity))}"
                )
    for alert in active:
        base = alert.rule.split("/")[0]
        if (alert.rule, alert.station) in touched or base not in new_rules:
            lines.append(
                f"active alert affected: {alert.id} ({alert.severity.value} since "
                f"{format_ts(alert.since)})"
            )
    return lines


def _text(levels: tuple[Any, Any] | None) -> str:
    if levels is None:
        return "none"
    enter, exit_ = levels
    show = "/".join(f"{v:g}" for v in np.unique(enter))
    leave = "/".join(f"{v:g}" for v in np.unique(exit_))
    return f"enter {show}, exit {leave}"
