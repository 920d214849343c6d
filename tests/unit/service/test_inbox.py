"""Decode live == decode from the record, for every source and every format.

What a restart decodes again must come out as it did live:
- MQTT: the inbox row (topic, topic fields, format, decoder definition) read
  back from the store and decoded with the decoders it names;
- Kafka: the messages read again from the log (after a restart, or by a new
  owner rebuilding a partition), in other fetches than live;
- the bridge: the canonical Kafka message it wrote for each reading.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floodwatch.config.models import FieldMapping
from floodwatch.config.topics import compile_topic, route
from floodwatch.ingest.bridge import encode
from floodwatch.ingest.decode import Decoders
from floodwatch.ingest.source import Incoming
from floodwatch.readings import Reading, Rejected
from floodwatch.service import inbox
from floodwatch.store import inbox as tables

MAPPINGS = {
    "rtu": FieldMapping(
        station="meta.id", kind=None, fixed_kind="level", value="stage_cm", scale=0.01,
        ts="time", ts_format="%Y-%m-%d %H:%M:%S", timezone="Asia/Shanghai",
    ),
    "epoch": FieldMapping(station="id", kind="k", value="v", ts="t", ts_format="epoch_ms"),
}  # fmt: skip
PATTERNS = [
    (compile_topic("hydro/{station}/{kind}"), "canonical"),
    (compile_topic("gateway/{gateway}"), "batch"),
    (compile_topic("rtu/{station}"), "rtu"),
    (compile_topic("vendor/+/#"), "epoch"),
    (compile_topic("plain/#"), "canonical"),
]
TOPICS = [
    "hydro/p1/level", "hydro/c1/flow", "hydro/p1/temp", "hydro/bad id/level",
    "gateway/county-gw", "rtu/p1", "rtu/p2", "vendor/a/b/c", "plain/x", "elsewhere/p1",
]  # fmt: skip

stations = st.sampled_from(["p1", "c1", "r1", "bad/id", "", "x" * 70])
kinds = st.sampled_from(["level", "rain", "flow", "temp"])
values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, -0.0, 310.42, 1e308]),
)
ZONES = [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-3))]
times = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from(ZONES),
)


def _ts(ts: datetime, naive: bool) -> str:
    return ts.replace(tzinfo=None).isoformat() if naive else ts.isoformat()


@st.composite
def canonical(draw: st.DrawFn) -> dict[str, object]:
    doc: dict[str, object] = {
        "station": draw(stations),
        "kind": draw(kinds),
        "value": draw(values),
        "ts": _ts(draw(times), naive=draw(st.integers(0, 9)) == 0),
    }
    if draw(st.booleans()):
        doc["quality"] = draw(st.sampled_from(["good", "suspect", None, 'a "q"']))
    drop = draw(st.sets(st.sampled_from(["station", "kind", "value", "ts"]), max_size=2))
    return {k: v for k, v in doc.items() if k not in drop}


@st.composite
def valid(draw: st.DrawFn) -> bytes:
    """A reading that decodes (most payloads above do not)."""
    doc = {
        "station": draw(st.sampled_from(["p1", "c1"])),
        "kind": draw(st.sampled_from(["level", "rain", "flow"])),
        "value": draw(values),
        "ts": draw(times).isoformat(),
    }
    return json.dumps(doc).encode()


def _json(doc: object, repeat: str | None = None) -> bytes:
    raw = json.dumps(doc).encode()
    if repeat and isinstance(doc, dict) and doc and raw.endswith(b"}"):
        raw = raw[:-1] + f', "{repeat}": 999}}'.encode()
    return raw


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 5))
    repeat = draw(st.sampled_from([None, None, None, "value", "station", "v", "stage_cm"]))
    if choice == 0:
        return _json(draw(canonical()), repeat)
    if choice == 1:
        return _json(draw(st.lists(canonical(), max_size=4)))
    if choice == 2:
        local = draw(times).strftime("%Y-%m-%d %H:%M:%S")
        doc = {"meta": {"id": draw(stations)}, "stage_cm": draw(values), "time": local}
        return _json(doc, repeat)
    if choice == 3:
        ms = int(draw(times).timestamp() * 1000)
        doc = {"id": draw(stations), "k": draw(kinds), "v": draw(values), "t": ms}
        return _json(doc, repeat)
    if choice == 4:
        return draw(st.sampled_from([b"", b"{", b"[]", b"null", b"\xff\xfe", b"1" * 70_000]))
    return draw(st.binary(max_size=40))


def _same(a: tuple[list[Reading], list[Rejected]], b: tuple[list[Reading], list[Rejected]]) -> None:
    assert a[0] == b[0]
    assert [r.ts.utcoffset() for r in a[0]] == [r.ts.utcoffset() for r in b[0]]
    assert [(r.reason, r.detail, r.raw, r.source) for r in a[1]] == [
        (r.reason, r.detail, r.raw, r.source) for r in b[1]
    ]


@pytest.fixture(scope="module")
def box() -> Iterator[tables.Inbox]:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    tables.migrate(db)
    yield tables.Inbox(db)
    db.close()


@given(st.lists(st.tuples(st.sampled_from(TOPICS), valid() | payloads()), min_size=1, max_size=6))
def test_mqtt_a_message_decodes_from_its_inbox_row_as_it_did_live(
    box: tables.Inbox, messages: list[tuple[str, bytes]]
) -> None:
    live_decoders = Decoders(MAPPINGS, 65_536, {"county-gw": ["p1", "c1"]})
    items = []
    for topic, payload in messages:
        fmt, fields = route(PATTERNS, topic)
        items.append(Incoming(payload, topic, fmt, "mqtt", fields))
    live = []
    for item in items:
        got = live_decoders.decode_incoming(item)
        item.decoded = (len(got[0]), len(got[1]))
        live.append(got)
    last = box.log(inbox.entry(i, live_decoders) for i in items)
    rows = [row for row in box.after(last - len(items)) if row.seq <= last]
    assert len(rows) == len(items)
    for row, was in zip(rows, live, strict=True):
        # The restart runs on another configuration: the row must not need it.
        item, decoders = inbox.incoming(row, PATTERNS[::-1])
        assert decoders is not None
        _same(decoders.decode_incoming(item), was)
        assert inbox.replay_rejects(item, decoders, row.outcome) == []
    box.prune(last)


@given(st.lists(valid() | payloads(), min_size=1, max_size=8), st.integers(1, 8))
def test_kafka_messages_read_again_in_other_fetches_decode_as_they_did_live(
    messages: list[bytes], fetch: int
) -> None:
    decoders = Decoders(MAPPINGS)
    live = decoders.decode_each(messages, "canonical")  # one fetch (the fast path if it can)
    again: tuple[list[Reading], list[Rejected]] = ([], [])
    for start in range(0, len(messages), fetch):
        got, bad = Decoders(MAPPINGS).decode_each(messages[start : start + fetch], "canonical")
        again[0].extend(got)
        again[1].extend(bad)
    _same(live, again)
    one_by_one = [decoders.decode(m, "canonical") for m in messages]
    assert live[0] == [r for got, _ in one_by_one for r in got]


@given(st.sampled_from(TOPICS), valid() | payloads())
def test_the_bridge_writes_readings_that_decode_back_to_the_same_readings(
    topic: str, payload: bytes
) -> None:
    fmt, fields = route(PATTERNS, topic)
    decoders = Decoders(MAPPINGS, gateways={"county-gw": ["p1", "c1"]})
    readings, _ = decoders.decode_incoming(Incoming(payload, topic, fmt, "mqtt", fields))
    bridged = [encode(r) for r in readings]
    got, bad = Decoders().decode_each(bridged, "canonical")
    assert bad == [] and got == readings
    assert [r.ts.microsecond for r in got] == [r.ts.microsecond for r in readings]
