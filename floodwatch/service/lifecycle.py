"""`floodwatch run` and `floodwatch bridge` as processes: the start order, the
processing task, the tasks beside it (deliveries, follow-ups, dead-letter
topics, config watching, HTTP), signals and an orderly shutdown, wired around a
`Service` (`service/run.py`). Which sources are built and how they are joined
(MQTT, Kafka, SL 651, the bridge) is `service/sources.py`'s. The HTTP side is
the web layer's, handed in by the caller (`run_service(service, http)`)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from floodwatch.config.loader import LoadedConfig
from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.ingest.decode import Decoders
from floodwatch.notify.deadletter import Publisher
from floodwatch.rules.compile import compile_config
from floodwatch.service import operations, signals
from floodwatch.service.private import private_umask
from floodwatch.service.run import Service
from floodwatch.service.sources import Sources

log = logging.getLogger("floodwatch.service")


async def run_service(
    service: Service, http: Callable[[Service], Coroutine[Any, Any, None]] | None = None
) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code: 2 when a source
    cannot be built or a broker not reached (nothing opened), 0 after a stop
    asked while starting or an orderly stop, 1 when the bridge lost readings to
    Kafka. An error that ended a task is raised once everything is closed; one
    that ended the engine is raised from `_shut_down` as it waits for it.
    `http` serves the command center (`floodwatch.web.live.serve`, given by the
    program that composes the two: the service does not know the web layer); it
    runs as one more task when `service.http` is configured.

    The order, in one place: signal handlers, the sources built and their
    brokers checked (`Sources`), the store opened, the sources started, the
    tasks beside them (`_background`), the engine; "floodwatch running" once
    the MQTT subscriptions are granted; then `_shut_down`."""
    private_umask()  # the store, snapshot, dead-letter and key files: 0600
    _stop_on_signals(service.stopping)
    sources = Sources.build(service)
    if sources is None or not await sources.check():
        return 2
    service.open()
    sources.take_up_memory(service)
    if service.stopping.is_set():  # asked to stop while starting
        service.close()
        return 0
    tasks = await sources.start()
    tasks += _background(service, http)
    processor = asyncio.create_task(service.process_forever(), name="engine")
    stop: asyncio.Task[object] = asyncio.create_task(_wait(service.stopping))
    # Running (and ready) only once the broker has acknowledged the subscriptions:
    # on a first-ever start it keeps nothing for the session before that.
    if sources.mqtt is None or await _first([processor, stop, *tasks], sources.mqtt.connected):
        log.info("%s", service.summary(sources.names()))
    done, _ = await asyncio.wait([processor, stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
    await _shut_down(service, sources, tasks, processor)
    for task in done:
        error = None if task is stop else task.exception()
        if error is not None:
            raise error
    return sources.exit_code


async def _shut_down(
    service: Service,
    sources: Sources,
    tasks: list[asyncio.Task[object]],
    processor: asyncio.Task[None],
) -> None:
    """Called once, when the stop signal, the engine or any other task ends
    first. Intake stops before the engine: the sources and background tasks
    cancelled, the bridge drained; the engine then gets up to 8 s to finish
    the batch in hand (an error it ended with, or the timeout, is raised from
    here and the rest is left undone); Kafka's offsets are committed and its
    consumer stopped; the store closed last."""
    service.stopping.set()
    await _cancel(tasks)
    await sources.stop_intake()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(processor, timeout=8)
    await sources.stop_kafka()
    service.close()
    log.info("%s", service.stats_line())
    log.info("floodwatch stopped")


def _background(
    service: Service, http: Callable[[Service], Coroutine[Any, Any, None]] | None
) -> list[asyncio.Task[object]]:
    """Called once by `run_service`, after the sources' tasks are created and
    before the engine's: the tasks beside them, as configured — dead-letter
    topics, config watching, deliveries and their follow-ups, the HTTP server —
    in that order. The deliverer is built here (`service.deliverer`) only when
    `service.notify` is configured and the store is open. The tasks are the
    caller's to cancel."""
    settings = service.settings
    tasks: list[asyncio.Task[object]] = []
    if service.dead_letter_topics.enabled:
        trouble = functools.partial(operations.destination_trouble, service)
        service.dead_letter_topics.on_trouble = trouble
        tasks.append(asyncio.create_task(service.dead_letter_topics.run(), name="dead-letter"))
    if service.config_dir is not None:
        tasks.append(asyncio.create_task(_watch_config(service), name="config-watch"))
    if settings.notify is not None and service.store is not None:
        from floodwatch.notify.deliver import Deliverer

        service.deliverer = Deliverer(
            settings.notify,
            service.store,
            service.dead_letter,
            settings.kafka,
            compiled=service.compiled,
            mqtt=settings.mqtt,
            config_dir=service.config_dir,
            on_trouble=functools.partial(operations.destination_trouble, service),
        )
        tasks.append(asyncio.create_task(service.deliverer.run(), name="deliveries"))
        tasks.append(asyncio.create_task(_follow_up(service), name="follow-up"))
    healths = service.dead_letter_topics.healths()
    if service.deliverer is not None:
        healths.update(service.deliverer.health)
    operations.carry_trouble(service, healths)
    if settings.http is not None and http is not None:
        tasks.append(asyncio.create_task(http(service), name="http"))
    return tasks


async def _follow_up(service: Service) -> None:
    """Every second: call-and-answer resends and escalations, reminders; every
    hour: finished deliveries older than `notify.keep` pruned."""
    assert service.dispatcher is not None and service.deliverer is not None
    assert service.store is not None and service.settings.notify is not None
    keep = service.settings.notify.keep.total_seconds()
    pruned_at = 0.0
    while True:
        await asyncio.sleep(1.0)
        now = time.time()
        if service.dispatcher.follow_up(now):
            service.deliverer.wake()
        if now - pruned_at >= 3600:
            pruned_at = now
            gone = service.store.prune_deliveries(now - keep)
            if gone:
                log.info("pruned %d deliveries finished over %.0f days ago", gone, keep / 86400)


async def _watch_config(service: Service) -> None:
    """Reload on SIGHUP and whenever a YAML file of the config directory changes."""
    import watchfiles

    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # we log what we do about it
    directory = service.config_dir
    assert directory is not None
    asked = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, asked.set)

    def yaml_file(change: watchfiles.Change, path: str) -> bool:
        return path.endswith((".yaml", ".yml"))

    # The watcher waits in a thread: it must be told to stop (stop_event, checked
    # every `step` ms) and awaited, or the process cannot exit.
    stop = asyncio.Event()

    async def watch() -> None:
        async for _ in watchfiles.awatch(
            directory,
            watch_filter=yaml_file,
            recursive=False,
            debounce=500,
            stop_event=stop,
            rust_timeout=1000,
        ):
            asked.set()

    watcher = asyncio.create_task(watch())
    try:
        while True:
            await asked.wait()
            asked.clear()
            log.info("config directory changed (or SIGHUP): reloading")
            service.reload()
    finally:
        stop.set()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(watcher, timeout=3)


async def run_bridge(loaded: LoadedConfig) -> int:
    """`floodwatch bridge`: MQTT readings into the Kafka topic until SIGTERM/SIGINT."""
    from floodwatch.ingest.bridge import Bridge
    from floodwatch.ingest.kafka import check_kafka
    from floodwatch.ingest.mqtt import MqttSource
    from floodwatch.ingest.partition import station_keys

    settings = loaded.config.service
    if settings.mqtt is None or settings.kafka is None:
        log.error("the bridge needs both service.mqtt and service.kafka in the config")
        return 2
    private_umask()  # its dead-letter file: 0600
    stopping = asyncio.Event()
    _stop_on_signals(stopping)
    dead_letter = DeadLetter(Path(settings.dead_letter.file))
    bridge = Bridge(
        settings.kafka,
        station_keys(compile_config(loaded)),
        Decoders(settings.mappings, settings.max_payload, settings.mqtt.gateways),
        dead_letter,
        stopping,
    )
    mqtt = MqttSource(settings.mqtt, bridge.put)
    topics = Publisher(dead_letter, settings.dead_letter, settings.mqtt, settings.kafka)
    try:
        await mqtt.check()
        await check_kafka(settings.kafka)
    except ConnectionError as exc:
        log.error("%s", exc)
        return 2
    await bridge.start()
    receiver = asyncio.create_task(mqtt.run(), name=mqtt.name)
    extra = [asyncio.create_task(topics.run(), name="dead-letter")] if topics.enabled else []
    stop: asyncio.Task[object] = asyncio.create_task(_wait(stopping))
    if await _first([receiver, stop], mqtt.connected):
        log.info(
            "floodwatch bridge running: %s -> kafka://%s/%s, keyed by station",
            mqtt.name,
            settings.kafka.bootstrap,
            settings.kafka.topic,
        )
    done, _ = await asyncio.wait([receiver, stop], return_when=asyncio.FIRST_COMPLETED)
    await _cancel([receiver, *extra])
    await bridge.stop()
    dead_letter.close()
    log.info(
        "floodwatch bridge stopped: %d readings forwarded, %d rejected",
        bridge.forwarded,
        bridge.rejected,
    )
    if receiver in done and receiver.exception() is not None:
        raise receiver.exception()  # type: ignore[misc]
    return 1 if bridge.failure is not None else 0


def _stop_on_signals(stopping: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def stop(sig: signal.Signals) -> None:
        log.info("%s received: stopping", sig.name)
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig)
    held = signals.take_held()  # one that came while the program was starting
    if held is not None:
        stop(held)


async def _cancel(tasks: list[asyncio.Task[object]]) -> None:
    """Cancel and wait for the tasks. A cancellation can be lost inside a library
    (Python 3.11's `asyncio.wait_for` swallows one that lands as its future
    completes — aiomqtt's subscribe at connect time), so cancel again until done."""
    while pending := [t for t in tasks if not t.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.5)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s ended with %r while stopping", task.get_name(), task.exception())


async def _wait(event: asyncio.Event) -> object:
    return await event.wait()


async def _first(tasks: list[asyncio.Task[object]], event: asyncio.Event) -> bool:
    """Wait until `event` is set (True) or one of `tasks` ends (False)."""
    waiter = asyncio.create_task(event.wait())
    await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    return event.is_set()
