"""`notify.record`: recorded destinations (`record: true`, the demo). The
recorder keeps what a phone or a village box would have received; a recorded
sms destination still groups, cuts into parts and carries the reply code, a
recorded broadcast still builds Alert → Cancel and keeps the retained truth in
the (real) store."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.ingest.backoff import Backoff
from floodwatch.notify.broadcast import BroadcastChannel
from floodwatch.notify.channel import Wiring
from floodwatch.notify.health import Health
from floodwatch.notify.outcome import Sent
from floodwatch.notify.record import (
    BoxMessage,
    Recorder,
    RecordingBroadcast,
    RecordingGateway,
    SmsPart,
    channel,
    whole_text,
)
from floodwatch.notify.records import Delivery, Outgoing, Person, Village
from floodwatch.notify.sinks import notify_settings
from floodwatch.notify.sms import SmsChannel, reply_code
from floodwatch.store import Store
from floodwatch.testing import compile_yaml, run, series

STATION = """
stations:
  - id: p1
    name: 测试山塘
    type: pond
    interval: 5m
    levels: {crest: 312.0, design_flood: 311.4, check_flood: 311.6, flood_limit: 310.6}
    village: {name: 毛坑村, code: "330182104201"}
"""
RULE = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    levels: {yellow: {enter: design_flood}, red: {enter: crest - 0.2}}
"""
COMPILED = compile_yaml(stations=STATION, rules=RULE)
EVENTS = run(COMPILED, series("p1", "level", [311.0, 311.5, 311.5, 311.9, 311.9, 310.0, 310.0]))
PERSON = Person("wang", "王强", "13800000003", "station.patrol")
VILLAGE = "330182104201"


def part(key: str, text: str = "t", destination: str = "sms") -> SmsPart:
    return SmsPart(destination, "13800000003", text, key, 0.0)


def box(village: str, n: int, destination: str = "villages") -> BoxMessage:
    return BoxMessage(destination, village, "村", f"<cap>{n}</cap>", {"n": n}, float(n), 0.0)


def test_the_recorder_keeps_each_part_once_and_tells_its_listeners() -> None:
    recorder = Recorder()
    heard: list[SmsPart | BoxMessage] = []
    recorder.listeners.append(heard.append)
    for item in (part("m1-1"), part("m1-2"), part("m1-1", "again"), part("m2"), box("v", 1)):
        recorder.add(item)
    assert list(recorder.sms) == ["m1-1", "m1-2", "m2"]  # a resend of a part: once
    assert recorder.sms["m1-1"].text == "t"
    assert [getattr(h, "key", None) for h in heard] == ["m1-1", "m1-2", "m2", None]
    assert [p.key for p in recorder.parts("m1")] == ["m1-1", "m1-2"]
    assert [p.key for p in recorder.parts("m2")] == ["m2"]  # a message of one part
    assert recorder.parts("m3") == []


def test_a_box_s_current_message_is_the_last_it_received() -> None:
    recorder = Recorder()
    for item in (box("v1", 1), box("v2", 2), box("v1", 3), box("v1", 4, "other")):
        recorder.add(item)
    current = recorder.current("villages", "v1")
    assert current is not None and current.twin == {"n": 3}
    assert recorder.current("villages", "v3") is None


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        (["一条"], "一条"),
        (["(1/2)甲乙", "(2/2)丙"], "甲乙丙"),
        (["【演练】(1/2)甲", "【演练】(2/2)乙"], "【演练】甲乙"),  # the drill mark once
    ],
)
def test_a_message_reads_whole_without_its_part_numbers(parts: list[str], text: str) -> None:
    assert whole_text(parts) == text


def test_the_recording_gateway_records_and_never_fails() -> None:
    recorder = Recorder()
    outcome = asyncio.run(RecordingGateway("sms", recorder).send("138", "文本", "k"))
    assert outcome.ok
    [got] = recorder.sms.values()
    assert (got.destination, got.phone, got.text, got.key) == ("sms", "138", "文本", "k")
    assert abs(got.at - time.time()) < 60


def _wiring(
    store: Store, client: httpx.AsyncClient, name: str, dest: dict[str, object]
) -> Wiring[Any]:
    answer = {"answer": {"via": [name]}} if dest["type"] == "sms" else {}  # reply codes
    settings = notify_settings({"destinations": {name: dest}, **answer})
    return Wiring(
        name,
        settings.destinations[name],
        settings,
        store,
        client,
        Health(name, 300.0),
        lambda: Backoff(1.0, 30.0, random.Random(1)),
        compiled=COMPILED,
    )


def test_a_recorded_sms_is_grouped_cut_into_parts_and_carries_its_reply_code(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "fw.db")
    recorder = Recorder()
    red = next(e for e in EVENTS if e.severity.value == "red")
    dest = {
        "type": "sms",
        "record": True,
        "group_wait": "0s",
        "segment_chars": 20,
        "max_segments": 9,
    }

    async def go() -> list[Sent]:
        async with httpx.AsyncClient() as client:
            ch = channel(_wiring(store, client, "sms", dest), recorder)
            assert isinstance(ch, SmsChannel) and ch.connection is None
            with store.transaction():
                store.enqueue([Outgoing("k1", "sms", red, recipient=PERSON)])
            return await ch.deliver(store.due("sms", time.time() + 1))

    try:
        [sent] = asyncio.run(go())
    finally:
        store.close()
    assert sent.outcome.ok and [r.key for r in sent.rows] == ["k1"]
    [message] = {p.key.rpartition("-")[0] for p in recorder.sms.values()}
    parts = recorder.parts(message)
    assert len(parts) > 1 and all(p.phone == PERSON.phone for p in parts)
    assert all(len(p.text) <= 20 for p in parts)
    assert [p.text[:5] for p in parts] == [f"({n}/{len(parts)})" for n in range(1, len(parts) + 1)]
    assert (
        whole_text([p.text for p in parts]) == f"{red.message_zh}收到请回复{reply_code(red.id)}。"
    )


def _rows(*events: AlertEvent) -> list[Delivery]:
    return [
        Delivery(
            f"{e.id}/{VILLAGE}/{n}",
            "villages",
            msgspec.json.encode(e.to_json()).decode(),
            0,
            Village(VILLAGE),
            created=e.ts.timestamp(),
        )
        for n, e in enumerate(events)
    ]


def test_a_recorded_broadcast_is_alert_then_cancel_kept_as_the_retained_truth(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "fw.db")
    recorder = Recorder()
    dest = {"type": "broadcast", "record": True, "expiry": "1h"}
    lvl = [e for e in EVENTS if e.rule == "lvl"]
    assert lvl[0].transition.value == "firing"
    assert lvl[-1].transition.value == "resolved"

    async def go() -> list[Sent]:
        async with httpx.AsyncClient() as client:
            ch = channel(_wiring(store, client, "villages", dest), recorder)
            assert isinstance(ch, RecordingBroadcast) and isinstance(ch, BroadcastChannel)
            assert ch.connection is None  # no broker
            return await ch.deliver(_rows(lvl[0], lvl[-1]))

    try:
        sent = asyncio.run(go())
        retained = store.people.retained()
    finally:
        store.close()
    assert [s.outcome.ok for s in sent] == [True, True]
    assert [b.twin["msgType"] for b in recorder.boxes] == ["Alert", "Cancel"]
    assert all((b.village, b.village_name) == (VILLAGE, "毛坑村") for b in recorder.boxes)
    current = recorder.current("villages", VILLAGE)
    assert current is recorder.boxes[-1] and "<msgType>Cancel</msgType>" in current.cap
    assert current.expires - current.at == pytest.approx(3600)
    cap, twin = (
        retained[f"floodwatch/broadcast/{VILLAGE}"],
        retained[f"floodwatch/broadcast/{VILLAGE}/json"],
    )
    assert cap[0] == current.cap.encode() and msgspec.json.decode(twin[0]) == current.twin
