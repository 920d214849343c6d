"""Engine state to bytes and back: what a restart resumes from.

A snapshot holds everything the engine knows — the store's columns, every
latch and alert tracker, each time-to-crest rule's latest forecast and level
(the board's live forecast), staleness, the clock, the watermark and the
readings still waiting in the reorder buffer — so an engine restored from it behaves
exactly like the one that was saved. It is only valid for the same layout
(the same series, windows and rule instances); `restore` refuses any other.

Format: a magic line, the SHA-256 of the body, the body (pickle of plain
types and numpy arrays). A snapshot is local state written by floodwatch
itself; the checksum catches truncation and corruption, not forgery.
"""

from __future__ import annotations

import hashlib
import heapq
import pickle
from typing import Any

import numpy as np

from floodwatch.alerts.state import Severity
from floodwatch.rules.base import AlertTracker
from floodwatch.rules.engine import Engine, _Chunk
from floodwatch.rules.kinds.crest import CrestCore
from floodwatch.rules.kinds.health import CHECKS

MAGIC = b"floodwatch-engine-snapshot 1\n"


class SnapshotError(Exception):
    """A snapshot that cannot be used (corrupt, or for another layout)."""


def layout(engine: Engine) -> str:
    """Fingerprint of the engine's shape: series, ring sizes, probes, rule instances."""
    parts: list[object] = []
    for s in engine._rows:
        cap = s.ring.cap if s.ring is not None else 0
        probes = [(type(p).__name__, p.window) for p in s.probes]
        rules = [(r.ctx.rule, r.latch.n) for r in (*s.rules, *s.dependents)]
        parts.append((s.station.id, s.kind, cap, s.stale_ms, probes, rules))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def tracker_state(t: AlertTracker) -> tuple[str | None, str | None, int]:
    """An alert's state (severity, episode id, episode start) as plain values."""
    return (t.severity.value if t.severity else None, t.episode, t.episode_start)


def set_tracker_state(t: AlertTracker, state: tuple[str | None, str | None, int]) -> None:
    severity, t.episode, t.episode_start = state
    t.severity = Severity(severity) if severity else None


def capture(engine: Engine) -> dict[str, Any]:
    store = engine.store
    chunks = [
        {"s": c.s, "t": c.t, "v": c.v, "seq": c.seq, "q": None if c.q is None else c.q.tolist()}
        for c in engine._chunks
    ]
    return {
        "layout": layout(engine),
        "clock": engine._clock,
        "released_before": engine._released_before,
        "seq": engine._seq,
        "ahead": (dict(engine.guard.ahead), 0),
        "seen": engine.guard.seen.copy(),
        "notices": engine.notices.state(),
        "buffer": chunks,
        "counters": (engine.readings_evaluated, engine.readings_fast),
        "columns": {
            table: {name: col.copy() for name, col in cols.items()}
            for table, cols in store.columns().items()
        },
        "series": [(s.stale, s.in_heap) for s in engine._rows],
        "health": [
            None
            if s.health is None
            else {check: tracker_state(t) for check, t in s.health.trackers.items()}
            for s in engine._rows
        ],
        "instances": [(r.latch.state(), tracker_state(r.tracker)) for r in engine.rule_instances()],
        # each time-to-crest rule's latest forecast and level: the command
        # center's live forecast (Engine.forecasts) and the notices' figures
        "crest": [
            (r.latest, r.seen) if isinstance(r, CrestCore) else None
            for r in engine.rule_instances()
        ],
    }


def restore(engine: Engine, state: dict[str, Any]) -> None:
    """Load `state` into a freshly built engine of the same layout."""
    if state.get("layout") != layout(engine):
        raise SnapshotError("the snapshot is for another configuration layout")
    columns = engine.store.columns()
    for table, cols in state["columns"].items():
        for name, saved in cols.items():
            target = columns[table][name]
            if target.shape != saved.shape:
                raise SnapshotError(f"column {table}.{name} has another shape")
            target[...] = saved
    engine._clock = state["clock"]
    engine._released_before = state["released_before"]
    engine._seq = state["seq"]
    ahead, _ = state["ahead"]
    engine.guard.ahead = dict(ahead)
    seen = state.get("seen")
    if seen is not None and seen.shape == engine.guard.seen.shape:
        engine.guard.seen[...] = seen
    engine.notices.restore(state.get("notices", {}))
    engine.readings_evaluated, engine.readings_fast = state["counters"]
    engine._chunks = [
        _Chunk(
            c["s"], c["t"], c["v"], c["seq"], None if c["q"] is None else np.array(c["q"], object)
        )
        for c in state["buffer"]
    ]
    engine._buffered = sum(len(c.t) for c in engine._chunks)
    engine._buffer_min = min((int(c.t.min()) for c in engine._chunks if len(c.t)), default=np.inf)
    for s, (stale, in_heap) in zip(engine._rows, state["series"], strict=True):
        s.stale, s.in_heap = stale, in_heap
    for s, saved in zip(engine._rows, state["health"], strict=True):
        if s.health is not None and saved is not None:
            for check, tracked in saved.items():
                # a check this build no longer has stays closed
                t = s.health.tracker(check) if check in CHECKS else None
                if t is not None:
                    set_tracker_state(t, tracked)
    _restore_rules(engine, state)
    engine._heap = []
    for s in engine._rows:
        if s.stale_ms and s.in_heap:
            last = s.last_ts if s.last_ts >= 0 else s.expected_from
            heapq.heappush(engine._heap, (last + s.stale_ms, s.order, s))


def _restore_rules(engine: Engine, state: dict[str, Any]) -> None:
    """Every rule instance's latch and tracker, and each time-to-crest rule's
    latest forecast and level (none in a snapshot from before they were kept)."""
    for rule, (latch, tracker) in zip(engine.rule_instances(), state["instances"], strict=True):
        rule.latch.restore(latch)
        set_tracker_state(rule.tracker, tracker)
    crest = state.get("crest")
    if crest is not None:
        for rule, saved in zip(engine.rule_instances(), crest, strict=True):
            if isinstance(rule, CrestCore) and saved is not None:
                rule.latest, rule.seen = saved


def dumps(state: dict[str, Any]) -> bytes:
    body = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def loads(data: bytes) -> dict[str, Any]:
    if not data.startswith(MAGIC):
        raise SnapshotError("not a floodwatch engine snapshot")
    digest, _, body = data[len(MAGIC) :].partition(b"\n")
    if hashlib.sha256(body).hexdigest().encode() != digest:
        raise SnapshotError("snapshot checksum mismatch (truncated or corrupt)")
    try:
        state: dict[str, Any] = pickle.loads(body)
    except Exception as exc:
        raise SnapshotError(f"snapshot does not load: {exc}") from exc
    return state
