"""Alert delivery through the durable outbox to a real local HTTP gateway."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from pathlib import Path

import pytest

from floodwatch.alerts.state import Status
from floodwatch.sim import simulate
from tests.integration.services import (
    Floodwatch,
    Gateway,
    Mosquitto,
    Tansu,
    VictoriaMetrics,
    batch_lines,
    expected_transitions,
    service_config,
    stored_transitions,
    storm_days,
    wait_for,
)

pytestmark = pytest.mark.integration

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings


def notify(url: str, **extra: object) -> dict[str, object]:
    return {
        "destinations": {
            "duty": {"type": "webhook", "url": f"{url}/duty", "timeout": "2s"},
            "drills": {"type": "webhook", "url": f"{url}/drills", "status": "exercise"},
            **extra,
        },
        "routes": [
            {"to": ["duty", "drills"]},  # the drill destination can never get a real alert
            {"to": ["duty", "drills"], "status": "exercise"},
        ],
        "retry_max": "5s",
    }


def outbox(db: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT destination, state, attempts FROM outbox").fetchall()


def test_a_gateway_down_then_hanging_gets_every_alert_once_after_it_recovers(
    tmp_path: Path, mosquitto: Mosquitto, gateway: Gateway
) -> None:
    cfg = service_config(tmp_path, mosquitto.port, notify=notify(gateway.url))
    expected = expected_transitions(cfg, STORM)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    try:
        fw.wait_log("mqtt connected")
        now = time.monotonic()
        gateway.hang_until = now + 4  # no answer at all for 4 s …
        gateway.fail_until = now + 8  # … then 500 until 8 s
        mosquitto.publish("gateway/county-gw", batch_lines(STORM), user="county-gw")
        wait_for(lambda: len(gateway.delivered) == len(expected), 40, "every alert delivered")
        recovered = time.monotonic() - gateway.fail_until
        assert recovered < 30
        assert fw.stop() == 0
    finally:
        fw.kill()
    # Each transition delivered once (the idempotent gateway saw retries of a key
    # only while failing), to the actual-bound destination only.
    assert sorted(gateway.keys("/drills")) == []
    bodies = [json.loads(b) for b in gateway.delivered.values()]
    assert sorted((b["id"], b["transition"], b["ts"]) for b in bodies) == sorted(
        (k[1], k[2], k[4]) for k in expected
    )
    assert all(b["status"] == Status.ACTUAL.value for b in bodies)
    assert {state for _, state, _ in outbox(tmp_path / "var" / "floodwatch.db")} == {"done"}
    log = fw.log.read_text()
    assert "delivery to duty failed (HTTP 500" in log
    assert "no answer within 2s" in log


def test_a_refusal_is_not_retried_and_is_dead_lettered(
    tmp_path: Path, mosquitto: Mosquitto, gateway: Gateway
) -> None:
    gateway.refuse = {"/bad"}
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        notify={
            "destinations": {"bad": {"type": "webhook", "url": f"{gateway.url}/bad"}},
            "routes": [{"to": ["bad"], "min_severity": "orange"}],
        },
    )
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    db = tmp_path / "var" / "floodwatch.db"
    try:
        fw.wait_log("mqtt connected")
        mosquitto.publish("gateway/county-gw", batch_lines(STORM), user="county-gw")
        wait_for(
            lambda: bool(outbox(db)) and all(s == "dead" for _, s, _ in outbox(db)), 30, "dead"
        )
        time.sleep(2)  # nothing is tried again
        assert fw.stop() == 0
    finally:
        fw.kill()
    rows = outbox(db)
    assert len(gateway.keys("/bad")) == len(rows) > 0
    assert all(attempts == 1 for _, _, attempts in rows)
    dead = (tmp_path / "var" / "dead-letter.jsonl").read_text().splitlines()
    refused = [json.loads(line) for line in dead if "delivery_refused" in line]
    assert len(refused) == len(rows)
    assert "HTTP 400" in refused[0]["detail"]
    operations = [k for k in stored_transitions(db) if k[0] == "floodwatch/delivery"]
    assert [k[2] for k in operations] == ["firing"]  # "bad refused: HTTP 400 …", once
    assert "destination bad failing since" in fw.log.read_text()


@pytest.mark.slow
def test_kill_9_during_deliveries_loses_none_and_the_gateway_delivers_none_twice(
    tmp_path: Path, mosquitto: Mosquitto, gateway: Gateway
) -> None:
    readings = storm_days(4)
    settings = notify(
        gateway.url,
        sms={
            "type": "sms",
            "provider": {"url": f"{gateway.url}/sms"},
            "group_wait": "1s",
            "rate_limit": None,  # four days of storms to one person: not what is tested here
        },
    )
    settings["routes"].append(  # type: ignore[attr-defined]
        {"to": ["sms"], "min_severity": "yellow", "recipients": ["station.patrol"]}
    )
    cfg = service_config(tmp_path, mosquitto.port, notify=settings)
    expected = expected_transitions(cfg, readings)
    db = tmp_path / "var" / "floodwatch.db"
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    rng = random.Random(4)
    try:
        fw.wait_log("mqtt connected")
        gateway.fail_until = time.monotonic() + 4  # a backlog builds up in the outbox
        mosquitto.publish("gateway/county-gw", batch_lines(readings), user="county-gw")
        for n in range(2, 5):
            time.sleep(rng.uniform(1.0, 3.0))
            fw.kill()
            fw.start()
            fw.wait_log("mqtt connected", count=n)
        wait_for(
            lambda: (
                len(set(gateway.keys("/duty")) & set(gateway.delivered)) == len(expected)
                and {s for _, s, _ in outbox(db)} == {"done"}
            ),
            60,
            "every alert delivered",
        )
        assert fw.stop() == 0
    finally:
        fw.kill()
    assert len(set(gateway.keys("/duty"))) == len(expected)
    assert gateway.keys("/drills") == []
    # SMS, grouped per recipient: every message once, though it was being sent
    # when the process was killed (its membership is stored before it is sent)
    assert len(gateway.accepted) == len(set(gateway.accepted))
    # a grouped message went out ("【2条预警信息】1.…", after its part number if split)
    assert any("条预警信息】1." in b["text"] for b in gateway.bodies("/sms"))
    sms_rows = [r for r in outbox(db) if r[0] == "sms"]
    assert len(sms_rows) > 10


def test_every_transition_goes_to_the_kafka_alert_topic_keyed_by_station(
    tmp_path: Path, mosquitto: Mosquitto, kafka: Tansu
) -> None:
    kafka.create_topic("readings", 4)
    kafka.create_topic("alerts", 2)
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        kafka=kafka.bootstrap,
        notify={
            # tansu has no idempotent producer (InitProducerId); a real cluster does
            "destinations": {"bus": {"type": "kafka", "topic": "alerts", "idempotent": False}},
            "routes": [{"to": ["bus"]}],
        },
    )
    expected = expected_transitions(cfg, STORM, partitions=4)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    try:
        fw.wait_log("kafka partitions assigned", timeout=30)
        mosquitto.publish("gateway/county-gw", batch_lines(STORM), user="county-gw")
        messages = kafka.consume("alerts", len(expected))
        assert fw.stop() == 0
    finally:
        fw.kill()
    events = [json.loads(m.value) for m in messages]
    assert (
        sorted((e["rule"], e["id"], e["transition"], e["severity"], e["ts"]) for e in events)
        == expected
    )
    assert all(m.key == e["station"].encode() for m, e in zip(messages, events, strict=True))
    keys = [dict(m.headers)["idempotency-key"] for m in messages]
    assert len(set(keys)) == len(keys)


def test_readings_and_alert_transitions_are_written_to_influx(
    tmp_path: Path, mosquitto: Mosquitto, victoria: VictoriaMetrics
) -> None:
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        notify={
            "destinations": {"tsdb": {"type": "influx", "url": victoria.url}},
            "routes": [{"to": ["tsdb"]}],
        },
    )
    expected = expected_transitions(cfg, STORM)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()

    def samples(name: str) -> int:
        series = victoria.export(f'{{__name__="{name}"}}')
        return sum(len(s["values"]) for s in series)  # type: ignore[arg-type]

    try:
        fw.wait_log("mqtt connected")
        mosquitto.publish("gateway/county-gw", batch_lines(STORM), user="county-gw")
        wait_for(lambda: samples("reading_value") == len(STORM), 60, "readings written")
        wait_for(lambda: samples("alert_level") == len(expected), 60, "alerts written")
        assert fw.stop() == 0
    finally:
        fw.kill()
    series = victoria.export('{__name__="alert_level",station="maokeng-pond"}')
    labels = [s["metric"] for s in series]
    assert all(m["village"] == "毛坑村" and m["town"] == "凤川镇" for m in labels)  # type: ignore[index]
    assert {m["rule"] for m in labels} >= {"pond-level", "culvert-blocked"}  # type: ignore[index]
    levels = {v for s in series for v in s["values"]}  # type: ignore[attr-defined]
    assert 0 in levels and 4 in levels  # resolved … red
