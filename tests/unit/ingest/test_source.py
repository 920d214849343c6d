"""`ingest.source.Incoming`: where a message came from (its `origin` in
dead-letters and logs), the last Kafka offset of a batch, and a topic that
matched no pattern refused as `bad_topic` before any decoding."""

from __future__ import annotations

from floodwatch.config.topics import UNMATCHED, compile_topic, route
from floodwatch.ingest import backoff
from floodwatch.ingest.source import Backoff, Incoming
from floodwatch.readings import RejectReason

PATTERNS = [(compile_topic("hydro/{station}/{kind}"), "json")]


def test_origin_names_the_source_and_topic_and_for_kafka_the_partition_and_offset() -> None:
    assert Incoming(b"{}", "hydro/p1/level", "json", "mqtt").origin == "mqtt:hydro/p1/level"
    assert Incoming(b"[]", "sl651/p1/32", "batch", "sl651").origin == "sl651:sl651/p1/32"
    kafka = Incoming(b"{}", "readings", "json", "kafka", partition=3, offset=1207)
    assert kafka.origin == "kafka:readings/3@1207"


def test_the_last_offset_is_the_message_s_or_the_batch_s_last() -> None:
    single = Incoming(b"{}", "readings", "json", "kafka", partition=0, offset=41)
    assert single.last_offset == 41
    batch = [(41, b"a"), (42, b"b"), (45, b"c")]  # compacted: offsets need not be dense
    fetched = Incoming(b"a", "readings", "json", "kafka", partition=0, offset=41, batch=batch)
    assert fetched.last_offset == 45 and fetched.origin == "kafka:readings/0@41"
    assert Incoming(b"{}", "t", "json", "kafka", offset=7, batch=[]).last_offset == 7


def test_a_topic_matching_a_pattern_is_not_refused() -> None:
    fmt, fields = route(PATTERNS, "hydro/p1/level")
    item = Incoming(b'{"value": 1}', "hydro/p1/level", fmt, "mqtt", fields)
    assert fields == {"station": "p1", "kind": "level"}
    assert item.unmatched() is None
    assert Incoming(b"x", "t", "json", "mqtt").unmatched() is None  # no fields at all


def test_a_topic_matching_no_pattern_is_refused_as_bad_topic_with_its_payload() -> None:
    fmt, fields = route(PATTERNS, "hydro/p1/level/extra")
    assert fields == {UNMATCHED: "1"}
    item = Incoming(b'{"value": 1}', "hydro/p1/level/extra", fmt, "mqtt", fields)
    refused = item.unmatched()
    assert refused is not None
    assert refused.reason is RejectReason.BAD_TOPIC
    assert refused.detail == "topic 'hydro/p1/level/extra' matches no configured pattern"
    assert refused.raw == '{"value": 1}' and refused.source == "mqtt:hydro/p1/level/extra"
    assert refused.to_json()["reason"] == "bad_topic"


def test_the_refused_payload_is_cut_to_200_bytes_and_bad_utf8_replaced() -> None:
    payload = b"\xff\xfe" + b"x" * 500
    refused = Incoming(payload, "other", "json", "mqtt", {UNMATCHED: "1"}).unmatched()
    assert refused is not None and refused.raw is not None
    assert refused.raw == "\ufffd\ufffd" + "x" * 198


def test_confirm_and_stored_default_to_none_and_each_message_is_its_own() -> None:
    a, b = Incoming(b"1", "t", "json", "mqtt"), Incoming(b"1", "t", "json", "mqtt")
    assert a.confirm is None and a.stored is None and a.decoded is None
    assert a != b  # identity, not value: two equal payloads are two messages
    a.fields["x"] = "1"
    assert b.fields == {}  # no shared default
    assert Backoff is backoff.Backoff  # sources import the backoff from here
