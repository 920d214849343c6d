"""Readings that arrive as a batch of the past: a station with a `backfill`
window is admitted in its own time order up to that far behind the clock (an
hourly report's 12 five-minute values, an RTU resending 6 h of stored reports
after an outage), with the alerts the values raise when they come one by one.
Without it the one watermark refuses all but the newest as too late."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.rules.engine import Engine
from floodwatch.sim import SCENARIOS, simulate

CONFIG = Path(__file__).parents[3] / "config"
RAIN = "maokeng-rain"
START = datetime(2026, 7, 6, 16, tzinfo=UTC)


def _config(tmp_path: Path, backfill: str | None) -> CompiledConfig:
    cfg = tmp_path / "config"
    shutil.copytree(CONFIG, cfg)
    if backfill is not None:
        stations = cfg / "stations.yaml"
        text = stations.read_text("utf-8")
        anchor = '    sl651: {address: "0033018203"'
        assert anchor in text
        stations.write_text(text.replace(anchor, f"    backfill: {backfill}\n{anchor}"), "utf-8")
    return compile_config(load_config_dir(cfg))


def _storm() -> list[Reading]:
    return simulate(SCENARIOS["blocked"], start=START, seed=7).readings


def _sweeps(readings: Iterable[Reading]) -> list[list[Reading]]:
    by: dict[datetime, list[Reading]] = {}
    for r in readings:
        by.setdefault(r.ts, []).append(r)
    return [by[t] for t in sorted(by)]


def _run(engine: Engine, batches: list[list[Reading]]) -> tuple[list[AlertEvent], int]:
    alerts: list[AlertEvent] = []
    late = 0
    for batch in batches:
        out = engine.process(batch)
        alerts += out.alerts
        late += sum(r.reason.value == "too_late" for r in out.rejected)
    alerts += engine.flush().alerts
    return alerts, late


def _rain_alerts(alerts: list[AlertEvent]) -> list[tuple[str, str, str, str, float | None]]:
    return [
        (a.rule, a.id, a.transition.value, a.severity.value, a.value)
        for a in alerts
        if a.station == RAIN and a.kind != "sensor_health"
    ]


def _one_by_one(compiled: CompiledConfig) -> list[AlertEvent]:
    alerts, late = _run(Engine(compiled), _sweeps(_storm()))
    assert late == 0
    return alerts


def _resend_after_outage(readings: list[Reading]) -> list[list[Reading]]:
    """The rain gauge's link is down for 6 h from the storm's start; when it is
    back, the RTU sends its stored reports, oldest first, then goes on."""
    down, up = START + timedelta(hours=4), START + timedelta(hours=10)
    batches: list[list[Reading]] = []
    stored: list[Reading] = []
    for sweep in _sweeps(readings):
        now = sweep[0].ts
        others = [r for r in sweep if r.station != RAIN or not down <= now < up]
        stored += [r for r in sweep if r.station == RAIN and down <= now < up]
        if now == up:
            batches += [[r] for r in stored]  # one report after another, on reconnect
        batches.append(others)
    return batches


def _hourly(readings: list[Reading]) -> list[list[Reading]]:
    """The rain gauge reports once an hour (34H): its 12 values of the hour come
    with the sweep at the end of the hour."""
    batches: list[list[Reading]] = []
    hour: list[Reading] = []
    for sweep in _sweeps(readings):
        hour += [r for r in sweep if r.station == RAIN]
        batch = [r for r in sweep if r.station != RAIN]
        if sweep[0].ts.minute == 55:
            batch += hour
            hour = []
        batches.append(batch)
    if hour:
        batches.append(hour)
    return batches


@pytest.mark.parametrize("arrival", [_resend_after_outage, _hourly])
def test_a_batch_of_the_past_raises_the_alerts_of_one_by_one(tmp_path: Path, arrival) -> None:  # type: ignore[no-untyped-def]
    compiled = _config(tmp_path, "6h")
    want = _rain_alerts(_one_by_one(compiled))
    assert want, "the storm raises rain alerts"
    got, late = _run(Engine(compiled), arrival(_storm()))
    assert late == 0
    assert _rain_alerts(got) == want


@pytest.mark.parametrize("arrival", [_resend_after_outage, _hourly])
def test_without_backfill_the_watermark_refuses_them(tmp_path: Path, arrival) -> None:  # type: ignore[no-untyped-def]
    compiled = _config(tmp_path, None)
    _, late = _run(Engine(compiled), arrival(_storm()))
    assert late > 10


def test_backfill_keeps_the_station_in_time_order_and_within_its_window(tmp_path: Path) -> None:
    engine = Engine(_config(tmp_path, "1h"))
    storm = _sweeps(_storm())
    for sweep in storm[:60]:  # five hours, everything on time
        engine.process(sweep)
    now = storm[59][0].ts
    old = [
        Reading(RAIN, "rain", 1.0, now - timedelta(minutes=7)),  # before its latest released
        Reading(RAIN, "rain", 1.0, now - timedelta(hours=3)),
    ]
    out = engine.process(old)
    assert [r.reason.value for r in out.rejected] == ["too_late", "too_late"]
