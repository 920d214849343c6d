"""`floodwatch run` and `floodwatch bridge` as processes: sources, the
processing task, deliveries, follow-ups, config watching, signals and an
orderly shutdown, wired around a `Service` (`service/run.py`). The HTTP side
is the web layer's, handed in by the caller (`run_service(service, http)`)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floodwatch.config.loader import LoadedConfig
from floodwatch.ingest.deadletter import DeadLetter
from floodwatch.ingest.decode import Decoders
from floodwatch.notify.deadletter import Publisher
from floodwatch.rules.compile import compile_config
from floodwatch.service import operations, signals
from floodwatch.service.private import private_umask
from floodwatch.service.run import Service

if TYPE_CHECKING:
    from floodwatch.ingest.bridge import Bridge

log = logging.getLogger("floodwatch.service")


async def run_service(  # noqa: C901, PLR0912, PLR0915 — start in order, stop in reverse, in one place
    service: Service, http: Callable[[Service], Coroutine[Any, Any, None]] | None = None
) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code. `http` serves the
    command center (`floodwatch.web.live.serve`, given by the program that
    composes the two: the service does not know the web layer); it runs as one
    more task when `service.http` is configured."""
    from floodwatch.ingest.kafka import KafkaSource
    from floodwatch.ingest.mqtt import MqttSource

    settings = service.settings
    private_umask()  # the store, snapshot, dead-letter and key files: 0600
    _stop_on_signals(service.stopping)
    kafka = None
    if settings.kafka is not None:
        kafka = KafkaSource(
            settings.kafka, service.shards, service.decoders, service.put, settings.batch_max
        )
        service.after_step = kafka.commit  # right after each step is stored
    bridge = None
    mqtt = None
    if settings.mqtt is not None:
        put = service.put
        if settings.kafka is not None:  # every reading takes one path: through Kafka
            bridge = _bridge(service)
            put = bridge.put
        mqtt = MqttSource(settings.mqtt, put)
        service.readiness.append(("mqtt", mqtt.connected.is_set))  # subscriptions granted
    sl651 = None
    remembered = None
    if settings.sl651 is not None:
        from floodwatch.ingest.sl651.mapping import Directory
        from floodwatch.ingest.sl651.remembered import Remembered
        from floodwatch.ingest.sl651.server import Receiver

        if bridge is None and settings.kafka is not None:
            bridge = _bridge(service)
        try:
            directory = Directory(service.compiled.config.stations)
        except ValueError as exc:
            log.error("service.sl651: %s", exc)
            return 2
        pictures = settings.sl651.pictures or service.store_path.parent / "sl651-pictures"
        if bridge is not None:  # into Kafka: remembered once Kafka has the readings
            remembered = Remembered(
                functools.partial(_remember_sl651, service), bridge.put, service.stopping
            )
        sl651 = Receiver(
            settings.sl651,
            directory,
            remembered.put if remembered is not None else service.put,
            service.reject,
            pictures=Path(pictures),
        )
        service.sl651 = sl651
        service.readiness.append(("sl651", sl651.listening.is_set))
    if kafka is not None:
        service.readiness.append(("kafka", lambda: kafka.joined))  # partitions assigned
    try:
        if mqtt is not None:
            await mqtt.check()
        if kafka is not None:
            await kafka.check()
    except ConnectionError as exc:
        log.error("%s", exc)
        return 2
    service.open()
    if sl651 is not None and service.store is not None:
        # Its memory: in the step's transaction, or (into Kafka) `remembered`'s.
        sl651.memory = service.store.sl651
        sl651.restore()
    if service.stopping.is_set():  # asked to stop while starting
        service.close()
        return 0
    if bridge is not None:
        await bridge.start()
    names = [s.name for s in (mqtt, sl651, kafka) if s is not None]
    if bridge is not None:
        names[0] += f" (bridged into {settings.kafka.topic})"  # type: ignore[union-attr]
    tasks: list[asyncio.Task[object]] = [
        asyncio.create_task(s.run(), name=s.name) for s in (mqtt, sl651, kafka) if s is not None
    ]
    if remembered is not None:
        tasks.append(asyncio.create_task(remembered.run(), name="sl651-memory"))
    tasks += _background(service, http)
    processor = asyncio.create_task(service.process_forever(), name="engine")
    stop: asyncio.Task[object] = asyncio.create_task(_wait(service.stopping))
    # Running (and ready) only once the broker has acknowledged the subscriptions:
    # on a first-ever start it keeps nothing for the session before that.
    if mqtt is None or await _first([processor, stop, *tasks], mqtt.connected):
        log.info("%s", service.summary(names))
    done, _ = await asyncio.wait([processor, stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
    service.stopping.set()
    # Stop intake, let the processor finish the batch in hand, then close.
    await _cancel(tasks)
    if bridge is not None:
        await bridge.stop()
    if remembered is not None:
        remembered.flush()  # what Kafka acknowledged while stopping
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(processor, timeout=8)
    if kafka is not None:
        await kafka.stop()
    service.close()
    log.info("%s", service.stats_line())
    log.info("floodwatch stopped")
    for task in done:
        error = None if task is stop else task.exception()
        if error is not None:
            raise error
    return 1 if bridge is not None and bridge.failure is not None else 0


def _remember_sl651(service: Service, hooks: Iterable[Callable[[], None]]) -> None:
    """SL 651 reports Kafka acknowledged, remembered in the store (`Remembered`)."""
    if service.store is None:
        raise OSError("the store is not open")
    service.store.sl651.write(hooks)


def _bridge(service: Service) -> Bridge:
    """The MQTT/SL 651 → Kafka bridge: every reading takes one path, through Kafka."""
    from floodwatch.ingest.bridge import Bridge
    from floodwatch.ingest.partition import station_keys

    assert service.settings.kafka is not None
    return Bridge(
        service.settings.kafka,
        station_keys(service.compiled),
        service.decoders,
        service.dead_letter,
        service.stopping,
    )


def _background(
    service: Service, http: Callable[[Service], Coroutine[Any, Any, None]] | None
) -> list[asyncio.Task[object]]:
    """The tasks beside the sources and the engine, as configured: dead-letter
    topics, config watching, deliveries and their follow-ups, the HTTP server."""
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
