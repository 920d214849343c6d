"""Destinations that fail during a storm: one SMS gateway answers 500, another
SMS gateway and a webhook hang without answering, all for OUTAGE seconds (in
the field: a minute; here shortened, with per-attempt timeouts of 1 s and
"failing since" after 3 s, so the same sequence — retries, the operations
alert, recovery — fits the test). The alerts are exactly `floodwatch
replay`'s, each message reaches each destination once (by idempotency key),
the village broadcast is not held up, and the operations alert names each
failing destination and is resolved after the recovery."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from floodwatch.sim import simulate
from tests.faults.harness import (
    BROADCAST_ROUTE,
    BROADCAST_TOPIC,
    RSS_LIMIT_MB,
    Report,
    RssWatch,
    check_broadcasts,
    check_transitions,
    closed,
    operations_transitions,
    received,
    replay,
)
from tests.integration.services import (
    Floodwatch,
    Gateway,
    Mosquitto,
    Subscriber,
    batch_lines,
    service_config,
    wait_for,
)

pytestmark = [pytest.mark.faults, pytest.mark.integration]

STORM = closed(simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings)
OUTAGE = 15.0  # seconds of 500s and of silence
PEOPLE = ["station.patrol", "station.technical", "station.administrative"]


def _sms(url: str) -> dict[str, object]:
    return {
        "type": "sms",
        "provider": {"url": url},
        "timeout": "1s",
        "failing_after": "3s",
        "group_wait": "0s",
        "rate_limit": None,
    }


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_a_gateway_answering_500_and_one_hanging_lose_and_delay_nothing_else(
    tmp_path: Path, mosquitto: Mosquitto, gateway: Gateway, gateway2: Gateway
) -> None:
    hanging = gateway2
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        notify={
            "destinations": {
                "sms": _sms(f"{gateway.url}/sms"),
                "sms2": _sms(f"{hanging.url}/sms"),
                "hook": {
                    "type": "webhook",
                    "url": f"{hanging.url}/hook",
                    "timeout": "1s",
                    "failing_after": "3s",
                },
                "village": {"type": "broadcast", "sender": "floodwatch@330182"},
            },
            "routes": [
                {"to": ["sms", "sms2"], "min_severity": "yellow", "recipients": PEOPLE},
                BROADCAST_ROUTE,
                {"to": ["hook"]},
            ],
        },
    )
    truth = replay(cfg, STORM, tmp_path / "truth")
    box = Subscriber(mosquitto, BROADCAST_TOPIC).start()
    db = tmp_path / "var" / "floodwatch.db"
    fw = Floodwatch(cfg, tmp_path)
    started = time.monotonic()
    fw.start()
    try:
        with RssWatch(fw) as rss:
            fw.wait_log("mqtt connected")
            recovered = time.monotonic() + OUTAGE
            gateway.fail_until = recovered  # 500
            hanging.hang_until = recovered  # no answer
            mosquitto.publish("gateway/county-gw", batch_lines(STORM), user="county-gw")
            check_transitions(fw, db, truth)
            wait_for(
                lambda: not _rows(db, "SELECT 1 FROM outbox WHERE state != 'done'"),
                OUTAGE + 60,
                "every delivery done",
            )
            done = time.monotonic()
            assert fw.stop() == 0
        heard = check_broadcasts(received(box), mosquitto, truth, tmp_path)
    finally:
        fw.kill()
        box.stop()
    assert done > recovered  # the SMS waited for the gateways …
    assert done - recovered < 30  # … and went out soon after they came back
    for server in (gateway, hanging):
        assert server.accepted and len(server.accepted) == len(set(server.accepted))
    sms = _rows(db, "SELECT count(*) FROM outbox WHERE destination IN ('sms', 'sms2')")[0][0]
    # the village heard each warning within 2 s while the gateways were down
    slowest = _rows(
        db,
        "SELECT max(done_at - created) FROM outbox WHERE destination = 'village' "
        "AND alert NOT LIKE 'floodwatch/%'",
    )[0][0]
    assert isinstance(slowest, float) and slowest < 2.0
    # "failing since": an operations alert for each, resolved after the recovery
    assert operations_transitions(db).count(("floodwatch/delivery", "firing")) == 3
    assert operations_transitions(db).count(("floodwatch/delivery", "resolved")) == 3
    hooks = hanging.keys("/hook")
    assert len(set(hooks)) == len(truth.keys) + 6  # every transition, the operations ones too
    assert rss.peak_mb < RSS_LIMIT_MB
    Report(
        f"SMS gateways 500 / hanging for {OUTAGE:.0f} s",
        {
            "readings": len(STORM),
            "transitions": len(truth.keys),
            "sms deliveries": sms,
            "accepted once": f"{len(gateway.accepted)} + {len(hanging.accepted)}",
            "all delivered after recovery s": round(done - recovered, 1),
            "slowest village broadcast s": round(slowest, 2),
            "broadcasts": heard,
            "peak RSS MB": round(rss.peak_mb),
            "seconds": round(time.monotonic() - started, 1),
        },
    ).show()
