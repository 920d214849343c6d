"""Frames to reports, whichever the mode: the one entry point the receiver, the
gateway and `floodwatch sl651 decode` use. Pure."""

from __future__ import annotations

from floodwatch.ingest.sl651 import ascii_body, body, manual
from floodwatch.ingest.sl651.body import SUPPORTED, Report
from floodwatch.ingest.sl651.frame import Frame, FrameError
from floodwatch.ingest.sl651.stream import FrameStream, Junk

FUNCTION_NAMES = {
    0x2F: "keep-alive 链路维持报",
    0x30: "test 测试报",
    0x31: "uniform interval 均匀时段水文信息报",
    0x32: "timed 遥测站定时报 (平安报)",
    0x33: "add 遥测站加报报",
    0x34: "hourly 遥测站小时报",
    0x35: "manual entry 人工置数报",
    0x36: "picture 图片报",
    0x37: "query response: real-time data 实时数据",
    0x38: "query response: period data 时段数据",
    0x39: "query response: manual entry 人工置数",
    0x3A: "query response: element 指定要素",
}


def report(frame: Frame) -> Report:
    """The report a (complete, reassembled) uplink frame carries, or FrameError
    (`unsupported_function` names the code)."""
    if not frame.uplink:
        raise FrameError("downlink", "a downlink frame (centre to station)")
    if frame.function not in SUPPORTED:
        raise FrameError(
            "unsupported_function",
            f"function code {frame.fc}H is not supported (supported: "
            + " ".join(f"{c:02X}" for c in SUPPORTED)
            + ")",
        )
    if frame.ascii:
        return ascii_body.decode(frame.function, frame.body)
    return body.decode(frame.function, frame.body)


def describe(raw: bytes) -> list[dict[str, object]]:
    """Every frame (or junk) in the bytes, as readable JSON (one read, flushed)."""
    stream = FrameStream()
    items: list[Frame | Junk] = stream.feed(raw)
    rest = stream.flush()
    if rest is not None:
        items.append(rest)
    out: list[dict[str, object]] = []
    for item in items:
        if isinstance(item, Junk):
            out.append({"error": item.reason, "detail": item.detail, "raw": item.raw.hex().upper()})
            continue
        head: dict[str, object] = {
            "mode": "ascii" if item.ascii else "hex",
            "centre": f"{item.centre:02X}",
            "station": item.station,
            "password": item.password,
            "function": item.fc,
            "function_name": FUNCTION_NAMES.get(item.function, "unknown"),
            "direction": "up" if item.uplink else "down",
            "end": f"{item.end:02X}",
            "crc_ok": True,
        }
        if item.multi:
            head["packet"] = [item.sequence, item.total]
        if item.multi and item.sequence > 1:
            head["body_hex"] = item.body.hex().upper()  # a continuation: decoded when joined
            out.append(head)
            continue
        try:
            got = report(item)
            head.update(got.to_json())
        except FrameError as exc:
            head.update({"error": exc.reason, "detail": exc.detail})
        else:
            if item.function in (0x35, 0x39):
                head["manual_entry"] = _manual(got)
        out.append(head)
    return out


def _manual(got: Report) -> dict[str, object]:
    """What the receiver reads in a manual entry's SL 330 text (`manual.py`)."""
    elements: list[dict[str, object]] = []
    rest: list[str] = []
    for e in got.elements:
        if e.name == "RGZS":
            found, unread = manual.parse(str(e.value), e.time or got.sent)
            elements += [
                {"element": f.name, "time": f.time and f.time.isoformat(), "value": f.value}
                for f in found
            ]
            rest += unread
    return {"elements": elements, "not_understood": rest}
