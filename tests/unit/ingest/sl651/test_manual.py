"""Manual entry (35H): the SL 330 text an observer keyed in, to elements; what
is not understood comes back for the dead-letter."""

from __future__ import annotations

from datetime import datetime

from floodwatch.ingest.sl651.manual import parse

SENT = datetime(2022, 12, 5, 10, 27, 29)  # noqa: DTZ001 - the RTU's clock


def test_the_reference_frames_text_is_one_flow_at_the_send_time() -> None:
    elements, rest = parse("Q 1.234", SENT)  # fujian_35H_manual_entry_ascii
    assert [(e.name, e.time, e.value) for e in elements] == [("Q", SENT, 1.234)]
    assert rest == []


def test_header_time_tt_missing_and_the_end_code() -> None:
    text = "H 60102300 12051008 Z 25.36 XX 7 Q M TT 12051010 PJ 3.5 NN trailing"
    elements, rest = parse(text, SENT)
    at8, at10 = datetime(2022, 12, 5, 10, 8), datetime(2022, 12, 5, 10, 10)  # noqa: DTZ001
    assert [(e.name, e.time, e.value) for e in elements] == [
        ("Z", at8, 25.36),
        ("Q", at8, None),
        ("PJ", at10, 3.5),
    ]
    assert rest == ["XX 7", "trailing"]


def test_a_time_without_a_year_keyed_in_december_and_sent_in_january() -> None:
    sent = datetime(2023, 1, 1, 0, 5)  # noqa: DTZ001
    elements, _ = parse("TT 12312355 Z 1.0", sent)
    assert elements[0].time == datetime(2022, 12, 31, 23, 55)  # noqa: DTZ001


def test_a_value_that_is_no_number_is_not_understood() -> None:
    elements, rest = parse("Z abc ZT 00000040 Z", SENT)
    assert elements == [] and rest == ["Z abc", "ZT 00000040", "Z"]


def test_the_reference_manual_entry_frame_gives_a_flow_reading_marked_manual() -> None:
    from floodwatch.ingest.sl651 import codec
    from floodwatch.ingest.sl651.server import _manual
    from floodwatch.ingest.sl651.stream import FrameStream

    raw = "7E7E0110000000060000350011022F7D221205102729F2F25120312E32333403BF56"
    (frame,) = FrameStream().feed(bytes.fromhex(raw))
    report = codec.report(frame)  # type: ignore[arg-type]
    assert _manual(report) == []
    assert [(e.name, e.time, e.value) for e in report.elements] == [("Q", SENT, 1.234)]
    assert report.manual
