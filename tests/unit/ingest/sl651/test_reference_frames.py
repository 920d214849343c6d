"""Every real frame in tests/reference/sl651_frames.json decodes to its listed
contents; the bad-CRC, truncated and two-frames-in-one-read cases behave as listed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from floodwatch.ingest.sl651 import codec
from floodwatch.ingest.sl651.frame import Frame
from floodwatch.ingest.sl651.stream import FrameStream, Junk

FRAMES = json.loads(
    (Path(__file__).parents[3] / "reference" / "sl651_frames.json").read_text(encoding="utf-8")
)
DECODED = [f for f in FRAMES if "decoded" in f]
# The reference names fixed-form series descriptively.
SERIES = {"DRP 5min rain mm x12": "DRP", "DRZ1 5min rel. level m x12 (def byte 5C)": "DRZ1"}


def _by_name(name: str) -> dict[str, Any]:
    return next(f for f in FRAMES if f["name"] == name)


def _one(raw: bytes) -> Frame:
    stream = FrameStream()
    items = stream.feed(raw)
    assert len(items) == 1 and isinstance(items[0], Frame), items
    assert stream.pending == 0
    return items[0]


@pytest.mark.parametrize("case", DECODED, ids=[f["name"] for f in DECODED])
def test_reference_frame_decodes_to_its_listed_contents(case: dict[str, Any]) -> None:
    want = case["decoded"]
    frame = _one(bytes.fromhex(case["hex"]))
    assert f"{frame.centre:02X}" == want["center"]
    assert frame.station == want["station"]
    assert frame.password == want["pwd"]
    assert frame.fc == want["fc"]
    assert frame.uplink and want["dir"] == "up"
    assert len(frame.body) == want["len"]
    assert f"{frame.end:02X}" == want["end"]
    report = codec.report(frame)
    assert report.serial == want["serial"]
    assert report.sent.strftime("%y%m%d%H%M%S") == want["send_time"]
    if "st_code" in want:
        assert report.station == want["st_code"]
        assert report.station_class == want["st_type"]
    got = []
    for e in report.elements:
        if e.name == "DRxnn":
            got.append(["DRxnn step DDHHMM", e.time.strftime("%y%m%d%H%M"), e.value])  # type: ignore[union-attr]
        elif e.name == "RGZS":
            got.append(["RGZS", e.value])
        else:
            assert e.time is not None
            got.append([e.name, e.time.strftime("%y%m%d%H%M"), e.value])
    expected = []
    for element in want["elements"]:
        name = SERIES.get(element[0], element[0])
        if name == "Z series":
            name = "Z"
        expected.append([name, *element[1:]])
    assert got == expected


def test_bad_crc_is_rejected_with_the_reason() -> None:
    items = FrameStream().feed(bytes.fromhex(_by_name("bad_crc_flip_last_byte")["hex"]))
    assert len(items) == 1 and isinstance(items[0], Junk)
    assert items[0].reason == "crc_mismatch"
    assert "367D" in items[0].detail and "367C" in items[0].detail


def test_two_frames_in_one_read_split_into_two_valid_frames() -> None:
    items = FrameStream().feed(bytes.fromhex(_by_name("two_frames_concatenated")["hex"]))
    assert [type(i) for i in items] == [Frame, Frame]
    assert [i.fc for i in items if isinstance(i, Frame)] == ["32", "33"]


def test_truncated_frame_waits_for_more_bytes_then_is_dead_lettered_on_flush() -> None:
    raw = bytes.fromhex(_by_name("truncated")["hex"])
    stream = FrameStream()
    assert stream.feed(raw) == []
    assert stream.pending == len(raw)
    junk = stream.flush()
    assert junk is not None and junk.reason == "truncated" and junk.raw == raw
    # the rest arriving later completes it
    whole = bytes.fromhex(_by_name("fujian_32H_timed_river")["hex"])
    stream.feed(whole[: len(raw)])
    assert [type(i) for i in stream.feed(whole[len(raw) :])] == [Frame]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floodwatch", "sl651", "decode", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_decode_cli_prints_json_and_fails_naming_the_reason() -> None:
    good = _cli(_by_name("njnrs_32H_reservoir_ZU")["hex"])
    assert good.returncode == 0, good.stderr
    out = json.loads(good.stdout)
    assert out["station"] == "00418D2337" and out["station_class"] == "K"
    assert {"element": "ZU", "time": "2023-06-01T01:00:00", "value": 37.865} in out["elements"]
    bad = _cli(_by_name("bad_crc_flip_last_byte")["hex"])
    assert bad.returncode == 1
    assert "crc_mismatch" in bad.stderr
    cut = _cli(_by_name("truncated")["hex"])
    assert cut.returncode == 1 and "truncated" in cut.stderr


def test_decode_cli_shows_what_a_manual_entry_is_read_as() -> None:
    out = json.loads(_cli(_by_name("fujian_35H_manual_entry_ascii")["hex"]).stdout)
    assert out["elements"] == [{"element": "RGZS", "time": None, "value": "Q 1.234"}]
    assert out["manual_entry"] == {
        "elements": [{"element": "Q", "time": "2022-12-05T10:27:29", "value": 1.234}],
        "not_understood": [],
    }
