"""`ingest.sl323.convert`: SL 323 rows in, station dicts and problems out (pure,
no database): types, levels, seasons, the storage curve, and what is left out."""

from __future__ import annotations

from typing import Any

from floodwatch.ingest.sl323.convert import convert
from floodwatch.ingest.sl323.tables import CURVES, RESERVOIRS, RIVERS, SEASONS, STATIONS, Tables

POND = {
    "STCD": "61001",
    "STNM": "毛坑山塘",
    "STTP": "RR",
    "LGTD": 119.9,
    "LTTD": 30.1,
    "ADDVCD": "330182104201",
    "STLC": "毛坑村",
}
POND_LEVELS = {
    "STCD": "61001",
    "DAMEL": 312.0,
    "CKFLZ": 311.6,
    "DSFLZ": 311.4,
    "FSLTDZ": 310.6,
    "TTCP": 0.05,
}


def tables(**rows: list[dict[str, Any]]) -> Tables:
    names = {"stations": STATIONS, "reservoirs": RESERVOIRS, "seasons": SEASONS}
    names |= {"curves": CURVES, "rivers": RIVERS}
    return Tables({names[key]: value for key, value in rows.items()})


def messages(imported: Any) -> list[str]:
    return [str(p) for p in imported.problems]


def test_a_small_reservoir_is_a_pond_with_its_levels_village_and_location() -> None:
    out = convert(tables(stations=[POND], reservoirs=[POND_LEVELS]))
    assert out.problems == []
    assert out.stations == [
        {
            "id": "61001",
            "name": "毛坑山塘",
            "type": "pond",
            "location": {"lon": 119.9, "lat": 30.1},
            "village": {"name": "毛坑村", "code": "330182104201"},
            "levels": {
                "crest": 312.0,
                "check_flood": 311.6,
                "design_flood": 311.4,
                "flood_limit": 310.6,
            },
        }
    ]


def test_a_large_reservoir_stays_a_reservoir() -> None:
    big = {**POND_LEVELS, "TTCP": 0.1}
    (station,) = convert(tables(stations=[POND], reservoirs=[big])).stations
    assert station["type"] == "reservoir"


def test_seasonal_flood_limits_with_the_default_from_the_reservoir_table() -> None:
    seasons = [
        {"STCD": "61001", "BGMD": "0415", "EDMD": "0715", "FSLTDZ": 310.4},
        {"STCD": "61001", "BGMD": 716.0, "EDMD": "1015", "FSLTDZ": 310.5},
    ]
    (station,) = convert(
        tables(stations=[POND], reservoirs=[POND_LEVELS], seasons=seasons)
    ).stations
    assert station["levels"]["flood_limit"] == {
        "04-15..07-15": 310.4,
        "07-16..10-15": 310.5,
        "default": 310.6,
    }


def test_without_a_default_the_lowest_season_fails_closed() -> None:
    levels = {k: v for k, v in POND_LEVELS.items() if k != "FSLTDZ"}
    seasons = [
        {"STCD": "61001", "BGMD": "0415", "EDMD": "0715", "FSLTDZ": 310.4},
        {"STCD": "61001", "BGMD": "0716", "EDMD": "1015", "FSLTDZ": 310.5},
    ]
    (station,) = convert(tables(stations=[POND], reservoirs=[levels], seasons=seasons)).stations
    assert station["levels"]["flood_limit"]["default"] == 310.4


def test_the_storage_curve_is_the_latest_survey_in_point_order_in_cubic_metres() -> None:
    curve = [
        {"STCD": "61001", "MSTM": "2019-05-01", "PTNO": 1, "RZ": 308.0, "W": 0.0},
        {"STCD": "61001", "MSTM": "2023-05-01", "PTNO": 2, "RZ": 312.0, "W": 0.045},
        {"STCD": "61001", "MSTM": "2023-05-01", "PTNO": 1, "RZ": 308.0, "W": 0.001},
    ]
    out = convert(tables(stations=[POND], reservoirs=[POND_LEVELS], curves=curve))
    (station,) = out.stations
    assert station["structure"] == {"storage": [[308.0, 1000.0], [312.0, 45000.0]]}
    assert messages(out) == [
        f"{CURVES} STCD 61001: 2 surveys (MSTM): the latest, 2023-05-01, is taken"
    ]


def test_a_falling_storage_curve_is_dropped_and_the_station_kept() -> None:
    curve = [
        {"STCD": "61001", "PTNO": 1, "RZ": 308.0, "W": 0.02},
        {"STCD": "61001", "PTNO": 2, "RZ": 312.0, "W": 0.01},
    ]
    out = convert(tables(stations=[POND], reservoirs=[POND_LEVELS], curves=curve))
    (station,) = out.stations
    assert "structure" not in station
    (problem,) = out.problems
    assert problem.table == CURVES and not problem.skipped
    assert str(problem).endswith("structure not imported")


def test_a_crest_below_the_flood_limit_leaves_the_station_out() -> None:
    out = convert(tables(stations=[POND], reservoirs=[{**POND_LEVELS, "DAMEL": 310.0}]))
    assert out.stations == []
    assert out.skipped and all(p.stcd == "61001" for p in out.skipped)
    assert out.skipped[0].table == RESERVOIRS


def test_what_is_not_watched_duplicated_or_orphaned_is_reported() -> None:
    pump = {"STCD": "70001", "STNM": "泵站", "STTP": "DP", "ADDVCD": "330182104"}
    river = {"STCD": "62001", "STNM": "分水江", "STTP": "ZQ", "ADDVCD": "330182104"}
    rivers = [{"STCD": "62001", "WRZ": 20.5, "GRZ": 22.0}]
    orphan = [{**POND_LEVELS, "STCD": "69999"}]
    out = convert(
        tables(
            stations=[POND, {**POND, "STNM": "重复"}, pump, river], rivers=rivers, reservoirs=orphan
        )
    )
    assert [s["id"] for s in out.stations] == ["61001", "62001"]
    assert out.stations[0]["name"] == "毛坑山塘"  # the first row is taken
    town_river = out.stations[1]
    assert town_river["town"] == {"name": "分水江", "code": "330182104"}
    assert town_river["levels"] == {"warning": 20.5, "guarantee": 22.0}
    said = messages(out)
    assert f"{STATIONS} STCD 61001: duplicate STCD: the first row is taken" in said
    assert any(m.startswith(f"{STATIONS} STCD 70001: station type STTP 'DP'") for m in said)
    assert f"{RESERVOIRS} STCD 69999: no station '69999' in {STATIONS}: rows ignored" in said
    assert [p.stcd for p in out.skipped] == ["70001"]


def test_a_rain_gauge_covers_its_village() -> None:
    gauge = {**POND, "STCD": "60001", "STNM": "毛坑雨量", "STTP": "PP"}
    (station,) = convert(tables(stations=[gauge])).stations
    assert station["type"] == "rain_gauge"
    assert station["covers"] == ["330182104201"]


def test_a_non_number_leaves_the_station_out_naming_the_column() -> None:
    out = convert(tables(stations=[{**POND, "LGTD": "东经119"}]))
    assert out.stations == []
    assert messages(out) == [
        f"{STATIONS} STCD 61001: LGTD is not a number: '东经119' — station left out"
    ]
