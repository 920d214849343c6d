"""`config.sl651`: a station's SL 651 address, password and elements
(`stations[].sl651`) — which element is read as which kind, by default per
station class — and the receiver's settings (`service.sl651`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from floodwatch.config.sl651 import Sl651Settings, Sl651Station


def station(**extra: object) -> Sl651Station:
    return Sl651Station.model_validate({"address": "0012345678", "password": "1234", **extra})


def test_address_and_password_are_hex_kept_in_capitals() -> None:
    rtu = station(address="00ab3f0001", password="beef")
    assert (rtu.address, rtu.password) == ("00AB3F0001", "BEEF")
    assert rtu.timezone == "Asia/Shanghai" and rtu.station_class is None


@pytest.mark.parametrize(
    "extra",
    [
        {"address": "001234567"},  # 9 digits
        {"address": "00123456789"},  # 11
        {"address": "00123456G8"},
        {"password": "12345"},
        {"password": "12 4"},
        {"class": "X"},
        {"elements": {"Z": "depth"}},  # not a kind
        {"adress": "0012345678"},
    ],
)
def test_what_an_rtu_cannot_send_is_refused(extra: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        station(**extra)


def test_a_reservoir_reads_levels_rain_and_flow_and_their_series() -> None:
    assert station(**{"class": "K"}).mapping(None) == {
        "ZU": "level",
        "Z": "level",
        "PJ": "rain",
        "PN05": "rain",
        "Q": "flow",
        "DRP": "rain",
        "PT": "rain",
        "DRZ1": "level",
    }


def test_a_rain_station_reads_no_level_series() -> None:
    mapping = station(**{"class": "P"}).mapping("K")  # the configured class wins
    assert mapping == {"PJ": "rain", "PN05": "rain", "P1": "rain", "DRP": "rain", "PT": "rain"}


def test_a_sluice_reads_no_rain_series() -> None:
    mapping = station().mapping("Z")  # the class the RTU sends, when none is configured
    assert mapping == {"ZU": "level", "Z": "level", "Q": "flow", "QA": "flow", "DRZ1": "level"}


@pytest.mark.parametrize("sent", [None, "", "T", "G"])
def test_a_class_without_its_own_list_reads_level_flow_and_rain(sent: str | None) -> None:
    assert station().mapping(sent) == {
        "Z": "level",
        "Q": "flow",
        "PJ": "rain",
        "DRP": "rain",
        "PT": "rain",
        "DRZ1": "level",
    }


def test_elements_given_are_the_whole_mapping_and_a_copy() -> None:
    rtu = station(**{"class": "K", "elements": {"Z": "level"}})
    mapping = rtu.mapping("K")
    assert mapping == {"Z": "level"}
    mapping["PJ"] = "rain"
    assert rtu.mapping("K") == {"Z": "level"}


def test_the_defaults_are_not_changed_by_a_report() -> None:
    first = station().mapping("K")
    first["X"] = "level"
    assert "X" not in station().mapping("K")


def test_the_receiver_listens_on_port_5005_and_keeps_rtus_online() -> None:
    settings = Sl651Settings()
    assert settings.listen == "0.0.0.0:5005"
    assert settings.idle_timeout == timedelta(minutes=5)
    assert settings.packet_timeout == timedelta(seconds=60)
    assert settings.stay_online and settings.max_connections == 10_000
    assert list(settings.problems()) == []


@pytest.mark.parametrize("listen", ["127.0.0.1:0", "[::1]:5005", "rtu.local:65535"])
def test_host_and_port_are_taken(listen: str) -> None:
    assert list(Sl651Settings(listen=listen).problems()) == []


@pytest.mark.parametrize("listen", ["5005", ":5005", "0.0.0.0:", "0.0.0.0:65536", "h:-1", "h:5e3"])
def test_a_listen_address_without_host_and_port_is_a_problem(listen: str) -> None:
    assert list(Sl651Settings(listen=listen).problems()) == [
        (("listen",), f"HOST:PORT, got {listen!r}")
    ]


def test_the_receiver_needs_at_least_one_connection() -> None:
    with pytest.raises(ValidationError):
        Sl651Settings(max_connections=0)
