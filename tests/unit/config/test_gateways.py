"""`config.gateways.check`: every station a telemetry gateway lists in
`service.mqtt.gateways` exists, each missing one named at its key path."""

from __future__ import annotations

from typing import Any

from floodwatch.config.gateways import check
from floodwatch.config.models import Config

STATIONS = [
    {"id": "maokeng-pond", "name": "毛坑山塘", "type": "pond"},
    {"id": "xiawu-pond", "name": "下坞山塘", "type": "pond"},
]


def config(gateways: dict[str, list[str]] | None, **mqtt: Any) -> Config:
    service: dict[str, Any] = {}
    if gateways is not None:
        topics = [{"pattern": "gateway/{gateway}", "format": "batch"}]
        service["mqtt"] = {"topics": topics, "gateways": gateways, **mqtt}
    return Config.model_validate({"stations": STATIONS, "service": service})


def test_listed_stations_that_exist_are_fine() -> None:
    assert list(check(config({"county-gw": ["maokeng-pond", "xiawu-pond"], "gw2": []}))) == []


def test_without_mqtt_or_gateways_there_is_nothing_to_check() -> None:
    assert list(check(config(None))) == []
    assert list(check(config({}))) == []


def test_each_missing_station_is_named_at_its_place_in_the_list() -> None:
    found = list(
        check(config({"county-gw": ["maokeng-pond", "maokeng-pnd"], "gw2": ["MAOKENG-POND"]}))
    )
    assert found == [
        (
            ("service", "mqtt", "gateways", "county-gw", 1),
            "no station 'maokeng-pnd' for gateway 'county-gw'",
        ),
        (
            ("service", "mqtt", "gateways", "gw2", 0),
            "no station 'MAOKENG-POND' for gateway 'gw2'",  # ids are case-sensitive
        ),
    ]


def test_a_station_listed_twice_is_checked_each_time() -> None:
    found = list(check(config({"gw": ["ghost", "ghost"]})))
    assert [loc for loc, _ in found] == [
        ("service", "mqtt", "gateways", "gw", 0),
        ("service", "mqtt", "gateways", "gw", 1),
    ]
