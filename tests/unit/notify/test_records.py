"""The records notify keeps (notify/records.py): who a delivery goes to and the
id its key names, an outbox row's alert decoded once and its person or
village (a row to the wrong kind refused), and what a silence covers and
when it is in force."""

from __future__ import annotations

import msgspec
import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.records import (
    Delivery,
    Person,
    Silence,
    Village,
    decode_alert,
    recipient_id,
)
from floodwatch.testing import T0

EVENT = {
    "id": "p1:r1:1", "rule": "r1", "kind": "level", "station": "p1", "station_name": "塘",
    "severity": "red", "previous_severity": None, "transition": "firing",
    "ts": T0.isoformat(), "episode_start": T0.isoformat(), "value": 1.5,
    "threshold": 1.0, "unit": "m", "message_zh": "水位1.5米。", "message_en": "level 1.5 m.",
}  # fmt: skip
JSON = msgspec.json.encode(EVENT).decode()
LI = Person("li", "李工", "13800000001", "station.patrol")


def test_recipient_id_is_the_person_or_the_village_code_or_nothing() -> None:
    assert recipient_id(LI) == "li"
    assert recipient_id(Village("330182104201")) == "330182104201"
    assert recipient_id(None) == ""


def test_a_rows_alert_is_decoded_from_its_json_once() -> None:
    row = Delivery("k", "sms", JSON, 0, recipient=LI)
    alert = row.alert
    assert isinstance(alert, AlertEvent) and alert.id == "p1:r1:1" and alert.value == 1.5
    assert row.alert is alert  # cached
    assert decode_alert(JSON.encode()) == decode_alert(JSON) == alert  # bytes or text


def test_a_row_that_is_not_json_of_an_alert_raises_when_read() -> None:
    with pytest.raises(msgspec.DecodeError):
        _ = Delivery("k", "sms", "{not json", 0).alert
    with pytest.raises(msgspec.ValidationError):
        decode_alert('{"id": "x"}')


def test_a_row_gives_its_person_or_its_village_and_refuses_the_other() -> None:
    to_person = Delivery("k1", "sms", JSON, 0, recipient=LI)
    to_village = Delivery("k2", "village", JSON, 0, recipient=Village("330182104201"))
    assert to_person.person is LI and to_village.village.code == "330182104201"
    with pytest.raises(ValueError, match="outbox row k1: not to a village"):
        _ = to_person.village
    with pytest.raises(ValueError, match="outbox row k2: not to a person"):
        _ = to_village.person
    with pytest.raises(ValueError, match="not to a person \\(None\\)"):
        _ = Delivery("k3", "bus", JSON, 0).person


def silence(**matchers: list[str]) -> Silence:
    return Silence("s1", 100.0, 200.0, "李工", "检修", **matchers)


@pytest.mark.parametrize(
    ("matchers", "covered"),
    [
        ({"stations": ["p1"]}, True),
        ({"stations": ["p2"]}, False),
        ({"rules": ["r1", "r2"]}, True),
        ({"rules": ["r2"]}, False),
        ({"villages": ["v2"]}, True),  # any village of the alert
        ({"villages": ["v9"]}, False),
        ({"towns": ["t1"]}, True),
        ({"towns": ["t2"]}, False),
        ({"stations": ["p1"], "rules": ["r2"]}, False),  # every field given must match
        ({"stations": ["p1"], "rules": ["r1"], "villages": ["v1"], "towns": ["t1"]}, True),
        ({}, True),  # (the store refuses to make one that matches nothing)
    ],
)
def test_a_silence_covers_an_alert_when_every_field_it_names_matches(
    matchers: dict[str, list[str]], covered: bool
) -> None:
    assert silence(**matchers).covers("r1", "p1", ["v1", "v2"], "t1") is covered


def test_a_silence_naming_a_town_does_not_cover_a_station_without_one() -> None:
    assert silence(towns=["t1"]).covers("r1", "p1", [], None) is False
    assert silence(villages=["v1"]).covers("r1", "p1", [], None) is False


def test_a_silence_is_in_force_from_its_start_until_just_before_its_end() -> None:
    s = silence(stations=["p1"])
    assert [s.active(t) for t in (99.9, 100.0, 199.9, 200.0)] == [False, True, True, False]


def test_a_silence_as_json_says_everything_it_holds() -> None:
    assert silence(rules=["r1"], towns=["t1"]).to_json() == {
        "id": "s1", "starts": 100.0, "ends": 200.0, "author": "李工", "reason": "检修",
        "stations": [], "rules": ["r1"], "villages": [], "towns": ["t1"],
    }  # fmt: skip
