"""SL 651 receiver under many RTUs: connections held, frames/s, p99 time from
frame received to confirmation sent, memory per idle connection.

The receiver runs in this process with a sink that stands in for the
service's processing step: it takes what is queued every 2 ms (the service's
linger) and confirms it all (no engine, no SQLite — the engine and store have
their own benchmarks, bench/engine.py and bench/ingest.py). The RTUs run in a
second process (`--client`), so their CPU does not count against the
receiver's; they open every connection first (idle memory is measured then),
then send timed reports at the given total rate, each RTU waiting for its
confirmation.

    python bench/sl651.py [--connections 5000] [--rate 1000] [--seconds 20] [--service]

`--service` runs a real `floodwatch run` instead (a config of N rain gauges,
the engine and the SQLite store in the loop: the confirmation waits for the
step's commit); its latency is then measured by the RTUs, from sending a
report to its confirmation arriving, and memory from the process's RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from floodwatch.config.models import Station
from floodwatch.config.sl651 import Sl651Settings
from floodwatch.ingest.sl651.body import TIMED, Element
from floodwatch.ingest.sl651.mapping import Directory
from floodwatch.ingest.sl651.rtu import Rtu, RtuIdentity
from floodwatch.ingest.sl651.server import Receiver
from floodwatch.ingest.source import Incoming

LINGER = 0.002
T0 = datetime(2026, 7, 7, 8, 0)  # noqa: DTZ001 - the RTUs' local clock


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _address(i: int) -> str:
    return f"{i:010d}"


def _rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _stations(n: int) -> list[Station]:
    return [
        Station.model_validate(
            {
                "id": f"st{i}",
                "name": f"站{i}",
                "type": "rain_gauge",
                "sl651": {"address": _address(i), "password": "0000", "class": "P"},
            }
        )
        for i in range(n)
    ]


async def _client(port: int, n: int, rate: float, seconds: float) -> None:
    rtus = [
        Rtu(RtuIdentity(_address(i), "0000", "P"), "127.0.0.1", port, confirm_timeout=30)
        for i in range(n)
    ]
    for start in range(0, n, 500):  # connect in waves, as modems do after a cell outage
        await asyncio.gather(*(r.connect() for r in rtus[start : start + 500]))
    print("connected", flush=True)
    sys.stdin.readline()  # the receiver has measured idle memory
    loop = asyncio.get_running_loop()
    begin = loop.time()
    total = int(rate * seconds)

    waits: list[float] = []

    # One report in flight per RTU: the next waits for the one before (an
    # overloaded receiver then shows as latency, as with real RTUs).
    locks = [asyncio.Lock() for _ in range(n)]

    async def one(k: int) -> None:
        await asyncio.sleep(max(0.0, begin + k / rate - loop.time()))
        at = T0 + timedelta(minutes=5 * (k // n))
        sent = loop.time()
        async with locks[k % n]:
            await rtus[k % n].report(TIMED, [Element("PJ", at, 0.5)], at)
        waits.append(loop.time() - sent)

    async def bounded(k: int) -> None:
        await one(k)

    await asyncio.gather(*(bounded(k) for k in range(total)))
    waits.sort()
    p99 = waits[min(len(waits) - 1, int(0.99 * len(waits)))] * 1000
    p50 = waits[len(waits) // 2] * 1000
    print(
        f"sent {total} in {loop.time() - begin:.1f}s; sent→confirmed (RTU side) "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {waits[-1] * 1000:.1f} ms",
        flush=True,
    )
    for r in rtus:
        await r.close()


async def _server(n: int, rate: float, seconds: float) -> None:
    gc.collect()
    queue: asyncio.Queue[Incoming] = asyncio.Queue(10_000)
    latencies: list[float] = []
    settings = Sl651Settings(listen="127.0.0.1:0", max_connections=n + 10)
    rx = Receiver(settings, Directory(_stations(n)), queue.put, lambda rejected: None)
    rx.on_confirm = latencies.append

    async def commit() -> None:
        while True:
            items = [await queue.get()]
            await asyncio.sleep(LINGER)
            while not queue.empty():
                items.append(queue.get_nowait())
            for item in items:
                if item.confirm is not None:
                    item.confirm()

    serving = asyncio.create_task(rx.run())
    committing = asyncio.create_task(commit())
    await rx.listening.wait()
    gc.collect()
    before = _rss_kb()
    client = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        str(rx.port),
        "--connections",
        str(n),
        "--rate",
        str(rate),
        "--seconds",
        str(seconds),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert client.stdout is not None and client.stdin is not None
    line = await client.stdout.readline()
    assert line.strip() == b"connected", line
    deadline = time.monotonic() + 60
    while rx.connections < n and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    gc.collect()
    await asyncio.sleep(0.5)
    idle = _rss_kb()
    held = rx.connections
    print(f"connections held at once: {held} of {n}")
    print(
        f"memory per idle connection: {(idle - before) / max(held, 1):.1f} KB "
        f"(RSS {before / 1024:.0f} MB -> {idle / 1024:.0f} MB)"
    )
    client.stdin.write(b"go\n")
    await client.stdin.drain()
    started = time.monotonic()
    out = await client.stdout.readline()
    elapsed = time.monotonic() - started
    await client.wait()
    latencies.sort()
    count = len(latencies)
    p = lambda q: latencies[min(count - 1, int(q * count))] * 1000  # noqa: E731
    print(f"client: {out.decode().strip()}")
    print(
        f"confirmed {count} reports in {elapsed:.1f}s: {count / elapsed:.0f} frames/s; "
        f"received→confirmation p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms"
    )
    print(f"refused {sum(rx.refused.values())}, duplicates {rx.duplicates}")
    serving.cancel()
    committing.cancel()


def _service(n: int, rate: float, seconds: float, snapshot_every: str | None = None) -> None:
    """The same RTUs against a real `floodwatch run`."""
    import socket
    import tempfile

    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        stations = [
            {
                "id": f"st{i}",
                "name": f"站{i}",
                "type": "rain_gauge",
                "backfill": "1h",  # concurrent RTUs: a report may come after the next sweep
                "sl651": {"address": _address(i), "password": "0000", "class": "P"},
            }
            for i in range(n)
        ]
        cfg = work / "config"
        cfg.mkdir()
        (cfg / "stations.yaml").write_text(yaml.safe_dump({"stations": stations}))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            http_port = sock.getsockname()[1]
        tokens = work / "tokens"
        tokens.write_text("bench-token viewer bench\n")
        tokens.chmod(0o600)
        service = {
            "store": str(work / "fw.db"),
            "dead_letter": {"file": str(work / "dead.jsonl")},
            "sl651": {"listen": f"127.0.0.1:{port}", "max_connections": n + 10},
            "http": {"port": http_port, "token_file": str(tokens)},
        }
        if snapshot_every is not None:
            service["snapshot_every"] = snapshot_every
        (cfg / "service.yaml").write_text(yaml.safe_dump({"service": service}))
        log = open(work / "fw.log", "wb")  # noqa: SIM115 - closed below
        fw = subprocess.Popen(
            [sys.executable, "-m", "floodwatch", "run", "--config", str(cfg)],
            stderr=log,
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while b"sl651 receiver listening" not in (work / "fw.log").read_bytes():
                assert fw.poll() is None and time.monotonic() < deadline, (
                    work / "fw.log"
                ).read_text()
                time.sleep(0.2)
            time.sleep(1.0)
            before = _rss_of(fw.pid)
            client = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--client",
                    str(port),
                    "--connections",
                    str(n),
                    "--rate",
                    str(rate),
                    "--seconds",
                    str(seconds),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            assert client.stdout is not None and client.stdin is not None
            assert client.stdout.readline().strip() == b"connected"
            time.sleep(2.0)
            idle = _rss_of(fw.pid)
            print(
                f"floodwatch run: {n} connections; memory per idle connection "
                f"{(idle - before) / n:.1f} KB (RSS {before / 1024:.0f} MB -> {idle / 1024:.0f} MB)"
            )
            client.stdin.write(b"go\n")
            client.stdin.flush()
            print(f"client: {client.stdout.readline().decode().strip()}")
            client.wait()
            dead = work / "dead.jsonl"
            print(f"dead-lettered: {len(dead.read_text().splitlines()) if dead.exists() else 0}")
            print(_server_side(http_port))
        finally:
            fw.terminate()
            fw.wait(timeout=30)
            log.close()


def _server_side(port: int) -> str:
    """The service's own frame-received → confirmation histogram (/metrics)."""
    import httpx

    text = httpx.get(
        f"http://127.0.0.1:{port}/metrics",
        headers={"Authorization": "Bearer bench-token"},
        timeout=10,
    ).text
    buckets = []
    for line in text.splitlines():
        if line.startswith("floodwatch_sl651_confirm_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(le), float(line.rsplit(" ", 1)[1])))
    total = buckets[-1][1] if buckets else 0.0
    if not total:
        return "server side: no confirmations in /metrics"
    p50 = next(le for le, n in buckets if n >= 0.5 * total)
    p99 = next(le for le, n in buckets if n >= 0.99 * total)
    return (
        f"server side (received → confirmation sent, from /metrics buckets): "
        f"p50 ≤ {p50 * 1000:g} ms, p99 ≤ {p99 * 1000:g} ms of {total:.0f}"
    )


def _rss_of(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=1000.0, help="frames/s, all RTUs together")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--service", action="store_true", help="through a real floodwatch run")
    parser.add_argument(
        "--snapshot-every", default=None, help="--service: service.snapshot_every (e.g. 1h)"
    )
    parser.add_argument("--client", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    _raise_fd_limit()
    if args.client is not None:
        asyncio.run(_client(args.client, args.connections, args.rate, args.seconds))
    else:
        print(f"machine: {os.cpu_count()} cores, shared with other work (figures are noisy)")
        if args.service:
            _service(args.connections, args.rate, args.seconds, args.snapshot_every)
        else:
            asyncio.run(_server(args.connections, args.rate, args.seconds))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
