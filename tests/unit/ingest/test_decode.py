"""Payload decoders: canonical, batch, field mappings, topic fields."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from floodwatch.config.models import FieldMapping
from floodwatch.config.topics import compile_topic
from floodwatch.ingest.decode import Decoders, decode_payload

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
    json.dumps(ONE).encode()[:-1] + b', "value": 999}',  # a repeated key
    json.dumps({**ONE, "quality": "good"}).encode(),
    json.dumps({**ONE, "quality": None}).encode(),
    json.dumps({**ONE, "station": 'p"1'}).encode(),
    # Two halves of readings that a comma would join into two valid ones.
    json.dumps(ONE).encode() + b', {"station": "p2", "kind": "level"',
    b'"value": 2.0, "ts": "2026-07-07T03:00:00Z"}',
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
    (always when every one is a plain valid reading), or None (decode them one
    by one: some are not valid, or one holds an explicit null or an escaped
    quote, which the quick repeated-key count cannot tell from a repeat)."""
    decoders = Decoders()
    one_by_one = [decoders.decode(p, "canonical") for p in payloads]
    at_once = decoders.decode_many(payloads, "canonical")
    if all(len(good) == 1 and not bad for good, bad in one_by_one):
        expected = [good[0] for good, _ in one_by_one]
        if not any(b"null" in p or b'\\"' in p for p in payloads):
            assert at_once == expected
        assert at_once in (None, expected)
    else:
        assert at_once is None


def test_two_halves_of_json_are_two_bad_messages_not_two_readings() -> None:
    decoders = Decoders()
    halves = [
        json.dumps(ONE).encode() + b', {"station": "p2", "kind": "level"',
        b'"value": 2.0, "ts": "2026-07-07T03:00:00Z"}',
    ]
    assert decoders.decode_many(halves, "canonical") is None
    good, bad = decoders.decode_each(halves, "canonical")
    assert good == [] and [r.reason.value for r in bad] == ["decode_error", "schema_error"]


TS = b'"ts": "2026-07-07T03:00:00Z"'
DUPLICATED = [
    b'{"station": "p1", "kind": "level", "value": 1, "value": 999, ' + TS + b"}",
    b'{"station": "p1", "kind": "level", "value": 1, "valu\\u0065": 999, ' + TS + b"}",
    b'{"station": "p1", "station": "p2", "kind": "level", "value": 1, ' + TS + b"}",
]


def test_a_key_repeated_in_a_reading_is_refused_in_every_format() -> None:
    mapping = {"flat": FieldMapping()}
    for raw in DUPLICATED:
        for fmt in ("canonical", "batch", "flat"):
            good, bad = decode_payload(raw, fmt, mappings=mapping)
            assert good == [], (raw, fmt)
            assert [r.reason.value for r in bad] == ["duplicate_key"], (raw, fmt)
            assert "appears more than once" in bad[0].detail
        assert Decoders().decode_many([json.dumps(ONE).encode(), raw], "canonical") is None
    fields = {"station": "p1", "kind": "level"}
    repeated = b'{"value": 1, "ts": "2026-07-07T03:00:00Z", "value": 2}'
    _, bad = decode_payload(repeated, "canonical", fields)
    assert [r.reason.value for r in bad] == ["duplicate_key"]
    nested = b'{"a": {"id": "p1", "id": "p2"}, "value": 1, "ts": "2026-07-07T03:00:00Z"}'
    _, bad = decode_payload(nested, "m", mappings={"m": FieldMapping(station="a.id")})
    assert [r.reason.value for r in bad] == ["duplicate_key"]


def test_quotes_inside_values_and_explicit_nulls_are_not_taken_for_repeats() -> None:
    fields = {"station": "p1", "kind": "level"}
    for raw, f in [
        (json.dumps({**ONE, "quality": None}).encode(), {}),
        (json.dumps({**ONE, "quality": 'say "hi"'}).encode(), {}),
        (b'{"value": 1, "ts": "2026-07-07T03:00:00Z", "station": null, "kind": null}', fields),
    ]:
        good, bad = decode_payload(raw, "canonical", f)
        assert len(good) == 1 and bad == [], raw
    doc = {"meta": {"id": "p1", "note": 'a "b" \\u0041'}, "value": 1, "ts": ONE["ts"]}
    mapping = FieldMapping(station="meta.id", fixed_kind="level")
    good, bad = decode_payload(json.dumps(doc).encode(), "m", mappings={"m": mapping})
    assert len(good) == 1 and bad == []
