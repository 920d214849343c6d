"""The recipient codec: the one place a delivery's recipient becomes column
text and back, byte for byte as stores have always held it."""

from __future__ import annotations

import json

import pytest

from floodwatch.notify.records import Person, Village
from floodwatch.store import recipients

WANG = Person("wang-qiang", "王强", "13800000003", "station.patrol")
# An outbox row as every earlier version wrote it (sorted keys, unescaped).
OLD_ROW = (
    '{"name": "王强", "person": "wang-qiang", "phone": "13800000003", "role": "station.patrol"}'
)


def test_a_person_village_and_none_round_trip() -> None:
    for who in (WANG, Village("330182104201"), None):
        assert recipients.decode(recipients.encode(who)) == who


def test_the_column_text_is_byte_identical_to_earlier_stores() -> None:
    assert recipients.encode(WANG) == OLD_ROW
    assert recipients.encode(Village("330182104201")) == "330182104201"
    assert recipients.encode(None) == ""


def test_old_rows_decode_in_any_key_order_and_the_calls_ledger_format() -> None:
    assert recipients.decode(OLD_ROW) == WANG
    unsorted = json.dumps(
        {"person": "wang-qiang", "name": "王强", "phone": "13800000003", "role": "station.patrol"}
    )  # the calls ledger's format: insertion order, escaped
    assert recipients.decode(unsorted) == WANG
    assert recipients.decode("330182104201") == Village("330182104201")
    assert recipients.decode('{"name":"王强"}') == Person("", "王强", "", "")  # fields missing


def test_a_malformed_person_says_what_was_stored() -> None:
    with pytest.raises(ValueError, match="stored recipient is not a person"):
        recipients.decode('{"name": "王强"')
