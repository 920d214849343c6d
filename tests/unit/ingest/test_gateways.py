"""A gateway's readings are screened against the stations it may report: through
the decoders (the topic's `{gateway}` field), and `ingest.gateways.screen` on
its own (fail closed: an unlisted gateway, or a station it may not speak for)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from floodwatch.ingest.decode import Decoders
from floodwatch.ingest.gateways import FIELD, screen
from floodwatch.readings import Reading, RejectReason

TS = "2026-07-07T03:15:00Z"


def batch(*stations: str) -> bytes:
    return json.dumps(
        [{"station": s, "kind": "level", "value": 203.8, "ts": TS} for s in stations]
    ).encode()


def test_a_gateway_reports_only_its_listed_stations() -> None:
    decoders = Decoders(gateways={"county-gw": ["maokeng-pond"]})
    got, bad = decoders.decode(
        batch("maokeng-pond", "xiawu-pond"), "batch", {"gateway": "county-gw"}, "mqtt:gateway/x"
    )
    assert [r.station for r in got] == ["maokeng-pond"]
    [refused] = bad
    assert refused.reason == "not_allowed"
    assert refused.detail == "gateway 'county-gw' may not report station 'xiawu-pond'"
    assert refused.reading is not None and refused.reading.station == "xiawu-pond"


def test_an_unlisted_gateway_reports_nothing() -> None:
    decoders = Decoders(gateways={"county-gw": ["maokeng-pond"]})
    got, bad = decoders.decode(batch("maokeng-pond"), "batch", {"gateway": "rogue"})
    assert got == []
    assert [(r.reason, r.detail) for r in bad] == [
        ("not_allowed", "gateway 'rogue' is not listed in service.mqtt.gateways")
    ]


def test_a_gauge_topic_is_not_screened() -> None:
    got, bad = Decoders().decode(batch("xiawu-pond"), "batch", {"station": "xiawu-pond"})
    assert [r.station for r in got] == ["xiawu-pond"] and bad == []


ALLOWED = {"county-gw": frozenset({"maokeng-pond", "maokeng-rain"}), "empty-gw": frozenset()}
AT = datetime(2026, 7, 7, 3, 15, tzinfo=UTC)


def reading(station: str, value: float = 203.8) -> Reading:
    return Reading(station, "level", value, AT)


def test_screen_passes_a_batch_of_listed_stations_as_it_is() -> None:
    readings = [reading("maokeng-pond"), reading("maokeng-rain"), reading("maokeng-pond", 204.0)]
    kept, refused = screen(readings, "county-gw", ALLOWED, "mqtt:gateway/county-gw")
    assert kept is readings and refused == []


def test_screen_keeps_the_listed_and_refuses_each_other_reading_in_order() -> None:
    readings = [reading("xiawu-pond"), reading("maokeng-pond"), reading("xiawu-pond", 1.0)]
    kept, refused = screen(readings, "county-gw", ALLOWED, "mqtt:gateway/county-gw")
    assert kept == [readings[1]]
    assert [(r.reason, r.reading, r.source) for r in refused] == [
        (RejectReason.NOT_ALLOWED, readings[0], "mqtt:gateway/county-gw"),
        (RejectReason.NOT_ALLOWED, readings[2], "mqtt:gateway/county-gw"),
    ]
    assert refused[0].detail == "gateway 'county-gw' may not report station 'xiawu-pond'"


def test_screen_refuses_everything_from_an_unlisted_gateway() -> None:
    readings = [reading("maokeng-pond"), reading("xiawu-pond")]
    kept, refused = screen(readings, "County-GW", ALLOWED, None)  # names are case-sensitive
    assert kept == []
    assert {r.detail for r in refused} == {
        "gateway 'County-GW' is not listed in service.mqtt.gateways"
    }
    assert [r.source for r in refused] == [None, None]


def test_screen_a_gateway_listed_with_no_stations_may_report_none() -> None:
    kept, refused = screen([reading("maokeng-pond")], "empty-gw", ALLOWED, None)
    assert kept == []
    assert [r.detail for r in refused] == [
        "gateway 'empty-gw' may not report station 'maokeng-pond'"
    ]


def test_screen_with_no_gateways_configured_fails_closed() -> None:
    kept, refused = screen([reading("maokeng-pond")], "county-gw", {}, None)
    assert kept == [] and len(refused) == 1


def test_screen_an_empty_batch() -> None:
    assert screen([], "rogue", ALLOWED, None) == ([], [])


def test_the_gateway_is_the_topic_s_gateway_field() -> None:
    assert FIELD == "gateway"
    decoders = Decoders(gateways={"county-gw": ["maokeng-pond"]})
    got, bad = decoders.decode(batch("maokeng-pond"), "batch", {FIELD: "county-gw"})
    assert [r.station for r in got] == ["maokeng-pond"] and bad == []
