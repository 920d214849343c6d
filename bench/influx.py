"""The InfluxDB sink against a real server (victoria-metrics' v2 write API).

- readings: a batch of 5,000 readings (the sink's largest write) — the time to
  encode it as line protocol, and to POST it (connection kept open), p50/p90;
- alerts: one alert transition per POST (the outbox path), p50/p90.

    .venv/bin/python bench/influx.py [--batches 30] [--alerts 300] [--port P]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from floodwatch.ingest.backoff import Backoff  # noqa: E402
from floodwatch.notify.influx import (  # noqa: E402
    BATCH,
    Influx,
    InfluxDestination,
)
from floodwatch.notify.records import decode_alert  # noqa: E402
from floodwatch.notify.sinks import load_config_dir  # noqa: E402
from floodwatch.readings import Reading  # noqa: E402
from floodwatch.rules.compile import compile_config  # noqa: E402
from floodwatch.testing import T0  # noqa: E402
from tests.integration.services import VictoriaMetrics  # noqa: E402


def quantiles(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=10)
    return f"p50 {statistics.median(ms):.2f} ms, p90 {q[8]:.2f} ms"


async def bench(url: str, batches: int, alerts: int) -> None:
    compiled = compile_config(load_config_dir(ROOT / "config"))
    dest = InfluxDestination.model_validate({"type": "influx", "url": url})
    influx = Influx("bench", dest, compiled, Backoff(0.1, 1.0))
    await influx.connection.start()
    await asyncio.wait_for(influx.connection.ready.wait(), 10)
    stations = list(compiled.stations)
    encode, post = [], []
    for b in range(batches):
        batch = [
            Reading(
                stations[i % len(stations)],
                "level",
                310.0 + i * 1e-4,
                T0 + timedelta(minutes=b * BATCH + i),
            )
            for i in range(BATCH)
        ]
        t0 = time.perf_counter()
        points = [influx.reading_point(r) for r in batch]
        t1 = time.perf_counter()
        await influx.write(points)
        t2 = time.perf_counter()
        encode.append((t1 - t0) * 1000)
        post.append((t2 - t1) * 1000)
    event = {
        "id": "bench",
        "kind": "level",
        "station": stations[0],
        "station_name": stations[0],
        "rule": "pond-level",
        "severity": "red",
        "previous_severity": None,
        "transition": "firing",
        "episode_start": T0.isoformat(),
        "value": 311.9,
        "threshold": 311.8,
        "unit": "m",
        "message_zh": "",
        "message_en": "",
    }
    one = []
    for n in range(alerts):
        body = json.dumps({**event, "ts": (T0 + timedelta(seconds=n)).isoformat()})
        t0 = time.perf_counter()
        await influx.write_alert(decode_alert(body))  # decoded as the outbox row's
        one.append((time.perf_counter() - t0) * 1000)
    await influx.connection.aclose()
    print(f"readings, {BATCH:,} a batch, {batches} batches:")
    print(f"  encode {quantiles(encode)}; POST {quantiles(post)}")
    print(f"  both {quantiles([e + p for e, p in zip(encode, post, strict=True)])}")
    print(f"alerts, one a POST, {alerts} POSTs: {quantiles(one)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument(
        "--port", type=int, default=0, help="the server's port (default: a free one)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = VictoriaMetrics(Path(tmp))
        if args.port:
            server.port, server.url = args.port, f"http://127.0.0.1:{args.port}"
        server.start()
        try:
            asyncio.run(bench(server.url, args.batches, args.alerts))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
