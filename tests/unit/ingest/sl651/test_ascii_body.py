"""`ingest.sl651.ascii_body`: ASCII-mode report bodies — tokens separated by
spaces, serial and send time apart or written together, station and
observation times, `M` or all F missing, the series as hex strings, the status
word, unknown identifiers skipped with a note, manual text to the end;
`encode` back; and each body refused, by its reason code."""

from __future__ import annotations

from datetime import datetime

import pytest

from floodwatch.ingest.sl651.ascii_body import decode, encode
from floodwatch.ingest.sl651.body import FIVE_MINUTES, KEEP_ALIVE, MANUAL, TIMED, Element, Report
from floodwatch.ingest.sl651.frame import FrameError

SENT = datetime(2026, 7, 7, 8, 3, 10)  # noqa: DTZ001 - the RTU's clock
AT = datetime(2026, 7, 7, 8, 0)  # noqa: DTZ001
BODY = b"002A 260707080310 ST 0033018203 P TT 2607070800 PJ 5.5 Z 27.30 VT M "


def refused(body: bytes, function: int = TIMED) -> FrameError:
    with pytest.raises(FrameError) as info:
        decode(function, body)
    return info.value


def test_a_timed_report_s_tokens_become_its_elements() -> None:
    report = decode(TIMED, BODY)
    assert (report.serial, report.sent, report.station, report.station_class) == (
        0x2A,
        SENT,
        "0033018203",
        "P",
    )
    assert report.elements == [
        Element("PJ", AT, 5.5),
        Element("Z", AT, 27.3),
        Element("VT", AT, None),  # M: missing
    ]
    assert encode(report) == b"002A 260707080310 ST 0033018203 P TT 2607070800 PJ 5.5 Z 27.3 VT M "
    assert decode(TIMED, encode(report)) == report


def test_serial_and_send_time_written_together_and_lower_case_station() -> None:
    report = decode(TIMED, b"002A260707080310 ST 0033abcd03 H TT 2607070800 Z FFFF ")
    assert report.serial == 0x2A and report.sent == SENT and report.station == "0033ABCD03"
    assert report.elements == [Element("Z", AT, None)]  # all F: missing


def test_a_keep_alive_is_serial_and_send_time_only() -> None:
    assert decode(KEEP_ALIVE, b"0001 260707080310 anything ").elements == []
    keep = Report(KEEP_ALIVE, 1, SENT, "0033018203", "P", [Element("Z", AT, 1.0)])
    assert encode(keep) == b"0001 260707080310 "


def test_series_are_hex_strings_of_twelve_values_with_invalid_missing() -> None:
    drp = "00" + "05" + "FF" + "01" * 9
    drz = "0AAA" * 11 + "FFFF"
    report = decode(0x34, f"0001 260707080310 TT 2607070800 DRP {drp} DRZ1 {drz} ".encode())
    assert report.elements == [
        Element("DRP", AT, [0.0, 0.5, None] + [0.1] * 9, FIVE_MINUTES),
        Element("DRZ1", AT, [27.3] * 11 + [None], FIVE_MINUTES),
    ]
    assert decode(0x34, encode(report)) == report
    assert refused(b"0001 260707080310 DRP 0005 ").detail == "DRP needs 24 hex characters"
    assert refused(f"0001 260707080310 DRZ2 {drz}00 ".encode()).detail == (
        "DRZ2 needs 48 hex characters"
    )
    assert refused(f"0001 260707080310 DRP {'0G' * 12} ".encode()).reason == "bad_value"


def test_the_status_word_is_eight_hex_characters() -> None:
    report = decode(TIMED, b"0001 260707080310 ZT 00000041 ")
    assert report.elements == [Element("ZT", None, 0x41)]
    assert encode(report) == b"0001 260707080310 ZT 00000041 "
    assert refused(b"0001 260707080310 ZT 0000004X ").detail == "ZT '0000004X'"


def test_an_unknown_identifier_is_skipped_with_a_note() -> None:
    report = decode(TIMED, b"0001 260707080310 XYZ 12 Z 1.5 ")
    assert report.notes == ["identifier XYZ skipped"] and report.elements == [
        Element("Z", None, 1.5)
    ]


def test_manual_text_runs_to_the_end_of_the_body() -> None:
    report = decode(MANUAL, b"0001 260707080310 TT 2607070800 RGZS Q 1.234 Z 3 ")
    assert report.elements == [Element("RGZS", AT, "Q 1.234 Z 3")]
    assert decode(MANUAL, encode(report)) == report


def test_bodies_without_a_header_or_with_a_name_and_no_value_are_refused() -> None:
    assert refused(b"0001").reason == "short_body"
    assert refused(b"").reason == "short_body"
    assert refused(b"00G1 260707080310 ").reason == "bad_header"
    assert refused(b"0001 2607070803XY ").reason == "bad_header"
    assert refused(b"0001 260707080310 Z ").detail == "Z without a value"
    assert refused(b"0001 260707080310 ST 0033018203 ").detail == "ST without a station class"
    assert refused(b"0001 260707080310 Z high ").detail == "Z 'high' is not a number"


@pytest.mark.parametrize(
    "body",
    [
        b"0001 2607 ST 0033018203 P ",  # a send time of two bytes
        b"0001 260707080310 TT 26 Z 1.0 ",  # an observation time of one byte
        b"0001 260707080310 TT 26070Z0800 Z 1.0 ",  # not hex
        b"0001 260799080310 Z 1.0 ",  # day 99
    ],
)
def test_a_time_that_is_no_time_is_refused_as_a_frame_error(body: bytes) -> None:
    # A short time used to escape as an IndexError: the receiver's connection
    # died on it and the frame was never dead-lettered.
    assert refused(body).reason in ("bad_time", "bad_header")
