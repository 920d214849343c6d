"""`ingest.sl651.body`: HEX/BCD report bodies — BCD times and values (a
leading F negative, all F missing), the station and observation-time groups,
the fixed-form series (DRP, DRZn: HEX, the definition byte not trusted), the
status word, a uniform-interval series (31H), user-extended and unknown
identifiers noted, manual text and pictures; `encode` back; and each body
refused, by its reason code."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from floodwatch.ingest.sl651.body import (
    ADD,
    FIVE_MINUTES,
    KEEP_ALIVE,
    MANUAL,
    PICTURE,
    TIMED,
    UNIFORM,
    Element,
    Report,
    bcd_time,
    bcd_value,
    decode,
    encode,
    time_bcd,
    value_bcd,
)
from floodwatch.ingest.sl651.frame import FrameError

SENT = datetime(2022, 12, 2, 13, 37, 16)  # noqa: DTZ001 - the RTU's clock
AT = datetime(2022, 12, 2, 13, 35)  # noqa: DTZ001
HEAD = bytes.fromhex("2F7C221202133716")  # serial 12156, sent 22-12-02 13:37:16
STATION = bytes.fromhex("F1F1100000000648")  # 1000000006, class H
GROUP = bytes.fromhex("F0F02212021335")
# The body of a real timed report (tests/reference/sl651_frames.json): PJ PT Z VT.
FUJIAN = HEAD + STATION + GROUP + bytes.fromhex("2019000000261900319639230002896038121312")


def refused(function: int, body: bytes) -> FrameError:
    with pytest.raises(FrameError) as info:
        decode(function, body)
    return info.value


def test_a_real_timed_report_decodes_to_its_elements() -> None:
    report = decode(TIMED, FUJIAN)
    assert (report.serial, report.sent, report.station, report.station_class) == (
        12156,
        SENT,
        "1000000006",
        "H",
    )
    assert [(e.name, e.time, e.value) for e in report.elements] == [
        ("PJ", AT, 0.0),
        ("PT", AT, 319.6),
        ("Z", AT, 28.96),
        ("VT", AT, 13.12),
    ]
    assert report.notes == [] and report.picture is None
    definitions = {"PJ": 0x19, "PT": 0x19, "Z": 0x23, "VT": 0x12}
    assert encode(report, definitions) == FUJIAN  # and back, byte for byte


def test_bcd_times_with_and_without_seconds_and_what_is_no_time() -> None:
    assert bcd_time(bytes.fromhex("221202133716")) == SENT
    assert bcd_time(bytes.fromhex("2212021335")) == AT
    assert bcd_time(bytes.fromhex("22120213")) == datetime(2022, 12, 2, 13)  # noqa: DTZ001
    assert time_bcd(SENT, 6).hex() == "221202133716" and time_bcd(AT, 5).hex() == "2212021335"
    # month 13, not BCD, too short (no hour: it used to escape as an IndexError), too long
    for raw in ("221302133716", "2212021A3716", "221202", "22", "", "22120213371600"):
        with pytest.raises(FrameError, match="bad_time"):
            bcd_time(bytes.fromhex(raw))


def test_bcd_values_negative_missing_and_not_a_number() -> None:
    assert bcd_value(bytes.fromhex("00028960"), 2) == 289.6
    assert bcd_value(bytes.fromhex("FF000125"), 3) == -0.125  # leading F: negative
    assert bcd_value(bytes.fromhex("FFFF"), 1) is None  # all F: missing
    with pytest.raises(FrameError, match=r"bad_value: 001A is not a BCD number"):
        bcd_value(bytes.fromhex("001A"), 0)
    assert value_bcd(-0.125, 4, 3) == bytes.fromhex("FF000125")
    assert value_bcd(None, 2, 1) == b"\xff\xff" and value_bcd(28.96, 4, 2) == bytes.fromhex(
        "00002896"
    )


def test_a_keep_alive_is_only_serial_and_send_time() -> None:
    report = decode(KEEP_ALIVE, HEAD + b"\x99\x99")  # what follows is not read
    assert report.elements == [] and report.station is None and report.serial == 12156
    assert (
        encode(Report(KEEP_ALIVE, 12156, SENT, "1000000006", "H", [Element("Z", AT, 1.0)])) == HEAD
    )


def test_each_observation_time_group_dates_its_elements() -> None:
    later = AT + timedelta(minutes=5)
    body = HEAD + GROUP + bytes.fromhex("392300028960F0F02212021340392300029010")
    report = decode(ADD, body)
    assert [(e.time, e.value) for e in report.elements] == [(AT, 28.96), (later, 29.01)]
    assert encode(report) == body  # one group per time, as sent


def test_an_unknown_station_class_is_kept_as_its_code() -> None:
    report = decode(TIMED, HEAD + bytes.fromhex("F1F1100000000699"))
    assert report.station_class == "99"


def test_fixed_form_series_are_hex_with_invalid_values_missing() -> None:
    drp = bytes.fromhex("F460") + bytes([0, 5, 255] + [1] * 9)
    drz = bytes.fromhex("F55C") + bytes.fromhex("0AAA0AAAFFFF") + bytes.fromhex("0AAB") * 9
    report = decode(0x34, HEAD + GROUP + drp + drz)
    rain, level = report.elements
    assert rain == Element("DRP", AT, [0.0, 0.5, None] + [0.1] * 9, FIVE_MINUTES)
    assert level.name == "DRZ1" and level.step == FIVE_MINUTES  # 5C: not trusted
    assert level.value == [27.3, 27.3, None] + [27.31] * 9
    assert decode(0x34, encode(report)).elements == report.elements
    assert refused(0x34, HEAD + drp[:10]).detail == "DRP runs past the end of the body"


def test_the_status_word_is_a_hex_integer() -> None:
    report = decode(TIMED, HEAD + bytes.fromhex("45200000") + bytes.fromhex("0041"))
    assert report.elements == [Element("ZT", None, 0x41)]
    assert encode(report) == HEAD + bytes.fromhex("452000000041")


def test_a_uniform_interval_report_reads_a_series_until_the_end_of_the_body() -> None:
    step = bytes.fromhex("0418000005")  # DRxnn: 00 d 00 h 05 min
    values = bytes.fromhex("3912") + bytes.fromhex("2896 2901 FFFF 2910".replace(" ", ""))
    report = decode(UNIFORM, HEAD + GROUP + step + values)
    drx, z = report.elements
    assert drx == Element("DRxnn", AT, "000005")
    assert z == Element("Z", AT, [28.96, 29.01, None, 29.1], timedelta(minutes=5))
    assert decode(TIMED, HEAD + GROUP + step + values[:4]).elements[1].value == 28.96  # not 31H


def test_user_extended_and_unknown_identifiers_are_noted_and_skipped() -> None:
    extended = bytes.fromhex("FF01 10 1234".replace(" ", ""))  # FF01, 2 bytes
    unknown = bytes.fromhex(
        "6011 0012".replace(" ", "")
    )  # 60H: not in the table, 2 bytes, 1 decimal
    report = decode(TIMED, HEAD + extended + unknown + bytes.fromhex("3912") + b"\x28\x96")
    assert report.notes == [
        "user-extended identifier FF01 skipped",
        "identifier 60 not in the standard's table",
    ]
    assert [(e.name, e.value) for e in report.elements] == [("60H", 1.2), ("Z", 28.96)]


def test_manual_text_and_a_picture_take_the_rest_of_the_body() -> None:
    manual = decode(MANUAL, HEAD + bytes.fromhex("F2F2") + "Q 1.234 水位".encode("gb18030"))
    assert manual.elements == [Element("RGZS", None, "Q 1.234 水位")]
    picture = decode(PICTURE, HEAD + STATION + bytes.fromhex("F3F3FFD8FFE0"))
    assert picture.picture == bytes.fromhex("FFD8FFE0") and picture.station == "1000000006"
    assert decode(PICTURE, encode(picture)).picture == picture.picture
    assert encode(manual) == HEAD + bytes.fromhex("F2F2") + "Q 1.234 水位".encode("gb18030")


def test_bodies_that_end_too_soon_or_define_nothing_are_refused() -> None:
    assert refused(TIMED, HEAD[:7]).detail == "7 bytes, serial and send time need 8"
    assert (
        refused(TIMED, HEAD + b"\xf1\xf1\x10").detail
        == "station address runs past the end of the body"
    )
    assert refused(TIMED, HEAD + b"\xf0\xf0\x22").reason == "short_body"
    assert refused(TIMED, HEAD + b"\x39").detail == "identifier 39 without a definition byte"
    assert refused(TIMED, HEAD + b"\x39\x03\x00").reason == "bad_definition"  # length 0
    assert (
        refused(TIMED, HEAD + b"\x39\x23\x00").detail == "element 39 runs past the end of the body"
    )
    assert refused(TIMED, HEAD + b"\xff\x01").reason == "short_body"
    assert refused(TIMED, HEAD + bytes.fromhex("39120A1A")).reason == "bad_value"


def test_a_text_value_is_not_encoded_as_a_number() -> None:
    with pytest.raises(ValueError, match="Z: a number, got 'high'"):
        encode(Report(TIMED, 1, SENT, elements=[Element("Z", AT, "high")]))
