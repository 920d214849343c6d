"""Ingest throughput and latency through real brokers, against raw clients.

In one run, on this machine:
- Kafka (tansu, 4 partitions): a raw aiokafka consumer draining N readings
  (the ceiling), then `floodwatch run`'s pipeline (consume → decode → engine
  → SQLite commit → offset commit) draining the same N.
- MQTT (mosquitto from deploy/): N readings queued for a persistent QoS 1
  session, drained by a raw aiomqtt subscriber, then by the service.
- Latency at a steady R readings/s over MQTT: publish → stored (the commit that
  also stores any alert the reading causes), p50 and p99. Allowed lateness is
  0 here, so a reading's alerts are computed and stored in that same commit;
  with a lateness L they come L of event time later, by design.

    .venv/bin/python bench/ingest.py [--readings 100000] [--rate 2000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import yaml
from aiokafka import AIOKafkaConsumer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine import RULES, stations_yaml  # noqa: E402

from floodwatch.ingest.partition import station_keys  # noqa: E402
from floodwatch.ingest.source import Incoming  # noqa: E402
from floodwatch.logs import setup_logging  # noqa: E402
from floodwatch.notify.sinks import load_config_dir  # noqa: E402
from floodwatch.readings import Reading  # noqa: E402
from floodwatch.rules.compile import compile_config  # noqa: E402
from floodwatch.service.lifecycle import run_service  # noqa: E402
from floodwatch.service.run import Service  # noqa: E402
from tests.integration.services import PASSWORD, Mosquitto, Tansu  # noqa: E402

STATIONS = 300
GATEWAY_STATIONS = [f"{t}{i}" for i in range(STATIONS // 3) for t in "pcr"]


def readings(n: int, start: datetime) -> list[Reading]:
    """n readings of STATIONS gauges (ponds, culverts, rain) at 1-minute sweeps."""
    out: list[Reading] = []
    minute = 0
    while len(out) < n:
        ts = start + timedelta(minutes=minute)
        for i in range(STATIONS // 3):
            out.append(Reading(f"p{i}", "level", 310.3 + (minute % 7) * 0.001, ts))
            out.append(Reading(f"c{i}", "flow", 1.2, ts))
            out.append(Reading(f"r{i}", "rain", 0.0, ts))
        minute += 1
    return out[:n]


def config(work: Path, **service: object) -> Path:
    cfg = work / f"config-{len(list(work.glob('config-*')))}"
    cfg.mkdir()
    (cfg / "stations.yaml").write_text(stations_yaml(STATIONS))
    (cfg / "rules.yaml").write_text(RULES)
    (cfg / "engine.yaml").write_text("engine: {allowed_lateness: 0s, max_future: 1d}\n")
    settings = {
        "store": str(cfg / "floodwatch.db"),
        "dead_letter": {"file": str(cfg / "dead-letter.jsonl")},
        "snapshot_every": "30s",
        "idle_advance_after": None,
        **service,
    }
    (cfg / "service.yaml").write_text(yaml.safe_dump({"service": settings}))
    return cfg


async def drain_service(cfg: Path, expect: int) -> tuple[float, Service]:
    """Run the service until it has stored `expect` readings; (seconds, service).
    Timed from the first message a source hands over (connecting and joining a
    group excluded) to the commit of the step that stores the last reading."""
    service = Service(load_config_dir(cfg))
    first = 0.0
    done = 0.0
    put = service.put

    async def timed_put(item: Incoming) -> None:
        nonlocal first
        if not first:
            first = time.perf_counter()
        await put(item)

    def stored(items: list[Incoming]) -> None:
        nonlocal done
        if service.stats.readings >= expect and not done:
            done = time.perf_counter()
            service.stopping.set()

    service.put = timed_put  # type: ignore[method-assign]
    service.on_stored = stored
    await run_service(service)
    return max(1e-6, (done or time.perf_counter()) - first), service


async def kafka_bench(work: Path, n: int) -> None:
    broker = Tansu(work / "tansu")
    broker.start()
    try:
        await asyncio.to_thread(broker.create_topic, "readings", 4)
        data = readings(n, datetime(2026, 7, 7, tzinfo=UTC))
        cfg = config(work, kafka={"bootstrap": broker.bootstrap, "topic": "readings"})
        keys = station_keys(compile_config(load_config_dir(cfg)))
        await asyncio.to_thread(broker.produce, "readings", data, 0.0, 2000, keys)
        consumer = AIOKafkaConsumer(
            "readings",
            bootstrap_servers=broker.bootstrap,
            group_id="raw",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        got = 0
        started = time.perf_counter()
        while got < n:
            batch = await consumer.getmany(timeout_ms=500)
            got += sum(len(m) for m in batch.values())
        raw = n / (time.perf_counter() - started)
        await consumer.stop()
        seconds, service = await drain_service(cfg, n)
        rate = n / seconds
        print(f"kafka  raw aiokafka consumer:   {raw:>10,.0f} readings/s")
        print(
            f"kafka  floodwatch (to commit):  {rate:>10,.0f} readings/s "
            f"({rate / raw:.2f} of raw; target ≥ 0.50) in {service.stats.steps} steps"
        )
    finally:
        broker.stop()


async def mqtt_queue(broker: Mosquitto, client_id: str, data: list[Reading]) -> None:
    """Create a persistent session for `client_id`, then queue `data` for it."""
    async with aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        identifier=client_id,
        username="floodwatch",
        password=PASSWORD,
        clean_session=False,
    ) as client:
        await client.subscribe("gateway/#", qos=1)
    lines = [json.dumps(r.to_json()) for r in data]
    await asyncio.to_thread(broker.publish, "gateway/county-gw", lines, "county-gw")


async def mqtt_bench(work: Path, n: int, rate: int, seconds: int) -> None:
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    try:
        data = readings(n, datetime(2026, 7, 7, tzinfo=UTC))
        await mqtt_queue(broker, "raw", data)
        got = 0
        started = time.perf_counter()
        async with aiomqtt.Client(
            "127.0.0.1",
            broker.port,
            identifier="raw",
            username="floodwatch",
            password=PASSWORD,
            clean_session=False,
        ) as client:
            await client.subscribe("gateway/#", qos=1)
            async for _ in client.messages:
                got += 1
                if got >= n:
                    break
        raw = n / (time.perf_counter() - started)
        mqtt = {
            "port": broker.port,
            "username": "floodwatch",
            "password_file": str(work / "pw"),
            "protocol": "3.1.1",
            "topics": [{"pattern": "gateway/{gateway}", "format": "batch"}],
            "gateways": {"county-gw": GATEWAY_STATIONS},
        }
        (work / "pw").write_text(PASSWORD)
        await mqtt_queue(broker, "floodwatch", data)
        seconds_taken, service = await drain_service(config(work, mqtt=mqtt), n)
        through = n / seconds_taken
        print(f"mqtt   raw aiomqtt subscriber:  {raw:>10,.0f} readings/s (QoS 1)")
        print(
            f"mqtt   floodwatch (to ack):     {through:>10,.0f} readings/s "
            f"({through / raw:.2f} of raw; target ≥ 0.70) in {service.stats.steps} steps"
        )
    finally:
        broker.stop()
    broker = Mosquitto(work / "mosquitto-latency")
    broker.start()
    try:
        mqtt["port"] = broker.port
        await mqtt_latency(broker, work, mqtt, rate, seconds)
    finally:
        broker.stop()


async def mqtt_latency(
    broker: Mosquitto, work: Path, mqtt: dict[str, object], rate: int, seconds: int
) -> None:
    service = Service(load_config_dir(config(work, mqtt={**mqtt, "client_id": "fw-latency"})))
    sent: dict[bytes, float] = {}
    latencies: list[float] = []

    def stored(items: list[Incoming]) -> None:
        now = time.perf_counter()
        for item in items:
            t = sent.pop(item.payload, None)
            if t is not None:
                latencies.append(now - t)

    service.on_stored = stored
    runner = asyncio.create_task(run_service(service))
    await asyncio.sleep(2.0)
    async with aiomqtt.Client(
        "127.0.0.1", broker.port, username="county-gw", password=PASSWORD
    ) as pub:
        total = rate * seconds
        start = time.perf_counter()
        now = datetime.now(UTC)
        for k in range(total):
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            i = k % STATIONS
            station = ("p", "c", "r")[i % 3] + str(i // 3)
            kind = {"p": "level", "c": "flow", "r": "rain"}[station[0]]
            value = {"level": 310.3, "flow": 1.2, "rain": 0.0}[kind]
            ts = now + timedelta(milliseconds=k)
            payload = json.dumps(
                {"station": station, "kind": kind, "value": value, "ts": ts.isoformat()}
            ).encode()
            sent[payload] = time.perf_counter()
            await pub.publish("gateway/county-gw", payload, qos=1)
    await asyncio.sleep(2.0)
    service.stopping.set()
    await runner
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(
        f"mqtt   publish → stored at {rate:,}/s for {seconds}s: p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms ({len(latencies):,} readings; target p99 < 50 ms)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    setup_logging("text", level=40)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        await kafka_bench(work, args.readings)
        await mqtt_bench(work, min(args.readings, 50_000), args.rate, args.seconds)


if __name__ == "__main__":
    asyncio.run(main())
