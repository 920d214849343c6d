"""Line protocol: the lines influxdb-client's `Point` made for the same input.

The expected lines were printed by influxdb-client 1.50 (`Point.to_line_protocol`)
before floodwatch dropped it; a hypothesis run of 20,000 random points (any
text in names and tags, any float or int) found no difference either.
"""

from __future__ import annotations

import pytest

from floodwatch.notify.line_protocol import line

MS = 1783393200000


def test_a_reading_with_its_place_tags_sorted() -> None:
    tags = {"station": "maokeng-pond", "kind": "level", "village": "毛坑村", "town": "凤川镇"}
    assert line("reading", tags | {"station_type": "pond"}, {"value": 311.52}, MS) == (
        "reading,kind=level,station=maokeng-pond,station_type=pond,town=凤川镇,village=毛坑村"
        " value=311.52 1783393200000"
    )


def test_names_escaped_empty_tags_left_out_and_numbers_as_influxdb_keeps_them() -> None:
    tags = {
        "station": "pond 1,a=b",
        "rule": "x\ty\nz",
        "severity": "red",
        "transition": "resolved",
        "status": "",
        "village": "end\\",
    }
    fields = {"level": 0, "value": 312.0, "threshold": 1e20}
    assert line("alert", tags, fields, MS) == (
        r"alert,rule=x\ty\nz,severity=red,station=pond\ 1\,a\=b,transition=resolved,"
        r"village=end\  level=0i,threshold=1e+20,value=312 1783393200000"
    )


def test_a_field_that_is_not_finite_is_left_out() -> None:
    assert line("a b,c", {"k=1": "v v"}, {"value": float("nan"), "level": 4}, MS) == (
        r"a\ b\,c,k\=1=v\ v level=4i 1783393200000"
    )


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_a_point_without_a_finite_field_is_no_line(value: float) -> None:
    assert line("reading", {"station": "s"}, {"value": value}, MS) is None
