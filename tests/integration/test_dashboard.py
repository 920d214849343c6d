"""The Grafana dashboard and the alert rules against a real Prometheus
(Debian's `prometheus`) scraping a running `floodwatch run` through a viewer
token: every dashboard query returns data (a number, not NaN), every
floodwatch metric the alert rules name exists, and the rules load healthy."""

from __future__ import annotations

import json
import math
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.services import (
    Floodwatch,
    Gateway,
    Mosquitto,
    _Server,
    batch_lines,
    free_port,
    service_config,
    storm_days,
    wait_for,
    wait_port,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "floodwatch.json"
RULES = ROOT / "deploy" / "prometheus" / "floodwatch.rules.yml"
TOKEN = "5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5"
# What Grafana puts in for its variables: every instance; a rate window.
VARIABLES = {"$instance": ".*", "$__rate_interval": "5m"}


class Prometheus(_Server):
    def __init__(self, workdir: Path, target: str, token_file: Path) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        # The example scrape config (deploy/prometheus/prometheus.yml), with
        # this test's target, token and rules, scraping every second.
        config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        config["rule_files"] = [str(RULES)]
        job = config["scrape_configs"][0]
        job["authorization"]["credentials_file"] = str(token_file)
        job["static_configs"] = [{"targets": [target]}]
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(config))

    def start(self) -> None:
        self._launch(
            [
                "prometheus",
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            "prometheus.log",
        )
        wait_for(self.ready, 60, "prometheus ready")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=5) as r:
                return r.status == 200
        except OSError:  # refused, or 503 while it starts
            return False

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", data
        return list(data["result"])


def expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = []
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for name, value in VARIABLES.items():
                expr = expr.replace(name, value)
            found.append((panel["title"], expr))
    return found


@pytest.fixture
def scraped(
    tmp_path: Path, mosquitto: Mosquitto, gateway: Gateway
) -> Iterator[tuple[Prometheus, Floodwatch]]:
    """floodwatch with a webhook destination, scraped by Prometheus from before
    a storm (so rates and the latency histogram move), with one bad message."""
    tokens = tmp_path / "api-tokens"
    tokens.write_text(f"{TOKEN} viewer prometheus\n")
    tokens.chmod(0o600)
    (tmp_path / "prometheus.token").write_text(TOKEN + "\n")
    port = free_port()
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        http={"port": port, "token_file": str(tokens)},
        notify={
            "destinations": {"duty": {"type": "webhook", "url": f"{gateway.url}/duty"}},
            "routes": [{"to": ["duty"]}],
        },
    )
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    prometheus = Prometheus(
        tmp_path / "prometheus", f"127.0.0.1:{port}", tmp_path / "prometheus.token"
    )
    try:
        fw.wait_log("floodwatch running", timeout=30)
        wait_port(port, timeout=30)
        prometheus.start()
        wait_for(
            lambda: [r["value"][1] for r in prometheus.query('up{job="floodwatch"}')] == ["1"],
            60,
            "the first scrape of floodwatch",
        )
        # Each destination's latency series is there before its first delivery,
        # at zero, so the p95 over the storm's deliveries is never 0/0 (NaN).
        before = prometheus.query("floodwatch_delivery_latency_seconds_count")
        assert [(r["metric"]["destination"], r["value"][1]) for r in before] == [("duty", "0")]
        lines = batch_lines(storm_days(1))
        for i in range(0, len(lines), 40):
            mosquitto.publish("gateway/county-gw", lines[i : i + 40], user="county-gw")
        mosquitto.publish("gateway/county-gw", ["{not json"], user="county-gw")
        wait_for(lambda: len(gateway.accepted) > 5, 60, "deliveries to the duty desk")
        delivered = time.time()
        # Two scrapes after those deliveries and two of the bad message's count
        # (a rate or increase needs two samples; a loaded machine delays scrapes).
        wait_for(
            lambda: (
                _last_scrape(prometheus) > delivered + 1
                and _samples(prometheus, "floodwatch_dead_letters_total") >= 2
            ),
            60,
            "scrapes after the storm",
        )
        yield prometheus, fw
    finally:
        prometheus.stop()
        fw.stop()


def _last_scrape(prometheus: Prometheus) -> float:
    found = prometheus.query('timestamp(up{job="floodwatch"})')
    return max((float(r["value"][1]) for r in found), default=0.0)


def _samples(prometheus: Prometheus, metric: str) -> int:
    found = prometheus.query(f"count_over_time({metric}[5m])")
    return min((int(float(r["value"][1])) for r in found), default=0)


def test_every_dashboard_query_returns_data(scraped: tuple[Prometheus, Floodwatch]) -> None:
    prometheus, _ = scraped
    empty = []
    for title, expr in expressions():
        values = [float(r["value"][1]) for r in prometheus.query(expr)]
        if not any(math.isfinite(v) for v in values):
            empty.append(f"{title}: {expr} → {values}")
    assert empty == [], "\n".join(empty)
    readings = prometheus.query(expressions()[2][1])
    assert any(float(r["value"][1]) > 0 for r in readings)


def test_the_alert_rules_name_real_metrics_and_load_healthy(
    scraped: tuple[Prometheus, Floodwatch],
) -> None:
    prometheus, _ = scraped
    names = set(re.findall(r"\bfloodwatch_[a-z_]+", RULES.read_text()))
    assert len(names) >= 6
    for name in sorted(names):
        assert prometheus.query(f"count({{__name__={name!r}}})"), f"{name}: not exported"
    groups = prometheus.api("rules")["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) == 8 and all(rule["health"] == "ok" for rule in rules), rules
    firing = [a["labels"]["alertname"] for a in prometheus.api("alerts")["alerts"]]
    assert "FloodwatchDown" not in firing and "FloodwatchConfigReloadFailed" not in firing


def test_the_dashboard_is_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] == "floodwatch"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        assert all(t["refId"] and t["expr"] for t in panel["targets"])
