"""Run recorded readings through the engine as fast as it can, in event time.

The same engine as the live service; only the feeding differs. Used by
`floodwatch replay`, the demo, the tests and the benchmarks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from floodwatch.alerts.event import AlertEvent
from floodwatch.ingest.decode import decode_reading
from floodwatch.readings import Reading, Rejected, RejectReason, format_ts
from floodwatch.replay.localtime import LocalTime
from floodwatch.rules.compile import CompiledConfig
from floodwatch.rules.engine import Engine, EngineOutput
from floodwatch.rules.incidents.tracker import IncidentTracker

BATCH = 50_000  # readings per engine call: large batches keep the fast path vectorised


@dataclass
class ReplaySummary:
    lines: int = 0
    readings: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    episodes: set[str] = field(default_factory=set)
    incidents: Counter[str] = field(default_factory=Counter)  # incident id -> changes
    first_ts: str | None = None
    last_ts: str | None = None

    def text(self) -> str:
        lines = [
            f"readings: {self.readings} of {self.lines} lines "
            f"({sum(self.rejected.values())} rejected)",
        ]
        if self.rejected:
            lines.append(
                "rejected by reason: "
                + ", ".join(f"{k} {v}" for k, v in sorted(self.rejected.items()))
            )
        lines.append(
            f"alert events: {sum(self.alerts.values())} in {len(self.episodes)} episodes"
            + (
                " (" + ", ".join(f"{k} {v}" for k, v in sorted(self.alerts.items())) + ")"
                if self.alerts
                else ""
            )
        )
        if self.incidents:
            lines.append(
                f"incidents: {len(self.incidents)} ({sum(self.incidents.values())} changes "
                "told to people)"
            )
        if self.first_ts:
            lines.append(f"event time: {self.first_ts} … {self.last_ts}")
        return "\n".join(lines)


def replay_lines(
    compiled: CompiledConfig,
    lines: Iterable[bytes],
    on_alert: Callable[[AlertEvent], None],
    on_reject: Callable[[Rejected], None],
    source: str = "replay",
    local: LocalTime | None = None,
) -> ReplaySummary:
    """Decode canonical JSONL lines and run them through a fresh engine; alerts
    come out with their incident (`floodwatch.rules.incidents.tracker`). Naive time
    stamps are read in `local`'s zones."""
    summary = ReplaySummary()
    engine = Engine(compiled)
    incidents = IncidentTracker(compiled.config.stations, compiled.config.engine.incidents)
    batch: list[Reading] = []

    def emit(out: EngineOutput) -> None:
        applied = incidents.apply(out.alerts, out.figures)
        for change in applied.changes:
            summary.incidents[change.incident] += 1
        for event in applied.alerts:
            summary.alerts[f"{event.severity.value} {event.transition.value}"] += 1
            summary.episodes.add(event.id)
            on_alert(event)
        for rejected in out.rejected:
            summary.rejected[str(rejected.reason)] += 1
            on_reject(rejected)

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        summary.lines += 1
        decoded = decode_reading(line.strip(), f"{source}:{number}")
        if local and isinstance(decoded, Rejected) and decoded.reason is RejectReason.NAIVE_TIME:
            fixed = local.fix_line(line.strip())
            if fixed is not None:
                decoded = decode_reading(fixed, f"{source}:{number}")
        if isinstance(decoded, Rejected):
            summary.rejected[str(decoded.reason)] += 1
            on_reject(decoded)
            continue
        if summary.first_ts is None:
            summary.first_ts = format_ts(decoded.ts)
        batch.append(decoded)
        if len(batch) >= BATCH:
            emit(engine.process(batch))
            batch.clear()
    emit(engine.process(batch))
    emit(engine.flush())
    summary.readings = engine.readings_evaluated
    clock = engine.clock
    if clock is not None:
        summary.last_ts = format_ts(clock)
    return summary


def run_readings(compiled: CompiledConfig, readings: Iterable[Reading]) -> EngineOutput:
    """All alerts and rejects for a set of readings (the harness for tests)."""
    engine = Engine(compiled)
    out = engine.process(readings)
    out.extend(engine.flush())
    return out
