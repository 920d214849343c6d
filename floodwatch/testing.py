"""Testing harness: build a config from YAML text, run readings, read alerts.

Most tests are "readings in, alerts out, one assertion"; no broker needed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.replay.run import run_readings
from floodwatch.rules.compile import CompiledConfig, compile_config

T0 = datetime(2026, 7, 7, 0, 0, tzinfo=UTC)


def compile_yaml(**files: str) -> CompiledConfig:
    """Compile a config from `name=yaml_text` pairs (written to a temporary dir)."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files.items():
            Path(tmp, f"{name}.yaml").write_text(text, encoding="utf-8")
        return compile_config(load_config_dir(tmp))


def series(
    station: str,
    kind: str,
    values: Iterable[float],
    *,
    start: datetime = T0,
    every: timedelta = timedelta(minutes=5),
) -> list[Reading]:
    """Readings of one station at a fixed interval."""
    return [
        Reading(station, kind, float(v), start + i * every)  # type: ignore[arg-type]
        for i, v in enumerate(values)
    ]


def run(compiled: CompiledConfig, readings: Iterable[Reading]) -> list[AlertEvent]:
    return run_readings(compiled, readings).alerts


def timeline(events: Iterable[AlertEvent], start: datetime = T0) -> list[tuple[int, str, str]]:
    """(minutes after start, severity, transition) — the shape golden tests compare."""
    return [
        (int((e.ts - start).total_seconds() // 60), e.severity.value, e.transition.value)
        for e in events
    ]
