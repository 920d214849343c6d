"""Elements to readings per station: defaults by class, one element per kind,
cumulative PT differenced, Beijing time, the gauge-fault bit, the address and
password check."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from floodwatch.config import ConfigError
from floodwatch.config.models import Station
from floodwatch.ingest.sl651.body import Element, Report
from floodwatch.ingest.sl651.frame import Frame
from floodwatch.ingest.sl651.mapping import Counters, Directory, Known, Refusal, readings
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import compile_config

T0 = datetime(2026, 7, 7, 8, 0)  # noqa: DTZ001 - the RTU's clock: Beijing time


def _station(sid: str, kind: str, sl651: dict[str, object]) -> Station:
    return Station.model_validate(
        {"id": sid, "name": sid, "type": kind, "sl651": {"password": "0000", **sl651}}
    )


RAIN = _station("rain", "rain_gauge", {"address": "0000000001", "class": "P"})
POND = _station("pond", "pond", {"address": "0000000002", "class": "K"})
DIRECTORY = Directory([RAIN, POND])


def _known(station: Station) -> Known:
    assert station.sl651 is not None
    known = DIRECTORY.by_address[station.sl651.address]
    return known


def _report(*elements: Element, klass: str = "P") -> Report:
    return Report(0x32, 1, T0, "0000000001", klass, list(elements))


def test_rain_is_read_once_per_report_in_beijing_time() -> None:
    got, _ = readings(
        _known(RAIN),
        _report(Element("PJ", T0, 2.5), Element("PN05", T0, 2.5), Element("P1", T0, 9.0)),
        Counters(),
    )
    assert [(r.kind, r.value, r.ts.isoformat()) for r in got] == [
        ("rain", 2.5, "2026-07-07T00:00:00+00:00")
    ]


def test_cumulative_pt_is_differenced_when_nothing_else_gives_rain() -> None:
    counters = Counters()
    values = []
    for minutes, total in ((0, 100.0), (5, 101.5), (10, 104.0), (15, 3.0), (20, 4.5)):
        at = T0 + timedelta(minutes=minutes)
        got, _ = readings(_known(RAIN), _report(Element("PT", at, total)), counters)
        values.append([r.value for r in got])
    # first counter: nothing yet; reset (104 -> 3): nothing; then on again
    assert values == [[], [1.5], [2.5], [], [1.5]]


def test_a_level_gauge_fault_marks_the_levels() -> None:
    report = _report(Element("ZU", T0, 310.2), Element("ZT", T0, 1 << 6), klass="K")
    got, notes = readings(_known(POND), report, Counters())
    assert [(r.kind, r.value, r.quality) for r in got] == [("level", 310.2, "gauge_fault")]
    assert any("level_gauge_fault" in n for n in notes)


def test_the_over_limit_bit_marks_the_levels_and_a_fault_comes_first() -> None:
    report = _report(Element("ZU", T0, 310.2), Element("ZT", T0, 1 << 2), klass="K")
    got, _ = readings(_known(POND), report, Counters())
    assert [(r.kind, r.quality) for r in got] == [("level", "over_limit")]
    both = _report(Element("ZU", T0, 310.2), Element("ZT", T0, 1 << 2 | 1 << 6), klass="K")
    got, _ = readings(_known(POND), both, Counters())
    assert [r.quality for r in got] == ["gauge_fault"]


def test_the_series_comes_before_the_instantaneous_value_and_missing_is_a_note() -> None:
    series = Element("DRZ1", T0, [310.0, None, 310.1] + [310.2] * 9, timedelta(minutes=5))
    got, notes = readings(
        _known(POND), _report(series, Element("Z", T0, 299.0), klass="K"), Counters()
    )
    assert len(got) == 11 and 299.0 not in [r.value for r in got]
    assert any("missing" in n for n in notes)


@pytest.mark.parametrize(
    ("address", "password", "reason"),
    [("0000000009", "0000", "unknown_address"), ("0000000001", "1111", "bad_password")],
)
def test_address_and_password_are_checked(address: str, password: str, reason: str) -> None:
    refusal = DIRECTORY.check(Frame(1, address, password, 0x32, b""))
    assert isinstance(refusal, Refusal) and refusal.reason == reason


def test_two_stations_with_one_address_are_refused() -> None:
    twin = _station("twin", "pond", {"address": "0000000001"})
    with pytest.raises(ValueError, match="share SL 651 address 0000000001"):
        Directory([RAIN, twin])


def test_check_reports_two_stations_with_one_address(tmp_path: Path) -> None:
    cfg = tmp_path / "config"
    shutil.copytree(Path(__file__).parents[4] / "config", cfg)
    stations = cfg / "stations.yaml"
    text = stations.read_text("utf-8")
    stations.write_text(text.replace('address: "0033018204"', 'address: "0033018201"'), "utf-8")
    with pytest.raises(ConfigError) as caught:
        compile_config(load_config_dir(cfg))
    assert "SL 651 address 0033018201 is already used by station 'maokeng-pond'" in str(
        caught.value
    )
    assert "stations[3].sl651.address" in str(caught.value)
