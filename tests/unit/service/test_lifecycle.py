"""`floodwatch run` as a process would run it, in this one (service/lifecycle.py):
the exit codes, the start and stop order, and what happens when the engine
dies mid-step — against a real mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from floodwatch.notify.sinks import load_config_dir
from floodwatch.service.lifecycle import _cancel, _first, run_bridge, run_service
from floodwatch.service.run import Service
from floodwatch.sim import simulate
from floodwatch.store import Store
from tests.integration.services import (
    Gateway,
    Mosquitto,
    batch_lines,
    expected_transitions,
    free_port,
    service_config,
    stored_transitions,
)

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings[:600]
LOG = "floodwatch.service"


@pytest.fixture(autouse=True)
def _umask_back() -> Iterator[None]:
    """run_service makes the process umask 077 (its files are private): give the
    rest of the suite its own back."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


def _service(cfg: Path) -> Service:
    return Service(load_config_dir(cfg), config_dir=None)


async def _until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def _saved(path: Path, text: str, seen: Callable[[], bool]) -> None:
    """Save `text` to `path` until the service has seen it (its file watcher
    starts in a thread beside the engine: an edit before it is up goes unseen)."""
    for _ in range(10):
        path.write_text(text)
        with contextlib.suppress(TimeoutError):
            await _until(seen, f"{path.name} seen", 2)
            return
    raise TimeoutError(f"{path.name} never seen")


async def _publish(broker: Mosquitto, lines: list[str]) -> None:
    await asyncio.to_thread(broker.publish, "gateway/county-gw", lines, "county-gw")


def test_an_unreachable_broker_exits_2_having_opened_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = _service(service_config(tmp_path, free_port()))
    with caplog.at_level(logging.ERROR, LOG):
        assert asyncio.run(run_service(service)) == 2
    assert "cannot reach the MQTT broker" in caplog.text
    assert not service.store_path.exists() and not service.snapshot_path.exists()


def test_a_stop_asked_while_starting_exits_0_with_the_store_opened_and_closed(
    tmp_path: Path, mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    service = _service(service_config(tmp_path, mosquitto.port))
    service.stopping.set()  # SIGTERM while the store was opening
    with caplog.at_level(logging.INFO, LOG):
        assert asyncio.run(run_service(service)) == 0
    assert service.store is None  # closed, with a snapshot to start from
    assert service.snapshot_path.exists()
    assert "floodwatch running" not in caplog.text


def test_a_running_service_stores_what_arrives_and_stops_in_order(
    tmp_path: Path, mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = service_config(tmp_path, mosquitto.port, idle_advance_after=None)
    service = _service(cfg)

    async def scenario() -> int:
        run = asyncio.create_task(run_service(service))
        await _until(lambda: service.store is not None and not service.not_ready(), "ready")
        await _publish(mosquitto, batch_lines(STORM))
        await _until(lambda: service.stats.readings == len(STORM), "every reading stored")
        service.stopping.set()
        return await run

    with caplog.at_level(logging.INFO, LOG):
        assert asyncio.run(scenario()) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == LOG]
    running = next(i for i, line in enumerate(lines) if line.startswith("floodwatch running"))
    assert "sources mqtt://127.0.0.1" in lines[running]
    assert lines[-1] == "floodwatch stopped" and lines[-2].startswith("stats: ")
    db = service.store_path
    assert stored_transitions(db) == expected_transitions(cfg, STORM)
    assert service.store is None and service.snapshot_path.exists()
    # the final snapshot covers the whole inbox: a restart replays nothing
    again = _service(cfg)
    again.open()
    assert again.stats.replayed == 0 and again.clock_ms() == service.clock_ms()
    again.close()


def test_an_engine_that_dies_mid_step_is_raised_and_its_messages_come_again(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """The store refuses the alerts (disk full: a trigger here): the step's
    messages are not acknowledged, the engine task ends, `run_service` stops the
    intake and raises. Started again with room on the disk, the broker hands the
    unacknowledged messages over again and every transition is stored."""
    cfg = service_config(tmp_path, mosquitto.port, idle_advance_after=None)
    first = _service(cfg)
    Store(first.store_path).close()
    with contextlib.closing(sqlite3.connect(first.store_path)) as db:
        db.execute(
            "CREATE TRIGGER full BEFORE INSERT ON transitions "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
        db.commit()

    async def dies() -> None:
        run = asyncio.create_task(run_service(first))
        await _until(lambda: first.store is not None and not first.not_ready(), "ready")
        await _publish(mosquitto, batch_lines(STORM))
        await run

    with pytest.raises(sqlite3.DatabaseError, match="disk is full"):
        asyncio.run(dies())
    assert first.stopping.is_set()
    assert first.store is not None  # left as it was: the process ends here
    first.store.close()
    first.snapshots.close()
    first.dead_letter.close()
    assert stored_transitions(first.store_path) == []
    with contextlib.closing(sqlite3.connect(first.store_path)) as db:
        db.execute("DROP TRIGGER full")
        db.commit()
    second = _service(cfg)

    async def again() -> int:
        run = asyncio.create_task(run_service(second))
        expected = expected_transitions(cfg, STORM)
        await _until(lambda: stored_transitions(second.store_path) == expected, "stored", 60)
        second.stopping.set()
        return await run

    assert asyncio.run(again()) == 0


def test_the_bridge_needs_mqtt_and_kafka_and_exits_2_without(tmp_path: Path) -> None:
    loaded = load_config_dir(service_config(tmp_path, free_port()))
    assert asyncio.run(run_bridge(loaded)) == 2


def test_a_task_that_swallows_its_cancellation_is_cancelled_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def stubborn() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # as a library may, once
            await asyncio.sleep(30)
        await asyncio.sleep(30)

    async def broken() -> None:
        raise RuntimeError("gone")

    async def scenario() -> list[asyncio.Task[object]]:
        tasks: list[asyncio.Task[object]] = [
            asyncio.create_task(stubborn(), name="stubborn"),
            asyncio.create_task(broken(), name="broken"),
        ]
        await asyncio.sleep(0)
        await asyncio.wait_for(_cancel(tasks), 5)
        return tasks

    with caplog.at_level(logging.WARNING, LOG):
        tasks = asyncio.run(scenario())
    assert tasks[0].cancelled()
    assert "broken ended with RuntimeError('gone') while stopping" in caplog.text


def test_first_tells_whether_the_event_came_before_a_task_ended() -> None:
    async def scenario() -> tuple[bool, bool]:
        event = asyncio.Event()
        ended: asyncio.Task[object] = asyncio.create_task(asyncio.sleep(0))
        before = await _first([ended], event)
        forever: asyncio.Task[object] = asyncio.create_task(asyncio.sleep(30))
        asyncio.get_running_loop().call_later(0.01, event.set)
        after = await _first([forever], event)
        forever.cancel()
        return before, after

    assert asyncio.run(scenario()) == (False, True)


def test_a_config_edit_while_running_is_taken_up_and_bad_yaml_keeps_the_last_good_one(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    cfg = service_config(tmp_path, mosquitto.port, idle_advance_after=None)
    service = Service(load_config_dir(cfg), config_dir=cfg)
    rules = cfg / "rules.yaml"
    good = rules.read_text()

    async def scenario() -> int:
        run = asyncio.create_task(run_service(service))
        await _until(lambda: service.store is not None and not service.not_ready(), "ready")
        before = service.compiled
        bad = good.replace("rules:", "rules: [", 1)  # an editor's half-save
        await _saved(rules, bad, lambda: service.stats.reload_failures >= 1)
        assert service.compiled is before and service.reload_problem is not None
        assert not run.done()  # still running on the last good config
        await _saved(rules, good, lambda: service.stats.reloads >= 1)
        assert service.reload_problem is None
        reloads = service.stats.reloads
        os.kill(os.getpid(), signal.SIGHUP)  # `systemctl reload floodwatch`
        await _until(lambda: service.stats.reloads > reloads, "SIGHUP reload", 20)
        service.stopping.set()
        return await run

    assert asyncio.run(scenario()) == 0
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL  # the loop's handler is gone


def test_with_notify_and_http_the_deliveries_and_the_web_side_run_beside_the_engine(
    tmp_path: Path, mosquitto: Mosquitto, gateway: Gateway
) -> None:
    (tmp_path / "tokens").write_text("a-token operator duty-officer\n")
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        idle_advance_after=None,
        http={"port": free_port(), "token_file": str(tmp_path / "tokens")},
        notify={
            "destinations": {"duty": {"type": "webhook", "url": f"{gateway.url}/duty"}},
            "routes": [{"to": ["duty"]}],
            "retry_max": "5s",
        },
    )
    service = _service(cfg)
    served: list[Service] = []

    async def http(running: Service) -> None:  # the web layer, as the program hands it in
        served.append(running)
        await asyncio.Event().wait()

    async def scenario() -> int:
        run = asyncio.create_task(run_service(service, http))
        await _until(lambda: service.store is not None and not service.not_ready(), "ready")
        assert service.deliverer is not None  # built once the store was open
        await _publish(mosquitto, batch_lines(STORM))
        await _until(lambda: len(gateway.keys("/duty")) > 0, "an alert delivered", 30)
        service.stopping.set()
        return await run

    assert asyncio.run(scenario()) == 0
    assert served == [service]
    firing = [b for b in gateway.bodies("/duty") if b.get("transition") == "firing"]
    assert firing, gateway.bodies("/duty")[:1]


def test_an_sl651_port_taken_by_another_program_ends_the_run_after_an_orderly_stop(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = service_config(tmp_path, sl651={"listen": f"127.0.0.1:{port}"})
        service = _service(cfg)
        with pytest.raises(OSError) as raised:
            asyncio.run(run_service(service))
    assert raised.value.errno == errno.EADDRINUSE
    assert service.stopping.is_set()
    assert service.store is None  # closed before the error was raised
    assert service.snapshot_path.exists()
