"""SMS parts cut at natural boundaries: never inside a number with its unit or
the reply instruction; every part within the provider's limit; nothing lost."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from floodwatch.notify.sinks import load_config_dir
from floodwatch.notify.sms_parts import segments, split
from floodwatch.replay.run import run_readings
from floodwatch.rules.compile import compile_config
from floodwatch.sim import simulate

CONFIG = compile_config(load_config_dir("config"))
STORM = run_readings(CONFIG, simulate("blocked").readings).alerts
PROSE = [
    "毛坑村毛坑山塘",
    "水位",
    "，达到红色预警线",
    "。",
    "请立即组织下游群众转移，人员撤离坝体。",
    "【升级为红色预警】",
    "按当前涨速",
    "推算，预计",
    "后水位到达坝顶",
    "；",
    "放水涵管流量",
    "甲乙丙丁戊己庚辛",
]
UNITS = ["米", "米/小时", "毫米", "立方米每秒", "分钟", "小时"]


@st.composite
def number_with_unit(draw: st.DrawFn) -> str:
    value = draw(st.floats(-50, 1000, allow_nan=False))
    digits = draw(st.integers(0, 3))
    return f"{value:.{digits}f}{draw(st.sampled_from(UNITS))}"


@st.composite
def alert_text(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    """(text, spans that must stay whole): prose, real alert texts, numbers
    with units and reply instructions in random order."""
    pieces = draw(
        st.lists(
            st.one_of(
                st.sampled_from(PROSE).map(lambda p: (p, False)),
                st.sampled_from([e.message_zh for e in STORM]).map(lambda p: (p, False)),
                number_with_unit().map(lambda p: (p, True)),
                st.integers(1000, 9999).map(lambda c: (f"收到请回复{c}。", True)),
            ),
            min_size=1,
            max_size=40,
        )
    )
    text = ""
    whole: list[tuple[int, int]] = []
    for piece, keep in pieces:
        if keep:
            whole.append((len(text), len(text) + len(piece)))
        text += piece
    return text, whole


def cut_points(parts: list[str]) -> list[int]:
    points, offset = [], 0
    for part in parts[:-1]:
        offset += len(part)
        points.append(offset)
    return points


@given(alert_text(), st.integers(20, 140))
def test_no_cut_falls_inside_a_number_with_its_unit_or_the_reply_instruction(
    sample: tuple[str, list[tuple[int, int]]], room: int
) -> None:
    text, whole = sample
    parts = split(text, room)
    assert "".join(parts) == text
    assert all(len(p) <= room for p in parts)
    for cut in cut_points(parts):
        inside = [(a, b) for a, b in whole if a < cut < b]
        assert not inside, (text[inside[0][0] : inside[0][1]], parts)


@given(alert_text(), st.booleans(), st.sampled_from([70, 67, 160]))
def test_numbered_parts_are_within_the_limit_and_join_to_the_original(
    sample: tuple[str, list[tuple[int, int]]], drill: bool, chars: int
) -> None:
    text = ("【演练】" if drill else "") + sample[0]
    parts = segments(text, chars, 99)
    assert all(len(p) <= chars for p in parts)
    if len(parts) == 1:
        assert parts == [text]
        return
    prefix = "【演练】" if drill else ""
    bodies = []
    for i, part in enumerate(parts, 1):
        head = f"{prefix}({i}/{len(parts)})"
        assert part.startswith(head)
        bodies.append(part.removeprefix(head))
    assert prefix + "".join(bodies) == text


def test_the_storm_texts_break_after_sentences_not_inside_figures() -> None:
    text = (
        "【升级为红色预警】毛坑村毛坑山塘按当前涨速0.85米/小时推算，预计28分钟后水位到达坝顶，"
        "短于红色预警线30分钟。预计将漫坝，请立即组织下游群众转移，人员撤离坝体。收到请回复3751。"
    )
    parts = segments(text, 70, 3)
    assert parts == [
        "(1/2)【升级为红色预警】毛坑村毛坑山塘按当前涨速0.85米/小时推算，"
        "预计28分钟后水位到达坝顶，短于红色预警线30分钟。",
        "(2/2)预计将漫坝，请立即组织下游群众转移，人员撤离坝体。收到请回复3751。",
    ]


def test_a_trimmed_message_keeps_its_reply_instruction() -> None:
    text = "".join(e.message_zh for e in STORM[:6]) + "收到请回复3751。"
    parts = segments(text, 70, 2)
    assert len(parts) == 2 and all(len(p) <= 70 for p in parts)
    assert parts[-1].endswith("…收到请回复3751。")
