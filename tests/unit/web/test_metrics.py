"""`floodwatch.web.metrics` on its own, on a real service with a store: what a
scrape reads (messages, readings, dead letters by reason, active alerts by
severity with every severity at zero, the engine's lag once it has a clock,
config reloads, the queue), the delivery families only with a deliverer (each
destination's series from the first scrape, how long one has been failing,
the latency histogram fed by the workers) and the SL 651 receiver's
families (cumulative confirmation buckets)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from floodwatch.config.sl651 import Sl651Settings
from floodwatch.ingest.sl651.mapping import Directory
from floodwatch.ingest.sl651.server import CONFIRM_BUCKETS, Receiver
from floodwatch.notify.deliver import Deliverer
from floodwatch.service.run import Service
from floodwatch.web.demo import EXAMPLE_CONFIG
from floodwatch.web.live import Live
from floodwatch.web.metrics import registry_for, sl651_metrics
from tests.web.conftest import STORM, feed

Setup = tuple[Service, Live, TestClient]


def scrape(service: Service, client: TestClient) -> dict[str, dict[tuple[Any, ...], float]]:
    """name -> {labels: value} of one scrape, through the text format."""
    assert client.portal is not None
    registry = client.portal.call(registry_for, service)
    text = client.portal.call(generate_latest, registry).decode()
    out: dict[str, dict[tuple[Any, ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_a_service_that_has_seen_nothing_reads_zero(setup: Setup) -> None:
    service, _, client = setup
    got = scrape(service, client)
    assert got["floodwatch_active_alerts"] == {
        (("severity", s),): 0.0 for s in ("info", "blue", "yellow", "orange", "red")
    }
    assert "floodwatch_engine_lag_seconds" not in got  # no event clock yet
    assert got["floodwatch_config_reloads_total"] == {(): 0.0}
    assert got["floodwatch_config_last_reload_successful"] == {(): 1.0}
    assert got["floodwatch_queue_depth"] == {(): 0.0}
    assert not any(name.startswith("floodwatch_deliver") for name in got)
    assert not any(name.startswith("floodwatch_sl651") for name in got)
    assert "floodwatch_delivery_latency_seconds_count" not in got  # no destinations


def test_what_the_service_counted_is_what_a_scrape_reads(setup: Setup) -> None:
    service, _, client = setup
    feed(client, service, STORM)
    service.stats.rejected["bad_json"] = 3
    service.stats.reload_failures = 1
    got = scrape(service, client)
    assert got["floodwatch_messages_received_total"] == {
        (("source", k),): float(v) for k, v in service.stats.received.items()
    }
    assert sum(got["floodwatch_readings_total"].values()) == len(STORM)
    assert got["floodwatch_dead_letters_total"][(("reason", "bad_json"),)] == 3.0
    assert got["floodwatch_config_reload_failures_total"] == {(): 1.0}
    active = got["floodwatch_active_alerts"]
    assert sum(active.values()) == len(client.portal.call(service.store.active)) > 0  # type: ignore[union-attr]
    clock = service.clock_ms()
    assert clock is not None
    lag = got["floodwatch_engine_lag_seconds"][()]
    assert lag == pytest.approx(time.time() - clock / 1000, abs=5)


def test_destinations_have_their_series_from_the_first_scrape(setup: Setup) -> None:
    service, _, client = setup
    assert service.settings.notify is not None and service.store is not None
    loop = client.portal
    assert loop is not None
    notify, store = service.settings.notify, service.store

    def build() -> Deliverer:
        return Deliverer(
            notify, store, service.dead_letter, compiled=service.compiled, config_dir=EXAMPLE_CONFIG
        )

    deliverer = loop.call(build)
    service.deliverer = deliverer
    names = list(deliverer.channels)
    first, second = names[0], names[1]
    deliverer.delivered[first] = 4
    deliverer.failed[second] = 2
    deliverer.health[second].since = time.time() - 30
    registry = loop.call(registry_for, service)
    assert deliverer.on_delivered is not None
    deliverer.on_delivered(first, 0.2)  # as a delivery worker reports one
    text = loop.call(generate_latest, registry).decode()
    got: dict[str, dict[tuple[Any, ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            got.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    assert got["floodwatch_deliveries_total"] == {
        (("destination", n),): (4.0 if n == first else 0.0) for n in names
    }
    assert got["floodwatch_delivery_failures_total"][(("destination", second),)] == 2.0
    failing = got["floodwatch_destination_failing_seconds"]
    assert failing[(("destination", first),)] == 0.0
    assert 29 <= failing[(("destination", second),)] < 60
    counts = got["floodwatch_delivery_latency_seconds_count"]
    assert counts == {(("destination", n),): (1.0 if n == first else 0.0) for n in names}
    assert (
        got["floodwatch_delivery_latency_seconds_bucket"][(("destination", first), ("le", "0.25"))]
        == 1.0
    )
    loop.call(deliverer.client.aclose)


def test_the_sl651_receiver_families_with_cumulative_buckets(setup: Setup) -> None:
    service, _, client = setup
    rejected: list[object] = []

    async def put(item: object) -> None:
        raise AssertionError("nothing is received here")

    stations = service.compiled.config.stations
    service.sl651 = Receiver(
        Sl651Settings(listen="127.0.0.1:0"), Directory(stations), put, rejected.extend
    )
    rx = service.sl651
    rx.refused[("0012345678", "crc")] += 2
    rx.connections, rx.frames, rx.confirmed, rx.duplicates = 3, 40, 30, 1
    rx.confirm_counts[0] = 5  # <= 0.005 s
    rx.confirm_counts[3] = 2  # <= 0.05 s
    rx.confirm_counts[-1] = 1  # above every bound
    rx.confirm_seconds = 12.5
    got = scrape(service, client)
    assert got["floodwatch_sl651_refused_total"] == {
        (("address", "0012345678"), ("reason", "crc")): 2.0
    }
    assert got["floodwatch_sl651_connections"] == {(): 3.0}
    assert got["floodwatch_sl651_frames_total"] == {(): 40.0}
    assert got["floodwatch_sl651_confirmed_total"] == {(): 30.0}
    assert got["floodwatch_sl651_duplicates_total"] == {(): 1.0}
    buckets = {dict(k)["le"]: v for k, v in got["floodwatch_sl651_confirm_seconds_bucket"].items()}
    assert len(buckets) == len(CONFIRM_BUCKETS) + 1
    assert buckets["0.005"] == 5.0 and buckets["0.01"] == 5.0 and buckets["0.05"] == 7.0
    assert buckets["10.0"] == 7.0 and buckets["+Inf"] == 8.0
    assert got["floodwatch_sl651_confirm_seconds_count"] == {(): 8.0}
    assert got["floodwatch_sl651_confirm_seconds_sum"] == {(): 12.5}
    assert [f.name for f in sl651_metrics(rx)][:2] == [
        "floodwatch_sl651_refused",
        "floodwatch_sl651_confirm_seconds",
    ]
