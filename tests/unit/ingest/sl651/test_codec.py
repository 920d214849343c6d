"""`ingest.sl651.codec`: a frame to its report whichever the mode (a downlink
or an unsupported function refused, naming the code), and `describe` — every
frame or junk in some bytes as readable JSON, as `floodwatch sl651 decode`
prints it: the header, a continuation packet's body left for the join, a
manual entry's SL 330 text as read, what is wrong with a body."""

from __future__ import annotations

from datetime import datetime

import pytest

from floodwatch.ingest.sl651 import ascii as ascii_mode
from floodwatch.ingest.sl651 import ascii_body, body
from floodwatch.ingest.sl651 import frame as hex_mode
from floodwatch.ingest.sl651.body import MANUAL, SUPPORTED, TIMED, Element, Report
from floodwatch.ingest.sl651.codec import FUNCTION_NAMES, describe, report
from floodwatch.ingest.sl651.frame import End, Frame, FrameError

SENT = datetime(2026, 7, 7, 8, 3, 10)  # noqa: DTZ001 - the RTU's clock
AT = datetime(2026, 7, 7, 8, 0)  # noqa: DTZ001
LEVEL = Report(TIMED, 7, SENT, "0033018201", "K", [Element("Z", AT, 310.412)])


def hex_frame(function: int, data: bytes, **kw: object) -> Frame:
    return Frame(1, "0033018201", "1234", function, data, **kw)  # type: ignore[arg-type]


def test_a_hex_and_an_ascii_frame_give_the_same_report() -> None:
    from_hex = report(hex_mode.decode(hex_mode.encode(hex_frame(TIMED, body.encode(LEVEL)))))
    ascii_raw = ascii_mode.encode(hex_frame(TIMED, ascii_body.encode(LEVEL)))
    from_ascii = report(ascii_mode.decode(ascii_raw))
    assert from_hex == from_ascii == LEVEL


def test_a_downlink_frame_is_no_report() -> None:
    with pytest.raises(FrameError) as info:
        report(hex_frame(TIMED, body.encode(LEVEL), end=End.EOT, uplink=False))
    assert info.value.reason == "downlink"


def test_an_unsupported_function_is_refused_naming_it_and_the_supported_ones() -> None:
    with pytest.raises(FrameError) as info:
        report(hex_frame(0x40, body.encode(LEVEL)))
    assert info.value.reason == "unsupported_function"
    assert info.value.detail.startswith(
        "function code 40H is not supported (supported: 2F 35 36 30"
    )
    assert set(FUNCTION_NAMES) >= set(SUPPORTED)  # every supported one has a name


def test_describe_gives_the_header_and_the_report_of_each_frame() -> None:
    raw = hex_mode.encode(hex_frame(TIMED, body.encode(LEVEL)))
    (out,) = describe(raw)
    assert {k: out[k] for k in ("mode", "centre", "station", "password", "function")} == {
        "mode": "hex",
        "centre": "01",
        "station": "0033018201",
        "password": "1234",
        "function": "32",
    }
    assert out["function_name"] == "timed 遥测站定时报 (平安报)" and out["direction"] == "up"
    assert out["end"] == "03" and out["crc_ok"] is True and out["serial"] == 7
    assert out["elements"] == [{"element": "Z", "time": "2026-07-07T08:00:00", "value": 310.412}]


def test_describe_names_junk_a_bad_body_and_an_unfinished_frame() -> None:
    good = hex_mode.encode(hex_frame(TIMED, body.encode(LEVEL)))
    bad_body = hex_mode.encode(hex_frame(TIMED, b"\x00\x07"))  # no send time
    out = describe(b"\x00\x01" + bad_body + good[:20])
    assert [o.get("error") for o in out] == ["no_frame_start", "short_body", "truncated"]
    assert out[0]["raw"] == "0001" and out[1]["station"] == "0033018201"
    assert out[1]["detail"] == "2 bytes, serial and send time need 8"
    assert out[2]["raw"] == good[:20].hex().upper()
    assert describe(b"") == []


def test_describe_leaves_a_continuation_packet_for_the_join() -> None:
    first = hex_frame(0x34, body.encode(LEVEL), end=End.ETB, total=2, sequence=1)
    second = hex_frame(0x34, b"\x12\x34", total=2, sequence=2)
    out = describe(hex_mode.encode(first) + hex_mode.encode(second))
    assert out[0]["packet"] == [1, 2] and out[0]["serial"] == 7
    assert out[1]["packet"] == [2, 2] and out[1]["body_hex"] == "1234" and "serial" not in out[1]


def test_describe_shows_what_a_manual_entry_s_text_is_read_as() -> None:
    entry = Report(MANUAL, 8, SENT, "0033018201", "K", [Element("RGZS", None, "Q 1.234 ZZ x")])
    (out,) = describe(ascii_mode.encode(hex_frame(MANUAL, ascii_body.encode(entry))))
    assert out["mode"] == "ascii"
    assert out["manual_entry"] == {
        "elements": [{"element": "Q", "time": "2026-07-07T08:03:10", "value": 1.234}],
        "not_understood": ["ZZ x"],
    }
