"""A storm told per incident, live: real mosquitto (readings in, village
broadcasts out) and a local SMS gateway. Counts the messages each person gets
for the pond's incident, checks one reply code per incident, and that everyone
who heard the red — the town flood lead reached by escalation included —
hears the all-clear."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine
from floodwatch.sim import SCENARIOS, simulate
from tests.integration.services import (
    Floodwatch,
    Gateway,
    Mosquitto,
    Subscriber,
    batch_lines,
    service_config,
    wait_for,
)

pytestmark = pytest.mark.integration

# The July storm with the culvert clear: the pond rises to red and falls; after
# 36 h the rain's 24-hour total and the pond are back below every line.
STORM = simulate(replace(SCENARIOS["open"], hours=36), quiet_ponds={"xiawu-pond": 203.8}).readings
_RED = next(
    e.ts
    for e in Engine(compile_config(load_config_dir("config"))).process(STORM).alerts
    if e.severity.value == "red"
)
PHASE_1 = [r for r in STORM if r.ts <= _RED + timedelta(minutes=10)]
PHASE_2 = [r for r in STORM if r.ts > _RED + timedelta(minutes=10)]
VILLAGE = "330182104201"
PHONES = {"13800000003": "王强", "13800000002": "李娜", "13800000001": "张伟",
          "13800000007": "陈军", "13800000009": "郑磊"}  # fmt: skip


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_a_storm_is_told_per_incident_and_everyone_who_heard_red_hears_the_all_clear(
    tmp_path: Path, mosquitto: Mosquitto, gateway: Gateway
) -> None:
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        idle_advance_after=None,  # the event clock waits between the two phases
        notify={
            "destinations": {
                "sms": {
                    "type": "sms",
                    "provider": {"url": f"{gateway.url}/sms"},
                    "timeout": "2s",
                    "group_wait": "0s",
                    "rate_limit": None,
                },
                "village": {"type": "broadcast", "sender": "floodwatch@330182"},
            },
            "routes": [
                {
                    "to": ["sms"],
                    "min_severity": "orange",
                    "station_types": ["pond"],
                    "recipients": [
                        "station.patrol",
                        "station.technical",
                        "station.administrative",
                        "village.warning_officer",
                    ],
                },
                {"to": ["village"], "min_severity": "orange"},
            ],
            "answer": {"via": ["sms"], "after": "2s", "resends": 0, "severities": ["red"]},
        },
    )
    box = Subscriber(mosquitto, f"floodwatch/broadcast/{VILLAGE}/json").start()
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    db = tmp_path / "var" / "floodwatch.db"
    try:
        fw.wait_log("mqtt connected")
        mosquitto.publish("gateway/county-gw", batch_lines(PHASE_1), user="county-gw")
        # nobody answers the red: the village officer is on the route already, so
        # the escalation goes straight to the town's flood lead
        wait_for(lambda: "13800000009" in {b["phone"] for b in gateway.bodies("/sms")}, 30,
                 "the town lead called")  # fmt: skip
        mosquitto.publish("gateway/county-gw", batch_lines(PHASE_2), user="county-gw")
        wait_for(
            lambda: (
                bool(rows(db, "SELECT 1 FROM incidents WHERE state = 'cleared'"))
                and not rows(db, "SELECT 1 FROM outbox WHERE state != 'done'")
            ),
            60,
            "the all-clear delivered",
        )
        assert fw.stop() == 0
    finally:
        fw.kill()
        box.stop()

    [(incident, changes)] = rows(
        db, "SELECT id, (SELECT count(*) FROM incident_changes c WHERE c.id = i.id) "
        "FROM incidents i WHERE station = 'maokeng-pond'"
    )  # fmt: skip
    alerts = rows(db, f"SELECT count(DISTINCT id) FROM transitions WHERE incident = '{incident}'")
    assert alerts[0][0] >= 3  # several alerts, one incident

    # What each person got: messages (parts joined), parts, reply codes.
    with gateway.lock:
        sent = [(k, json.loads(b)) for k, b in gateway.delivered.items()]
    messages: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    codes: dict[str, set[str]] = {}
    texts: dict[str, str] = {}
    for key, body in sent:
        name = PHONES[body["phone"]]
        parts[name] += 1
        message = re.sub(r"-[0-9]$", "", key)
        texts[message] = texts.get(message, "") + body["text"]
        if message == key or key.endswith("-1"):
            messages[name] += 1
    for message, text in texts.items():
        phone = next(b["phone"] for k, b in sent if re.sub(r"-[0-9]$", "", k) == message)
        codes.setdefault(PHONES[phone], set()).update(re.findall(r"回复\s*([0-9]{4})", text))
    print(f"incident changes {changes}; messages {dict(messages)}; parts {dict(parts)}; "
          f"reply codes {({k: len(v) for k, v in codes.items()})}")  # fmt: skip
    officials = ["王强", "李娜", "张伟", "陈军"]
    for name in officials:
        assert messages[name] <= changes  # at most one message per incident change
        assert len(codes.get(name, set())) <= 1  # one reply code for the incident
    # everyone who heard the red hears the all-clear, the escalated town lead included
    heard_red = {
        json.loads(r)["name"]
        for (r,) in rows(db, "SELECT recipient FROM outbox WHERE destination = 'sms' AND "
                             f"alert = '{incident}' AND json_extract(event, '$.severity') = 'red' "
                             "AND json_extract(event, '$.transition') != 'resolved'")
    }  # fmt: skip
    assert heard_red == {*officials, "郑磊"}
    cleared = {
        json.loads(r)["name"]
        for (r,) in rows(db, "SELECT recipient FROM outbox WHERE destination = 'sms' AND "
                             f"alert = '{incident}' AND state = 'done' AND "
                             "json_extract(event, '$.details.change') = 'all_clear'")
    }  # fmt: skip
    assert cleared == heard_red
    assert sum("预警解除" in t for t in texts.values()) == len(heard_red)
    # the village: one warning sequence for the incident, ending with the all-clear
    spoken = [json.loads(p)["text"] for _, _, p in box.messages()]
    assert spoken and "预警已解除" in spoken[-1]
    assert len(spoken) <= changes


def test_a_gauge_silent_during_an_orange_warning_calls_patrol_and_technical_to_look(
    tmp_path: Path, mosquitto: Mosquitto, gateway: Gateway
) -> None:
    start = datetime(2026, 7, 6, 16, 0, tzinfo=UTC)
    storm = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8},
                     silence_from=start + timedelta(hours=6)).readings  # fmt: skip
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        notify={
            "destinations": {
                "sms": {
                    "type": "sms",
                    "provider": {"url": f"{gateway.url}/sms"},
                    "timeout": "2s",
                    "group_wait": "0s",
                    "rate_limit": None,
                },
            },
            "routes": [
                {"to": ["sms"], "min_severity": "red", "recipients": ["village.warning_officer"]}
            ],
            "answer": {"via": ["sms"], "after": "1h", "severities": ["red"]},
        },
    )
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    db = tmp_path / "var" / "floodwatch.db"
    try:
        fw.wait_log("mqtt connected")
        mosquitto.publish("gateway/county-gw", batch_lines(storm), user="county-gw")
        wait_for(
            lambda: (
                len({b["phone"] for b in gateway.bodies("/sms")} & {"13800000003", "13800000002"})
                == 2
            ),
            30,
            "the patrol and technical persons told",
        )
        assert fw.stop() == 0
    finally:
        fw.kill()
    with gateway.lock:  # whole messages (their parts joined), by phone
        parts = sorted(gateway.delivered.items())
    messages: dict[str, tuple[str, str]] = {}
    for key, body in parts:
        sms = json.loads(body)
        part = re.sub(r"^(【演练】)?\([0-9]/[0-9]\)", r"\1", sms["text"]).replace("\n", "")
        message = re.sub(r"-[0-9]$", "", key)
        phone, text = messages.get(message, (sms["phone"], ""))
        messages[message] = (phone, text + part)
    lost = [(phone, text) for phone, text in messages.values() if "人工观测" in text]
    assert {PHONES[phone] for phone, _ in lost} == {"王强", "李娜"}  # not the village officer
    assert all(
        "毛坑山塘水位计失联，当前橙色预警，请巡查责任人立即到现场人工观测" in text
        for _, text in lost
    )
    [(incident, state)] = rows(db, "SELECT id, state FROM incidents WHERE station = 'maokeng-pond'")
    assert state == "active"  # never cleared on silence
    called = {json.loads(r)["name"] for (r,) in rows(
        db, f"SELECT recipient FROM calls WHERE alert = '{incident}'")}  # fmt: skip
    assert {"王强", "李娜"} <= called
    assert rows(db, "SELECT severity FROM transitions WHERE rule = 'observation-lost'")[0][0] == (
        "orange"
    )
