"""The live service (service/run.py) on a real store, snapshot and dead-letter
file, fed through its queue without a broker: opened and closed (a clean
restart takes up the snapshot, nothing to replay), the queue loop taking the
waiting messages in steps and stopping when asked, idle ticks, what it says
(readiness, stats, summary), hot reload through it, and an unreadable store
moved aside at start."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.service.run import LOCAL, Service
from floodwatch.sim import simulate
from tests.integration.services import service_config

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings


def message(i: int) -> Incoming:
    return Incoming(json.dumps(STORM[i].to_json()).encode(), "hydro/x/y", "canonical", "mqtt")


def opened(
    cfg: Path,
    on_alert: Callable[[AlertEvent], None] | None = None,
    config_dir: Path | None = None,
) -> Service:
    service = Service(load_config_dir(cfg), on_alert=on_alert, config_dir=config_dir)
    service.open()
    return service


def test_opened_it_has_a_store_closed_it_leaves_a_snapshot_a_clean_restart_replays_nothing(
    tmp_path: Path,
) -> None:
    cfg = service_config(tmp_path)
    service = Service(load_config_dir(cfg))
    assert service.store is None and service.clock_ms() is None
    service.open()
    assert service.store is not None and service.store.path == service.store_path
    service.step([message(i) for i in range(300)])
    clock, active = service.clock_ms(), service.active_alerts()
    assert clock is not None and service.inbox_seq >= 300  # (and the step's wall clock)
    service.close()
    assert service.store is None and service.snapshot_path.exists()
    again = opened(cfg)
    assert again.stats.replayed == 0  # the snapshot covers everything
    assert again.clock_ms() == clock and again.active_alerts() == active
    assert again.store is not None and list(again.store.inbox.after(0)) == []  # pruned
    again.close()


@pytest.mark.asyncio
async def test_the_loop_takes_the_waiting_messages_in_steps_and_stops_when_asked(
    tmp_path: Path,
) -> None:
    announced: list[AlertEvent] = []
    service = opened(service_config(tmp_path, batch_max=100), on_alert=announced.append)
    steps_done: list[int] = []

    async def after_step() -> None:
        steps_done.append(service.stats.readings)

    service.after_step = after_step
    for i in range(450):
        await service.put(message(i))
    loop = asyncio.create_task(service.process_forever())
    async with asyncio.timeout(20):
        while service.stats.readings < 450:
            await asyncio.sleep(0.01)
    service.stopping.set()
    await asyncio.wait_for(loop, 2)  # ends within its half-second wait
    assert service.queue.empty()
    assert steps_done[-1] == 450 and len(steps_done) == service.stats.steps
    assert all(b - a <= 100 for a, b in zip([0, *steps_done], steps_done, strict=False))
    assert 5 <= len(steps_done) <= 450  # batched: at most batch_max a step
    assert announced and {e.rule for e in announced} >= {"pond-level"}
    service.close()


def test_idle_ticks_move_event_time_on_only_after_idle_advance_after(tmp_path: Path) -> None:
    service = opened(service_config(tmp_path, idle_advance_after="2h"))
    assert service.idle_tick() == []  # no input ever: nothing to move on from
    service.step([message(i) for i in range(50)])
    clock = service.clock_ms()
    assert clock is not None
    service.pipeline.last_input = time.monotonic() - 3600  # an hour: not idle enough
    assert service.idle_tick() == [] and service.clock_ms() == clock
    service.pipeline.last_input = time.monotonic() - 6 * 3600  # six silent hours
    stale = service.idle_tick()
    moved = service.clock_ms()
    assert moved is not None and moved >= clock + 6 * 3600 * 1000 - 1000
    assert {e.rule for e in stale} == {"sensor-health/stale"}
    service.close()


def test_with_idle_advance_off_event_time_waits_for_input(tmp_path: Path) -> None:
    service = opened(service_config(tmp_path, idle_advance_after=None))
    service.step([message(0)])
    service.pipeline.last_input = time.monotonic() - 3600
    clock = service.clock_ms()
    assert service.idle_tick() == [] and service.clock_ms() == clock
    service.close()


def test_it_says_why_it_is_not_ready_and_what_it_counts(tmp_path: Path) -> None:
    service = Service(load_config_dir(service_config(tmp_path)))
    assert service.not_ready() == ["store not writable"]  # not opened
    service.open()
    connected = [False]
    service.readiness.append(("mqtt", lambda: connected[0]))
    assert service.not_ready() == ["mqtt not connected"]
    connected[0] = True
    assert service.not_ready() == []
    service.step([message(i) for i in range(10)])
    line = service.stats_line()
    assert line.startswith("stats: queue 0/10000; received {'mqtt': 10}; readings 10; rejected {};")
    assert "event clock 2026-" in line and "config reloads 0, failed 0" in line
    summary = service.summary(["mqtt", "sl651"])
    assert summary.startswith("floodwatch running: sources mqtt, sl651; ")
    assert f"store {service.store_path}" in summary and "snapshot every 2s" in summary
    assert "sources none;" in service.summary([])
    assert service.engine is service.shards.live[LOCAL].engine
    service.close()


def test_a_reload_swaps_a_good_config_in_and_keeps_the_last_good_one_on_a_bad_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = service_config(tmp_path)
    service = opened(cfg, config_dir=cfg)
    service.step([message(i) for i in range(100)])
    clock = service.clock_ms()
    assert service.reload() is True and service.stats.reloads == 1
    assert service.clock_ms() == clock and service.reload_problem is None
    broken = sorted(cfg.glob("*.yaml"))[0]
    text = broken.read_text(encoding="utf-8")
    broken.write_text(text + "\n  - : [\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR, "floodwatch.service"):
        assert service.reload() is False
    assert service.stats.reload_failures == 1 and service.reload_problem is not None
    assert service.reload_problem.severity.value == "info"
    assert "still running on the previous config" in caplog.text
    assert service.clock_ms() == clock
    broken.write_text(text, encoding="utf-8")
    assert service.reload() is True and service.reload_problem is None  # resolved
    service.close()


def test_an_unreadable_store_is_moved_aside_and_the_service_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = service_config(tmp_path)
    path = tmp_path / "var" / "floodwatch.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.ERROR, "floodwatch.service"):
        service = opened(cfg)
    assert service.store is not None and service.store.moved_aside is not None
    assert "store was unreadable: moved aside to" in caplog.text
    service.step([message(0)])
    assert service.stats.readings == 1
    service.close()
