"""`config.models`: the models of the YAML — stations, their levels, limits and
seasons, what every rule has (each kind's own model is tested with its kind,
tests/unit/rules/kinds/), the engine and the live service — their defaults and
each model's own problems (`problems()`: a path relative to the model and a
message), checked without a file. Placing a problem in its file is the
loader's (`test_loader.py`); cross-references, the compile step's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from floodwatch.config.models import (
    Config,
    EngineSettings,
    FieldMapping,
    HttpSettings,
    HttpUser,
    RuleBase,
    SensorLimits,
    ServiceSettings,
    Station,
    StationLevels,
    _month_day,
)
from floodwatch.notify.sinks import CONFIG_TYPES

Found = list[tuple[tuple[str | int, ...], str]]


def station(**data: Any) -> Station:
    return Station.model_validate({"id": "p1", "name": "茅坑山塘", "type": "pond", **data})


def levels(**data: Any) -> Found:
    return list(StationLevels.model_validate(data).problems())


# -- stations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "reports"),
    [
        ("pond", ["level"]),
        ("reservoir", ["level"]),
        ("river", ["level"]),
        ("rain_gauge", ["rain"]),
        ("culvert", ["flow"]),
    ],
)
def test_a_station_reports_by_its_type_unless_told(kind: str, reports: list[str]) -> None:
    assert station(type=kind).kinds == reports
    assert station(type=kind, reports=["level", "rain"]).kinds == ["level", "rain"]


def test_a_station_reports_every_five_minutes_by_default_and_has_no_problems() -> None:
    pond = station()
    assert pond.interval == timedelta(minutes=5)
    assert (pond.limits, pond.links, pond.covers) == ({}, {}, [])
    assert list(pond.problems()) == []


@pytest.mark.parametrize(
    "data",
    [
        {"id": 123},  # ids are text
        {"id": "p 1"},
        {"type": "lake"},
        {"name": ""},
        {"location": {"lon": 200, "lat": 30}},
        {"links": {"sideways": "p2"}},
        {"reports": ["depth"]},
        {"covers": ["33"]},
        {"crest": 312},  # a level at the station's top, not under levels
    ],
)
def test_what_is_not_a_station_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        station(**data)


def test_a_station_s_own_problems_are_each_at_their_key() -> None:
    pond = station(
        interval="0s",
        timezone="Mars/Olympus",
        backfill="0s",
        sl651={
            "address": "0012345678",
            "password": "1234",
            "timezone": "Nowhere/City",
            "elements": {"PJ": "rain", "Z": "level"},
        },
        levels={"crest": 312.0, "spillway_crest": 312.5},
        limits={"flow": {"min": 0}, "level": {"min": 320, "max": 300}},
        links={"outlet": "p1"},
        structure={"storage": [[310, 0]]},
    )
    assert list(pond.problems()) == [
        (("interval",), "must be longer than 0s"),
        (("timezone",), "unknown time zone 'Mars/Olympus' (e.g. Asia/Shanghai)"),
        (("backfill",), "must be longer than 0s (or null)"),
        (("sl651", "timezone"), "unknown time zone 'Nowhere/City'"),
        (("sl651", "elements", "PJ"), "rain is not a kind this station reports"),
        (("levels", "spillway_crest"), "must be below crest (312), got 312.5"),
        (("limits", "flow"), "station does not report 'flow' (reports: level)"),
        (("limits", "level", "max"), "must be above min (320), got 300"),
        (("links", "outlet"), "a station cannot be its own outlet"),
        (("structure", "storage"), "give at least two rows [level, storage]"),
    ]


def test_a_known_zone_is_taken() -> None:
    assert list(station(timezone="Asia/Shanghai", backfill="2h").problems()) == []


@pytest.mark.parametrize("zone", ["", "../etc/passwd", "asia/shanghai_"])
def test_a_zone_name_that_is_not_a_zone_is_unknown_not_an_error(zone: str) -> None:
    [(loc, message)] = station(timezone=zone).problems()
    assert loc == ("timezone",) and message.startswith("unknown time zone")


# -- characteristic levels and seasons ----------------------------------------------


def test_levels_in_order_have_no_problem() -> None:
    assert (
        levels(
            flood_limit=310.5,
            design_flood=311.8,
            check_flood=312.1,
            crest=312.5,
            spillway_crest=311.0,
        )
        == []
    )


def test_each_level_out_of_order_is_named_against_the_one_below() -> None:
    assert levels(flood_limit=311.0, design_flood=310.0, check_flood=312.0, crest=311.9) == [
        (
            ("design_flood",),
            "must be at or above flood_limit (311), got 310 "
            "(flood_limit ≤ design_flood ≤ check_flood ≤ crest)",
        ),
        (
            ("crest",),
            "must be at or above check_flood (312), got 311.9 "
            "(flood_limit ≤ design_flood ≤ check_flood ≤ crest)",
        ),
    ]


def test_levels_left_out_are_skipped_in_the_order() -> None:
    assert levels(flood_limit=313.0, crest=312.5) == [
        (
            ("crest",),
            "must be at or above flood_limit (313), got 312.5 "
            "(flood_limit ≤ design_flood ≤ check_flood ≤ crest)",
        )
    ]
    assert levels(design_flood=311.0) == []


def test_a_spillway_crest_at_the_dam_crest_is_a_problem() -> None:
    assert levels(crest=312.0, spillway_crest=312.0) == [
        (("spillway_crest",), "must be below crest (312), got 312")
    ]


def test_a_river_s_guaranteed_level_is_at_or_above_its_warning_level() -> None:
    assert levels(warning=25.0, guarantee=25.0) == []
    assert levels(warning=25.0, guarantee=24.5) == [
        (("guarantee",), "must be at or above warning (25), got 24.5")
    ]


def test_a_seasonal_flood_limit_is_ordered_by_its_highest_value() -> None:
    limit = {"05-01..06-30": 310.2, "07-01..09-15": 310.5, "default": 310.8}
    model = StationLevels.model_validate({"flood_limit": limit, "design_flood": 310.6})
    assert model.flood_limit_values() == [310.2, 310.5, 310.8]
    assert [loc for loc, _ in model.problems()] == [("design_flood",)]
    assert StationLevels(flood_limit=310.0).flood_limit_values() == [310.0]
    assert StationLevels().flood_limit_values() == []


def test_a_seasonal_value_needs_a_default_and_seasons_written_as_seasons() -> None:
    found = levels(flood_limit={"05-01..06-30": 310.2, "summer": 310.5})
    assert found == [
        (
            ("flood_limit",),
            "a seasonal value needs a 'default' for the days outside its seasons, "
            "e.g. {'05-01..06-30': 310.2, default: 310.8}",
        ),
        (
            ("flood_limit", "summer"),
            "a season is written MM-DD..MM-DD, e.g. '05-01..06-30'; got 'summer'",
        ),
    ]


def test_overlapping_seasons_are_named_on_their_first_common_day_once() -> None:
    found = levels(
        flood_limit={
            "05-01..07-15": 310.2,
            "07-01..09-15": 310.5,
            "09-01..10-01": 310.6,
            "default": 310.8,
        }
    )
    assert found == [
        (
            ("flood_limit", "07-01..09-15"),
            "overlaps season '05-01..07-15' on 07-01; seasons must not overlap",
        )
    ]


def test_a_season_over_the_new_year_overlaps_one_in_january() -> None:
    found = levels(flood_limit={"12-01..02-28": 310.0, "01-15..01-20": 310.1, "default": 311})
    assert found == [
        (
            ("flood_limit", "01-15..01-20"),
            "overlaps season '12-01..02-28' on 01-15; seasons must not overlap",
        )
    ]


@pytest.mark.parametrize(
    ("day", "month_day"), [(0, (1, 1)), (31, (2, 1)), (59, (2, 29)), (60, (3, 1)), (365, (12, 31))]
)
def test_every_day_of_a_leap_year_is_a_month_and_day(day: int, month_day: tuple[int, int]) -> None:
    assert _month_day(day) == month_day


def test_sensor_limits_need_min_below_max_and_a_positive_step() -> None:
    assert list(SensorLimits(min=0, max=10).problems()) == []
    assert list(SensorLimits(min=10, max=10).problems()) == [
        (("max",), "must be above min (10), got 10")
    ]
    with pytest.raises(ValidationError):
        SensorLimits(max_step=0)


# -- rules (each kind's own model: tests/unit/rules/kinds/) -------------------------


def test_a_rule_names_the_stations_it_watches() -> None:
    lonely = RuleBase.model_validate({"id": "r1", "kind": "level"})
    assert list(lonely.problems()) == [
        ((), "name the stations it watches: 'stations: [...]' or 'station_types: [...]'")
    ]
    by_type = RuleBase.model_validate({"id": "r1", "kind": "level", "station_types": ["pond"]})
    assert list(by_type.problems()) == []


def test_what_every_rule_has_comes_before_its_kind() -> None:
    """Each kind's model narrows `kind` in place: its own keys follow it."""
    assert list(RuleBase.model_fields)[-1] == "kind"
    assert "for" in [f.alias for f in RuleBase.model_fields.values()]


# -- the engine --------------------------------------------------------------------


def test_the_engine_defaults_to_beijing_time_and_two_minutes_lateness() -> None:
    engine = EngineSettings()
    assert engine.timezone == "Asia/Shanghai" and not engine.exercise
    assert engine.allowed_lateness == timedelta(minutes=2)
    assert (engine.max_future, engine.max_clock_skew) == (
        timedelta(minutes=10),
        timedelta(minutes=5),
    )
    assert list(engine.problems()) == []


def test_the_engine_s_incident_problems_are_below_incidents() -> None:
    engine = EngineSettings.model_validate({"incidents": {"groups": [["p1"]]}})
    assert list(engine.problems()) == [
        (("incidents", "groups", 0), "a group names at least two stations")
    ]


# -- the service -------------------------------------------------------------------


def service(**data: Any) -> ServiceSettings:
    return CONFIG_TYPES.service_model.model_validate(data)


def mqtt(*topics: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"topics": list(topics), **more}


def test_the_service_defaults_keep_a_store_and_a_dead_letter_file() -> None:
    settings = ServiceSettings()
    assert settings.store == "var/floodwatch.db"
    assert settings.dead_letter.file == "var/dead-letter.jsonl"
    assert (settings.mqtt, settings.kafka, settings.notify, settings.http) == (
        None,
        None,
        None,
        None,
    )
    assert list(settings.problems()) == []


def test_a_topic_pattern_is_compiled_and_its_format_known() -> None:
    settings = service(
        mqtt=mqtt(
            {"pattern": "hydro/{station}/{kind}"},
            {"pattern": "hydro/#/x", "format": "rtu"},
            {"pattern": "rtu/{station}/{station}", "format": "batch"},
            {"pattern": "gw/{gateway}", "format": "batch"},
            {"pattern": ""},
        ),
        kafka={"format": "csv"},
    )
    assert list(settings.problems()) == [
        (("mqtt", "topics", 1, "pattern"), "'#' must be the last level of 'hydro/#/x'"),
        (("mqtt", "topics", 1, "format"), "unknown format 'rtu'; expected one of batch, canonical"),
        (
            ("mqtt", "topics", 2, "pattern"),
            "field {station} is named twice in 'rtu/{station}/{station}'",
        ),
        (
            ("mqtt", "topics", 3, "pattern"),
            "a `{gateway}` topic needs service.mqtt.gateways: the stations each gateway "
            "may report (readings from an unlisted gateway are refused)",
        ),
        (("mqtt", "topics", 4, "pattern"), "a topic pattern cannot be empty"),
        (("kafka", "format"), "unknown format 'csv'; expected one of batch, canonical"),
    ]


def test_a_mapping_is_a_format_and_its_problems_are_at_its_name() -> None:
    settings = service(
        mqtt=mqtt({"pattern": "rtu/{station}", "format": "rtu"}),
        mappings={"rtu": {"kind": None}, "local": {"ts_format": "%Y-%m-%d %H:%M"}},
    )
    assert list(settings.problems()) == [
        (("mappings", "rtu", "kind"), "give the kind's path or a fixed_kind"),
        (
            ("mappings", "local", "timezone"),
            "ts_format '%Y-%m-%d %H:%M' is local time: give its timezone",
        ),
    ]
    with pytest.raises(ValidationError):
        service(mappings={"RTU": {}})  # format names are lower case


def test_a_field_mapping_reads_the_canonical_shape_by_default() -> None:
    mapping = FieldMapping()
    assert (mapping.station, mapping.kind, mapping.value, mapping.ts) == (
        "station",
        "kind",
        "value",
        "ts",
    )
    assert (mapping.scale, mapping.offset, mapping.ts_format) == (1.0, 0.0, "iso")
    for fine in (
        FieldMapping(kind=None, fixed_kind="level"),
        FieldMapping(ts_format="epoch_ms"),
        FieldMapping(ts_format="%Y%m%d%H%M", timezone="Asia/Shanghai"),
    ):
        assert list(fine.problems()) == []


def test_a_kafka_or_broadcast_destination_needs_its_broker() -> None:
    notify = {
        "destinations": {
            "bus": {"type": "kafka", "topic": "alerts"},
            "village": {"type": "broadcast"},
            "demo": {"type": "broadcast", "record": True},
        }
    }
    assert list(service(notify=notify).problems()) == [
        (
            ("notify", "destinations", "bus", "type"),
            "a kafka destination needs service.kafka (the cluster)",
        ),
        (
            ("notify", "destinations", "village", "type"),
            "a broadcast destination needs service.mqtt (the broker)",
        ),
    ]
    wired = service(notify=notify, kafka={}, mqtt=mqtt({"pattern": "hydro/#"}))
    assert list(wired.problems()) == []


def test_the_notify_settings_problems_are_below_notify() -> None:
    settings = service(notify={"routes": [{"to": ["x"]}]})
    assert list(settings.problems()) == [
        (("notify", "routes", 0, "to", 0), "no destination 'x' (known: none)")
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"dead_letter": {"mqtt_topic": "dead"}},
            [(("dead_letter", "mqtt_topic"), "needs service.mqtt (the broker to publish to)")],
        ),
        (
            {"dead_letter": {"mqtt_topic": "dead/#"}, "mqtt": mqtt({"pattern": "a"})},
            [(("dead_letter", "mqtt_topic"), "a topic to publish to: no wildcards")],
        ),
        (
            {"dead_letter": {"mqtt_topic": ""}, "mqtt": mqtt({"pattern": "a"})},
            [(("dead_letter", "mqtt_topic"), "a topic to publish to: no wildcards")],
        ),
        (
            {"dead_letter": {"kafka_topic": "dead"}},
            [(("dead_letter", "kafka_topic"), "needs service.kafka (the cluster to produce to)")],
        ),
        (
            {
                "dead_letter": {"kafka_topic": "dead", "mqtt_topic": "d"},
                "kafka": {},
                "mqtt": mqtt({"pattern": "a"}),
            },
            [],
        ),
    ],
)
def test_the_dead_letter_topics_need_their_broker(data: dict[str, Any], expected: Found) -> None:
    assert list(service(**data).problems()) == expected


def test_the_sl651_receiver_s_problems_are_below_sl651() -> None:
    assert list(service(sl651={"listen": "5005"}).problems()) == [
        (("sl651", "listen"), "HOST:PORT, got '5005'")
    ]


def test_mqtt_needs_a_topic_and_a_port_in_range() -> None:
    with pytest.raises(ValidationError):
        service(mqtt=mqtt())
    with pytest.raises(ValidationError):
        service(mqtt=mqtt({"pattern": "a"}, port=0))
    with pytest.raises(ValidationError):
        service(mqtt=mqtt({"pattern": "a", "qos": 3}))


HASH = "scrypt$16384$8$1$c2FsdA$aGFzaA"


def test_an_account_s_password_is_a_scrypt_hash_never_shown() -> None:
    assert HttpUser(name="值班", role="operator", password_hash=HASH).password_hash == HASH
    with pytest.raises(ValidationError) as caught:
        HttpUser(name="值班", role="operator", password_hash="hunter2")
    assert "must be a scrypt hash" in str(caught.value)
    with pytest.raises(ValidationError):
        HttpUser(name="值班", role="root", password_hash=HASH)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tiles", "ok"),
    [
        ("http://tiles.local/{z}/{x}/{y}.png", True),
        ("https://10.0.0.5:8080/osm/{z}/{x}/{y}.png", True),
        ("http://tiles.local/{x}/{y}.png", False),  # no zoom
        ("ftp://tiles.local/{z}/{x}/{y}.png", False),
        ("tiles.local/{z}/{x}/{y}", False),
    ],
)
def test_a_map_tile_server_is_an_http_url_with_a_zoom(tiles: str, ok: bool) -> None:
    if ok:
        assert HttpSettings(map_tiles=tiles).map_tiles == tiles
    else:
        with pytest.raises(ValidationError):
            HttpSettings(map_tiles=tiles)


# -- a whole config ----------------------------------------------------------------


def test_a_whole_config_defaults_to_empty_lists_and_default_settings() -> None:
    config = Config()
    assert (config.stations, config.rules, config.people, config.rosters) == ([], [], [], [])
    assert config.engine == EngineSettings() and config.service == ServiceSettings()
