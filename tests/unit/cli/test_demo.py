"""`floodwatch.cli.demo`: the terminal's telling of the storm (`Teller`) in
Chinese and English — names, colours, the hour lines, SMS, broadcasts, the
end summary with who answered — and `floodwatch demo` run in-process, with
and without the board, and with the board's port taken."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from floodwatch.alerts.state import Severity
from floodwatch.cli.demo import POND, WORDS, Teller, demo
from floodwatch.cli.options import EXAMPLE_CONFIG, load
from floodwatch.notify.record import BoxMessage
from floodwatch.readings import Reading
from floodwatch.rules.engine import Engine
from floodwatch.sim import simulate
from floodwatch.web.demo import Sms
from tests.integration.services import free_port

COMPILED = load(EXAMPLE_CONFIG)
T = datetime(2026, 7, 6, 16, 0, tzinfo=UTC)  # 00:00 in Beijing


@pytest.fixture(autouse=True)
def floodwatch_logging() -> Iterator[None]:
    """`floodwatch demo` quiets floodwatch's own log for the terminal; put it back."""
    logger = logging.getLogger("floodwatch")
    level = logger.level
    yield
    logger.setLevel(level)


def told(capsys: pytest.CaptureFixture[str]) -> str:
    return click.unstyle(capsys.readouterr().out)


def run(*args: str) -> Result:
    return CliRunner().invoke(demo, ["--fast", *args])


# -- Teller ------------------------------------------------------------------------------------


def test_every_word_has_both_languages_with_the_same_fields() -> None:
    import string

    for key, (zh, en) in WORDS.items():
        in_zh = {f for _, f, _, _ in string.Formatter().parse(zh) if f}
        in_en = {f for _, f, _, _ in string.Formatter().parse(en) if f}
        # English says "the simulated pond" where Chinese names it
        assert in_en <= in_zh and in_zh - in_en <= {"pond"}, key


def test_names_are_chinese_in_zh_and_ids_otherwise() -> None:
    zh, en = Teller(COMPILED, "zh"), Teller(COMPILED, "both")
    assert zh.station(POND) == "毛坑山塘" and en.station(POND) == POND
    assert zh.station("nowhere") == "nowhere"  # unknown: the id, no crash
    assert zh.rule("pond-level") == "山塘水位" and en.rule("pond-level") == "pond-level"
    assert zh.rule("no-such-rule") == "no-such-rule"
    assert zh.severity(Severity.ORANGE) == "橙色" and en.severity(Severity.ORANGE) == "orange"
    assert zh.local(T) == "00:00" == en.local(T)  # the config's zone, Beijing
    assert zh.villages["330182104201"] == "毛坑村" and en.villages["330182104201"] != "毛坑村"


def test_the_level_is_drawn_once_an_hour_with_a_bar(capsys: pytest.CaptureFixture[str]) -> None:
    teller = Teller(COMPILED, "en")
    level = [Reading(POND, "level", 310.5, T)]
    teller.sweep(T, level)
    teller.sweep(T + timedelta(minutes=5), level)  # same hour: nothing
    teller.sweep(T + timedelta(hours=1), [Reading("maokeng-rain", "rain", 3.0, T)])  # no level
    teller.sweep(T + timedelta(hours=1), [Reading(POND, "level", 309.0, T)])  # below the bar's 0
    assert told(capsys).splitlines() == [
        "00:00  pond level  310.50 m  " + "█" * 10,
        "01:00  pond level  309.00 m  ",
    ]


def test_alerts_are_told_in_the_terminals_language(capsys: pytest.CaptureFixture[str]) -> None:
    storm = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings
    events = Engine(COMPILED).process(storm).alerts
    first = events[0]
    Teller(COMPILED, "zh").alert(first)
    zh = told(capsys).splitlines()
    assert zh[0].startswith(f"{Teller(COMPILED, 'zh').local(first.ts)}  ")
    assert "毛坑" in zh[0] and "·" in zh[0] and zh[1] == f"        {first.message_zh}"
    assert len(zh) == 2
    Teller(COMPILED, "en").alert(first)
    en = told(capsys).splitlines()
    assert first.rule in en[0] and first.severity.value.upper() in en[0]
    assert en[1:] == [f"        {first.message_en}"]
    Teller(COMPILED, "both").alert(first)
    assert told(capsys).splitlines()[1:] == [
        f"        {first.message_zh}",
        f"        {first.message_en}",
    ]


def test_sms_and_broadcasts_are_counted_and_told(capsys: pytest.CaptureFixture[str]) -> None:
    teller = Teller(COMPILED, "zh")
    teller.sms(Sms(["王强", "李娜"], "【橙色预警】……"))
    teller.sms(Sms(["王强"], "【红色预警】……"))
    box = BoxMessage("box", "330182104201", "毛坑", "<alert/>", {"text": "请立即转移"}, 0.0, 0.0)
    teller.box(box)
    teller.box(BoxMessage("box", "999", "外村", "", {}, 0.0, 0.0))  # unknown village, no text
    assert teller.messages == 3 and teller.people == {"王强", "李娜"} and teller.boxes == 2
    assert told(capsys).splitlines() == [
        "        短信 → 王强、李娜：【橙色预警】……",
        "        短信 → 王强：【红色预警】……",
        "        村广播 毛坑村：请立即转移",
        "        村广播 外村：",
    ]


def test_the_end_says_who_answered(capsys: pytest.CaptureFixture[str]) -> None:
    teller = Teller(COMPILED, "en")
    teller.shown = 5
    call: dict[str, Any] = {
        "station": POND,
        "station_name": "毛坑山塘",
        "called": [{"name": "Wang"}, {"name": "Li"}],
        "acknowledged": None,
        "acknowledgements": [],
    }
    chain = {
        "sms": [{"messages": [1, 2]}, {"messages": [3]}],
        "calls": [
            call,
            {**call, "called": [], "acknowledgements": [{"by": "Wang"}, {"by": "Wang"}]},
            {**call, "acknowledged": {"by": "Li"}},
        ],
        "broadcasts": [
            {"village": "330182104201", "village_name": "x", "current": {"text": "evacuate"}},
            {"village": "nowhere", "village_name": "Far village", "current": None},
        ],
    }
    teller.ends([(Severity.RED, POND, "pond-level", T)], chain)
    assert told(capsys).splitlines() == [
        "",
        "5 alert events; still active at the end: 1",
        "  red    maokeng-pond pond-level (since 00:00)",
        "notifications: 3 SMS messages to 2 people",
        f"call-and-answer {POND}: called Wang, Li; the current warning not acknowledged",
        f"call-and-answer {POND}: called nobody; Wang answered an earlier call; "
        "called again when the warning was raised, not answered yet",
        f"call-and-answer {POND}: called Wang, Li; the current warning acknowledged by Li",
        f"broadcast {teller.villages['330182104201']} (now): evacuate",
        "broadcast Far village (now): nothing",
    ]
    teller.ends([], None)  # without the board: no chain
    assert told(capsys).splitlines() == ["", "5 alert events; still active at the end: 0"]


def test_the_storm_over_line_names_the_board_when_there_is_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    teller = Teller(COMPILED, "zh")
    teller.storm_over("http://127.0.0.1:8080/")
    teller.storm_over(None)
    teller.port_taken(8080)
    assert told(capsys).splitlines() == [
        "",
        "暴雨过程结束，看板继续运行于 http://127.0.0.1:8080/，按 Ctrl+C 退出",
        "",
        "暴雨过程结束（看板未启动），按 Ctrl+C 退出",
        "端口 8080 已被占用：本次不启动看板（可用 --port 换一个端口）",
    ]


# -- the command ---------------------------------------------------------------------------------


def test_without_the_board_the_engine_tells_the_storm_in_english() -> None:
    result = run("--no-board", "--lang", "en")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("floodwatch demo — ")
    assert lines[1] == f"config: {EXAMPLE_CONFIG}  stations: 4  rule bindings: 14"
    assert lines[2].startswith("(the simulated pond reaches its dam crest at ")
    assert "00:00  pond level  310.30 m" in result.output
    assert "RED    firing" in result.output or "RED    escalated" in result.output
    assert not any("\u4e00" <= ch <= "\u9fff" for line in lines[3:-4] for ch in line[:40])
    summary = next(
        line for line in lines if line.endswith(" alert events; still active at the end: 3")
    )
    assert int(summary.split()[0]) > 10
    assert "SMS" not in result.output  # nothing sent without the board's chain


def test_with_the_board_the_chain_is_told_in_chinese() -> None:
    port = free_port()
    result = run("--lang", "zh", "--port", str(port))
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"指挥中心看板：http://127.0.0.1:{port}/  登录：" in out
    assert "（值班员）" in out
    assert "短信 → " in out and "村广播 毛坑村：" in out
    assert "暴雨过程结束" not in out  # said only with --stay, which waits for Ctrl+C
    lines = out.splitlines()
    chain = lines[next(i for i, line in enumerate(lines) if line.startswith("通知：短信 ")) :]
    assert chain[1].startswith("叫应 毛坑山塘：已呼叫 ")
    assert chain[-2].startswith("村广播 毛坑村（当前）：毛坑村请注意")
    assert chain[-1] == "村广播 下坞村（当前）：无"


def test_a_taken_port_runs_the_storm_without_the_board() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--lang", "en", "--port", str(port))
    assert result.exit_code == 0, result.output
    assert f"port {port} is taken: no board this time (use --port)" in result.output
    assert " alert events; still active at the end: 3" in result.output
    assert "notifications: " in result.output  # the recorded chain ran all the same


def test_without_its_board_the_demo_does_not_wait_for_one_to_stop() -> None:
    """It waited 5 s at the end for a stand-in board that never stopped."""
    import asyncio

    from floodwatch.web.demo import _nothing

    asyncio.run(asyncio.wait_for(_nothing(), 1.0))


def test_an_unknown_scenario_or_language_is_refused() -> None:
    assert run("--scenario", "tsunami").exit_code == 2
    result = run("--lang", "fr", "--no-board")
    assert result.exit_code == 2 and "'fr' is not one of 'zh', 'en', 'both'" in result.output


def test_a_broken_config_exits_2_before_the_storm(tmp_path: Path) -> None:
    (tmp_path / "stations.yaml").write_text("stations:\n  - {id: p1, type: lake}\n", "utf-8")
    result = run("--config", str(tmp_path), "--no-board")
    assert result.exit_code == 2
    assert "stations.yaml:2:" in result.stderr
    assert "floodwatch demo" not in result.stdout
