"""kill -9 during a storm of topic-addressed readings, over a real mosquitto.

Each gauge publishes on its own `hydro/{station}/{kind}` topic (as its own
broker account) payloads with only value and time: what the topic carries
must be in the inbox, or a restart cannot replay it. The service is killed
three times and restarted; the alerts it stores must be those of
`floodwatch replay` on the same readings — none lost, none twice, none extra.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from floodwatch.readings import Reading
from tests.integration.services import (
    PASSWORD,
    Floodwatch,
    Key,
    Mosquitto,
    assert_announced_at_most_once,
    expected_transitions,
    key,
    service_config,
    stored_transitions,
    storm_days,
    wait_for,
)

pytestmark = pytest.mark.integration


def _gauges(broker: Mosquitto, stations: set[str]) -> dict[str, paho.Client]:
    clients = {}
    for station in sorted(stations):
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"gauge-{station}")
        client.username_pw_set(station, PASSWORD)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        clients[station] = client
    return clients


def _publish(broker: Mosquitto, readings: list[Reading], pace: float) -> None:
    """Each reading from its own gauge, a sweep (one event time) at a time: the
    broker has the whole sweep before the next is sent, so the gauges' streams
    reach floodwatch in time order (within the allowed lateness); a pause of
    `pace` seconds every 50 sweeps."""
    clients = _gauges(broker, {r.station for r in readings})
    sweeps: dict[object, list[Reading]] = {}
    for r in readings:
        sweeps.setdefault(r.ts, []).append(r)
    try:
        for n, sweep in enumerate(sweeps.values()):
            sent = [
                clients[r.station].publish(
                    f"hydro/{r.station}/{r.kind}",
                    json.dumps({"value": r.value, "ts": r.to_json()["ts"]}),
                    qos=1,
                )
                for r in sweep
            ]
            for info in sent:
                info.wait_for_publish(timeout=30)
            if n % 50 == 49:
                time.sleep(pace)
    finally:
        for client in clients.values():
            client.loop_stop()
            client.disconnect()


def _replayed(cfg: Path, readings: list[Reading], workdir: Path) -> set[Key]:
    """The transitions `floodwatch replay` finds in the same readings."""
    source = workdir / "storm.jsonl"
    source.write_text("".join(json.dumps(r.to_json()) + "\n" for r in readings))
    out = workdir / "replayed.jsonl"
    subprocess.run(
        [sys.executable, "-m", "floodwatch", "replay", "--config", str(cfg),
         "--input", str(source), "--output", str(out)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return {key(json.loads(line)) for line in out.read_text().splitlines()}


def test_kill_9_during_a_storm_of_topic_addressed_readings_loses_and_repeats_nothing(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    readings = storm_days(8)
    cfg = service_config(tmp_path, mosquitto.port)
    replayed = _replayed(cfg, readings, tmp_path)
    # A live stream never ends: what `replay` adds when its input ends (the
    # readings still within the allowed lateness) is not expected live.
    expected = expected_transitions(cfg, readings)
    assert set(expected) <= replayed and len(expected) > 50
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    fw.wait_log("mqtt connected")
    publisher = threading.Thread(target=_publish, args=(mosquitto, readings, 0.15))
    publisher.start()
    rng = random.Random(12)
    db = tmp_path / "var" / "floodwatch.db"
    try:
        for n in range(1, 4):
            fw.wait_log("mqtt connected", count=n)
            time.sleep(rng.uniform(2.1, 3.5))  # past a snapshot (every 2 s): inbox to replay
            fw.kill()
            time.sleep(rng.uniform(0.0, 0.5))
            fw.start()
        publisher.join()
        wait_for(lambda: stored_transitions(db) == expected, 60, "every alert after 3 crashes")
    finally:
        publisher.join()
        stored = stored_transitions(db)
        lost = set(expected) - set(stored)
        extra = set(stored) - replayed
        assert (len(lost), len(extra)) == (0, 0), (sorted(lost)[:5], sorted(extra)[:5])
    fw.wait_log("floodwatch running", count=4)
    assert fw.stop() == 0
    log = fw.log.read_text()
    # Stored exactly once (above); announced in the log at most once. A kill -9
    # between a step's commit and its log lines drops those lines, never the alert.
    assert_announced_at_most_once(log, expected, kills=3)
    assert log.count("replayed ") >= 1, "no crash left an inbox to replay"
    restarts = [part.splitlines()[0] for part in log.split("floodwatch running")[2:]]
    assert len(restarts) == 3
    assert not [line for line in restarts if "event clock not started" in line], restarts
    # A message processed but not yet acknowledged when killed comes again (QoS 1):
    # the engine sets it aside as a repeat (`duplicate`, or `too_late` when a later
    # reading of its gauge is in already). Nothing else is dead-lettered.
    dead_letter = tmp_path / "var" / "dead-letter.jsonl"
    text = dead_letter.read_text() if dead_letter.exists() else ""
    dead = [json.loads(line) for line in text.splitlines()]
    published = {json.dumps(r.to_json(), sort_keys=True) for r in readings}
    assert {d["reason"] for d in dead} <= {"duplicate", "too_late"}, dead[:3]
    assert all(json.dumps(d["reading"], sort_keys=True) in published for d in dead)
