"""`/metrics` in the Prometheus text format.

Counters the service keeps anyway (readings in by source, dead letters by
reason, deliveries and failures by destination, how long a destination has
been failing, config reloads applied and refused) are read at scrape time by a
collector, so the hot path pays nothing; the delivery latency histogram is
observed by the delivery workers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from floodwatch.alerts.state import Severity

if TYPE_CHECKING:
    from floodwatch.ingest.sl651.server import Receiver
    from floodwatch.service.run import Service

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class ServiceCollector(Collector):
    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        s = self.service
        readings = CounterMetricFamily(
            "floodwatch_messages_received", "Messages received, by source", labels=["source"]
        )
        for source, n in s.stats.received.items():
            readings.add_metric([source], n)
        yield readings
        decoded = CounterMetricFamily(
            "floodwatch_readings", "Readings decoded and fed to the engine", labels=["source"]
        )
        for source, n in s.stats.readings_by_source.items():
            decoded.add_metric([source], n)
        yield decoded
        dead = CounterMetricFamily(
            "floodwatch_dead_letters",
            "Rejected messages and readings, by reason",
            labels=["reason"],
        )
        for reason, n in s.stats.rejected.items():
            dead.add_metric([reason], n)
        yield dead
        if s.sl651 is not None:
            yield from sl651_metrics(s.sl651)
        lag = GaugeMetricFamily(
            "floodwatch_engine_lag_seconds",
            "Wall clock minus the engine's event clock (how far behind real time)",
        )
        clock = s.clock_ms()
        if clock is not None:
            lag.add_metric([], time.time() - clock / 1000)
        yield lag
        active = GaugeMetricFamily(
            "floodwatch_active_alerts", "Alerts firing now, by severity", labels=["severity"]
        )
        counts = dict.fromkeys((v.value for v in Severity), 0)
        if s.store is not None:
            counts.update(s.store.active_by_severity())
        for severity, n in counts.items():
            active.add_metric([severity], n)
        yield active
        if s.deliverer is not None:
            ok = CounterMetricFamily(
                "floodwatch_deliveries",
                "Deliveries confirmed, by destination",
                labels=["destination"],
            )
            failed = CounterMetricFamily(
                "floodwatch_delivery_failures",
                "Failed delivery attempts, by destination",
                labels=["destination"],
            )
            failing = GaugeMetricFamily(
                "floodwatch_destination_failing_seconds",
                "How long each destination has been failing (0: its last attempt worked)",
                labels=["destination"],
            )
            now = time.time()
            for name in s.deliverer.channels:
                ok.add_metric([name], s.deliverer.delivered[name])
                failed.add_metric([name], s.deliverer.failed[name])
                since = s.deliverer.health[name].since
                failing.add_metric([name], 0 if since is None else now - since)
            yield ok
            yield failed
            yield failing
        reloads = CounterMetricFamily(
            "floodwatch_config_reloads", "Config reloads that were applied"
        )
        reloads.add_metric([], s.stats.reloads)
        yield reloads
        reload_failures = CounterMetricFamily(
            "floodwatch_config_reload_failures",
            "Config reloads refused (the service kept its previous config)",
        )
        reload_failures.add_metric([], s.stats.reload_failures)
        yield reload_failures
        reload_ok = GaugeMetricFamily(
            "floodwatch_config_last_reload_successful",
            "1 when the service runs the config directory as it is on disk; 0 after a "
            "refused reload until a good one",
        )
        reload_ok.add_metric([], 0 if s.reload_problem is not None else 1)
        yield reload_ok
        queue = GaugeMetricFamily("floodwatch_queue_depth", "Messages waiting for the engine")
        queue.add_metric([], s.queue.qsize())
        yield queue


def registry_for(service: Service) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(ServiceCollector(service))
    latency = Histogram(
        "floodwatch_delivery_latency_seconds",
        "From a delivery stored to confirmed, by destination",
        ["destination"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    if service.deliverer is not None:
        service.deliverer.on_delivered = lambda name, seconds: latency.labels(name).observe(seconds)
        # Every destination's series from the first scrape, at zero: one that
        # appeared only with its first deliveries would have no earlier sample,
        # and the p95 over a rate window would be 0/0 (NaN) until the next.
        for name in service.deliverer.channels:
            latency.labels(name)
    return registry


def sl651_metrics(receiver: Receiver) -> Iterator[Metric]:
    """The SL 651 receiver: connections, frames, confirmations, refusals per address."""
    refused = CounterMetricFamily(
        "floodwatch_sl651_refused",
        "SL 651 frames refused (dead-lettered), by station address and reason",
        labels=["address", "reason"],
    )
    for (address, reason), n in receiver.refused.items():
        refused.add_metric([address, reason], n)
    yield refused
    from floodwatch.ingest.sl651.server import CONFIRM_BUCKETS

    cumulative = 0
    buckets: list[tuple[str, float]] = []
    for bound, n in zip((*CONFIRM_BUCKETS, math.inf), receiver.confirm_counts, strict=True):
        cumulative += n
        buckets.append(("+Inf" if bound == math.inf else repr(bound), cumulative))
    yield HistogramMetricFamily(
        "floodwatch_sl651_confirm_seconds",
        "SL 651: from a report's last frame received to its confirmation sent (after storage)",
        buckets=buckets,
        sum_value=receiver.confirm_seconds,
    )
    connections = GaugeMetricFamily("floodwatch_sl651_connections", "RTU connections open")
    connections.add_metric([], receiver.connections)
    yield connections
    for name, doc, value in (
        ("frames", "SL 651 frames received", receiver.frames),
        ("confirmed", "SL 651 reports confirmed to the RTU", receiver.confirmed),
        ("duplicates", "SL 651 reports received again (deduplicated)", receiver.duplicates),
    ):
        family = CounterMetricFamily(f"floodwatch_sl651_{name}", doc)
        family.add_metric([], value)
        yield family
