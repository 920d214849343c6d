"""Payload decoders: canonical, batch, field mappings, topic fields."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from floodwatch.config.models import FieldMapping
from floodwatch.ingest.decode import Decoders, decode_payload
from floodwatch.ingest.topics import compile_topic

ONE = {"station": "p1", "kind": "level", "value": 310.2, "ts": "2026-07-07T03:00:00Z"}


def test_batch_takes_an_array_or_a_single_object_and_rejects_bad_elements_alone() -> None:
    good, bad = decode_payload(json.dumps([ONE, {"x": 1}, ONE]).encode(), "batch")
    assert len(good) == 2 and [r.reason.value for r in bad] == ["schema_error"]
    good, bad = decode_payload(json.dumps(ONE).encode(), "batch")
    assert len(good) == 1 and not bad


def test_topic_fields_fill_in_and_must_agree() -> None:
    topic = compile_topic("hydro/{station}/{kind}")
    fields = topic.match("hydro/p1/level")
    assert fields == {"station": "p1", "kind": "level"}
    payload = json.dumps({"value": 1.5, "ts": ONE["ts"]}).encode()
    good, _ = decode_payload(payload, "canonical", fields)
    assert good[0].station == "p1" and good[0].kind == "level"
    spoofed = json.dumps({**ONE, "station": "p2"}).encode()
    _, bad = decode_payload(spoofed, "canonical", fields)
    assert bad[0].reason.value == "bad_topic"
    assert topic.filter == "hydro/+/+" and topic.match("hydro/p1/level/x") is None


def test_field_mapping_scales_values_and_reads_local_time() -> None:
    mapping = FieldMapping(
        station="meta.id",
        kind=None,
        fixed_kind="level",
        value="stage_cm",
        scale=0.01,
        ts="time",
        ts_format="%Y-%m-%d %H:%M:%S",
        timezone="Asia/Shanghai",
    )
    payload = json.dumps({"meta": {"id": "p1"}, "stage_cm": 31020, "time": "2026-07-07 11:00:00"})
    good, bad = decode_payload(payload.encode(), "rtu", mappings={"rtu": mapping})
    assert not bad
    assert good[0].value == 310.2
    assert good[0].ts.isoformat() == "2026-07-07T11:00:00+08:00"
    epoch = FieldMapping(ts_format="epoch_ms")
    good, _ = decode_payload(
        json.dumps({**ONE, "ts": 1783393200000}).encode(), "ms", mappings={"ms": epoch}
    )
    assert good[0].ts.isoformat() == "2026-07-07T03:00:00+00:00"


PIECES = [
    json.dumps(ONE).encode(),
    json.dumps({**ONE, "station": "p2", "value": -1e300}).encode(),
    json.dumps({**ONE, "station": "bad/id"}).encode(),
    json.dumps({**ONE, "value": None}).encode(),
    json.dumps({**ONE, "ts": "2026-07-07T03:00:00"}).encode(),
    json.dumps([ONE, ONE]).encode(),
    json.dumps(ONE).encode() + b"," + json.dumps(ONE).encode(),
    b"]",
    b"[",
    b"",
    b'{"station": "p1", "kind": "level", "value": 1e999, "ts": "2026-07-07T03:00:00Z"}',
    b"\xff\xfe",
    b"1",
]


@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=12))
def test_decoding_a_batch_at_once_gives_what_one_by_one_gives_or_defers(
    payloads: list[bytes],
) -> None:
    """Many payloads in one call: either exactly the readings decoding each gives
    (when every one is a valid reading), or None (decode them one by one)."""
    decoders = Decoders()
    one_by_one = [decoders.decode(p, "canonical") for p in payloads]
    at_once = decoders.decode_many(payloads, "canonical")
    if all(len(good) == 1 and not bad for good, bad in one_by_one):
        assert at_once == [good[0] for good, _ in one_by_one]
    else:
        assert at_once is None
