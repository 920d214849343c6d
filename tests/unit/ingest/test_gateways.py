"""A gateway's readings are screened against the stations it may report."""

from __future__ import annotations

import json

from floodwatch.ingest.decode import Decoders

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
