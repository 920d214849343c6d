"""Alert texts of a replayed storm: units, names instead of ids, wording that
follows the hazard's direction, advice said once."""

from __future__ import annotations

import re

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import duration_en, duration_zh, overtopping
from floodwatch.alerts.state import Severity, Transition
from floodwatch.notify.sinks import load_config_dir
from floodwatch.replay.run import run_readings
from floodwatch.rules.compile import compile_config
from floodwatch.rules.incidents.text import texts
from floodwatch.rules.incidents.tracker import Change, IncidentChange
from floodwatch.sim import simulate

CONFIG = compile_config(load_config_dir("config"))
STORM = run_readings(CONFIG, simulate("blocked").readings).alerts
IDS = re.compile(r"[a-z][a-z0-9_-]*[.-][a-z0-9_.-]+")


def first(rule: str, transition: str, severity: str | None = None) -> AlertEvent:
    return next(
        e
        for e in STORM
        if e.rule == rule
        and e.transition.value == transition
        and (severity is None or e.severity.value == severity)
    )


def test_the_blocked_culvert_names_stations_and_gives_each_value_its_own_unit() -> None:
    event = first("culvert-blocked", "firing")
    assert not IDS.search(event.message_zh) and not IDS.search(event.message_en)
    assert "判据" not in event.message_zh
    assert re.search(r"毛坑山塘水位上涨速率\d\.\d\d米/小时", event.message_zh)
    assert re.search(
        r"毛坑山塘放水涵管流量\d\.\d{3}立方米每秒，低于0\.300立方米每秒", event.message_zh
    )
    assert "m³/s" in event.message_en and "m/h" in event.message_en
    assert event.unit == "m/h"  # the unit of its first condition, a rate


def test_a_freeboard_downgrade_says_the_freeboard_grew_above_the_line() -> None:
    event = first("pond-freeboard", "downgraded")
    assert "水位距坝顶已增大到0.33米，高于红色预警线，预警降为橙色" in event.message_zh
    assert "以内" not in event.message_zh and "解除" not in event.message_zh
    assert "freeboard up to 0.33 m, above the red line" in event.message_en
    raised = first("pond-freeboard", "firing")
    assert "低于橙色预警线0.40米" in raised.message_zh


def test_time_to_crest_says_when_and_lowers_when_the_time_grows() -> None:
    red = first("pond-overtop", "escalated", "red")
    assert re.search(r"预计\d+分钟后水位到达坝顶，短于红色预警线60分钟", red.message_zh)
    lifted = first("pond-overtop", "resolved")
    assert "—" not in lifted.message_zh and "恢复正常" not in lifted.message_zh


def test_rain_texts_say_their_advice_once_and_windows_in_chinese() -> None:
    rain = [e for e in STORM if e.kind == "rainfall"]
    for event in rain:
        sentences = [s for s in re.split(r"[。！？]", event.message_zh) if s]
        assert len(sentences) == len(set(sentences)), event.message_zh
        assert event.message_zh.count("转移准备") <= 1
        assert not re.search(r"\d+[hmd]", event.message_zh), event.message_zh
    assert any("3小时累计雨量" in e.message_zh for e in rain)
    assert any("进入立即转移阶段。请立即组织危险区人员转移。" in e.message_zh for e in rain)


def test_english_texts_use_ascii_punctuation_and_no_chinese() -> None:
    for event in STORM:
        assert not re.search(r"[，。；：（）\u4e00-\u9fff]", event.message_en), event.message_en


def test_durations_are_said_in_each_language() -> None:
    assert [duration_zh(m * 60_000) for m in (30, 60, 90, 1440)] == [
        "30分钟",
        "1小时",
        "1小时30分钟",
        "24小时",
    ]
    assert duration_en(3 * 3_600_000) == "3-hour"


def test_lowered_out_of_overtopping_says_the_overtopping_stopped() -> None:
    place = CONFIG.stations["maokeng-pond"].place
    zh, en = overtopping(
        place,
        311.9,
        312.0,
        transition=Transition.DOWNGRADED,
        exercise=False,
        severity=Severity.ORANGE,
    )
    assert zh.startswith(
        "【预警降为橙色】毛坑村毛坑山塘水位311.90米，已回落到坝顶312.00米以下，漫顶停止"
    )
    assert "解除线0" not in zh and en.startswith("[Lowered to ORANGE]")


def test_an_incident_of_rain_alone_gets_the_rain_advice_not_the_dam_one() -> None:
    rain = first("rain-accumulation", "escalated", "red")
    gauge = next(s for s in CONFIG.config.stations if s.id == "maokeng-rain")
    change = IncidentChange(
        incident="i",
        station=gauge.id,
        change=Change.ESCALATED,
        severity=Severity.RED,
        previous_severity=Severity.ORANGE,
        ts=rain.ts,
        started=rain.ts,
        status=rain.status,
        alerts=[rain],
        inhibited=[],
        cause=rain,
    )
    zh, en = texts(change, gauge, {})
    assert zh.endswith("请立即组织危险区人员转移。") and "坝体" not in zh
    assert en.endswith("Move people out of danger zones now.") and "dam" not in en
