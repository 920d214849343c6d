"""The MQTT broker restarts in the middle of a storm while floodwatch publishes
village broadcasts and dead-letter records through it. Afterwards the readings
source, the broadcast and the dead-letter publisher are all connected again:
the store holds exactly `floodwatch replay`'s transitions, a box that connects
at the end hears the true state (valid CAP), and every dead-letter record
reached the dead-letter topic."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest

from floodwatch.readings import parse_ts
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
    dead_letters,
    received,
    replay,
)
from tests.integration.services import (
    Floodwatch,
    Mosquitto,
    Subscriber,
    batch_lines,
    service_config,
    wait_for,
)

pytestmark = [pytest.mark.faults, pytest.mark.integration]

STORM = closed(simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings)
DEAD_LETTER_TOPIC = "floodwatch/dead-letter"
DOWN = 3.0  # seconds the broker is away


def _bad(n: int) -> list[str]:
    return [
        json.dumps({"station": "maokeng-pond", "kind": "level", "value": f"x{i}"}) for i in range(n)
    ]


def test_a_broker_restart_mid_storm_leaves_every_channel_working(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        dead_letter={
            "file": str(tmp_path / "var" / "dead-letter.jsonl"),
            "mqtt_topic": DEAD_LETTER_TOPIC,
        },
        notify={
            "destinations": {"village": {"type": "broadcast", "sender": "floodwatch@330182"}},
            "routes": [BROADCAST_ROUTE],
        },
    )
    truth = replay(cfg, STORM, tmp_path / "truth")
    lines = batch_lines(STORM)  # one per sweep, in time order
    sweeps = sorted({r.ts for r in STORM})
    # The broker goes away half an hour after the village heard its first warning.
    warned = min(
        parse_ts(e["ts"])
        for e in truth.events
        if e["rule"] == "pond-overtop" and e["severity"] in ("orange", "red")
    )
    cut = next(i for i, ts in enumerate(sweeps) if ts > warned + timedelta(minutes=30))
    # The village box and a dead-letter viewer keep their sessions (QoS 1) across
    # the restart, as real clients do: the broker keeps what they miss.
    box = _persistent(Subscriber(mosquitto, BROADCAST_TOPIC), "village-box").start()
    dl = _persistent(
        Subscriber(mosquitto, DEAD_LETTER_TOPIC, user="floodwatch"), "dead-letter-viewer"
    ).start()
    fw = Floodwatch(cfg, tmp_path)
    started = time.monotonic()
    fw.start()
    db = tmp_path / "var" / "floodwatch.db"
    try:
        with RssWatch(fw) as rss:
            fw.wait_log("mqtt connected")
            mosquitto.publish("gateway/county-gw", lines[:cut], user="county-gw")
            mosquitto.publish("hydro/maokeng-pond/level", _bad(5), user="maokeng-pond")
            wait_for(lambda: bool(box.messages()), 20, "the village's first warning")
            wait_for(lambda: len(dl.messages()) >= 5, 20, "the first dead-letter records")
            mosquitto.stop()
            time.sleep(DOWN)
            mosquitto.start()
            restarted = time.monotonic()
            fw.wait_log("mqtt connected", count=2, timeout=30)
            mosquitto.publish("hydro/maokeng-pond/level", _bad(5), user="maokeng-pond")
            mosquitto.publish("gateway/county-gw", lines[cut:], user="county-gw")
            check_transitions(fw, db, truth)
            wait_for(lambda: len(dl.messages()) >= 10, 30, "dead-letter records after the restart")
            wait_for(lambda: not _pending(db), 30, "every broadcast delivered after the restart")
            recovered = time.monotonic() - restarted
            time.sleep(1.0)
            assert fw.stop() == 0
        heard = check_broadcasts(received(box), mosquitto, truth, tmp_path)
        published = [json.loads(p) for _, _, p in dl.messages()]
    finally:
        fw.kill()
        box.stop()
        dl.stop()
    records = dead_letters(tmp_path)
    assert len(records) == 10 and all(r["reason"] == "schema_error" for r in records)
    assert {r["raw"] for r in published} == {r["raw"] for r in records}  # each reached the topic
    assert rss.peak_mb < RSS_LIMIT_MB
    Report(
        f"MQTT broker restart ({DOWN:.0f} s down) mid-storm",
        {
            "readings": len(STORM),
            "transitions": len(truth.keys),
            "village notices": heard,
            "all delivered s after restart": round(recovered, 1),
            "dead-letter records on the topic": len(published),
            "peak RSS MB": round(rss.peak_mb),
            "seconds": round(time.monotonic() - started, 1),
        },
    ).show()


def _persistent(sub: Subscriber, client_id: str) -> Subscriber:
    """A subscriber with a persistent session (its QoS 1 messages kept by the
    broker while it is away; it reconnects by itself)."""
    sub.args += ["-c", "-i", client_id]
    return sub


def _pending(db: Path) -> bool:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return bool(conn.execute("SELECT 1 FROM outbox WHERE state != 'done'").fetchall())
