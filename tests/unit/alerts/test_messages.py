"""`alerts.messages`: the texts villagers hear and duty officers read. Each
names the place (village and station), the measure with its unit in the
language of the text, the line it crossed in the hazard's direction and what
to do; the English uses ASCII punctuation; drills say so first; a lowered or
lifted rule says its eased clause and never 解除 while its incident goes on."""

from __future__ import annotations

import re

import pytest

from floodwatch.alerts.messages import (
    ADVICE,
    COLOUR_ZH,
    MEASURES,
    RAIN_ADVICE,
    UNIT_ZH,
    ConditionText,
    Place,
    balance_reason,
    crest_reason,
    duration_en,
    duration_zh,
    headline,
    overtopping,
    rain_label,
    render,
    render_compound,
    while_incident,
)
from floodwatch.alerts.state import EvacuationStage, Severity, Transition

POND = Place("毛坑山塘", "Maokeng pond", "毛坑村", "Maokeng village")
LEVEL, RISE = MEASURES["level"], MEASURES["rate_of_rise"]
FREEBOARD, CREST = MEASURES["freeboard"], MEASURES["time_to_crest"]
FIRING, ESCALATED = Transition.FIRING, Transition.ESCALATED
DOWNGRADED, RESOLVED = Transition.DOWNGRADED, Transition.RESOLVED
RED, ORANGE, YELLOW = Severity.RED, Severity.ORANGE, Severity.YELLOW
NOT_ASCII = re.compile(r"[^\x00-\x7f³]")  # m³/s is a unit, not punctuation


def _render(**kw: object) -> tuple[str, str]:
    base: dict[str, object] = {
        "place": POND,
        "measure": LEVEL,
        "severity": ORANGE,
        "transition": FIRING,
        "value": 311.62,
        "threshold": 311.6,
        "exercise": False,
    }
    base.update(kw)
    zh, en = render(**base)  # type: ignore[arg-type]
    assert not NOT_ASCII.search(en), en
    assert not re.search(r"[A-Za-z]", zh), zh
    return zh, en


def test_a_place_is_named_with_its_village_once() -> None:
    assert POND.zh == "毛坑村毛坑山塘"
    assert POND.en == "Maokeng pond (Maokeng village)"
    assert Place("毛坑村雨量站", "Maokeng rain gauge", "毛坑村").zh == "毛坑村雨量站"
    assert Place("下坞山塘", "Xiawu pond").en == "Xiawu pond"


def test_values_carry_their_unit_and_never_say_minus_zero() -> None:
    assert LEVEL.fmt_zh(311.6) == "311.60米" and LEVEL.fmt_en(311.6) == "311.60 m"
    assert MEASURES["rain"].fmt_zh(45.04) == "45.0毫米"
    assert MEASURES["flow"].fmt_en(1.2) == "1.200 m³/s"
    assert RISE.fmt_zh(-0.001) == "0.00米/小时"  # not "-0.00"
    assert CREST.fmt_en(-0.2) == "0 min"
    assert LEVEL.fmt_zh(None) == "—"
    assert UNIT_ZH == {
        "m": "米",
        "mm": "毫米",
        "m³/s": "立方米每秒",
        "m/h": "米/小时",
        "min": "分钟",
    }


def test_window_lengths_in_words() -> None:
    assert [duration_zh(m * 60_000) for m in (30, 60, 90, 1440, 0)] == [
        "30分钟",
        "1小时",
        "1小时30分钟",
        "24小时",
        "0分钟",
    ]
    assert [duration_en(m * 60_000) for m in (30, 60, 90)] == ["30-minute", "1-hour", "1 h 30 min"]
    assert rain_label(3 * 3_600_000) == ("3小时累计雨量", "3-hour rainfall")


def test_the_headline_says_the_colour_and_the_change() -> None:
    assert headline(ORANGE, FIRING, False) == ("【橙色预警】", "[ORANGE warning] ")
    assert headline(RED, ESCALATED, False) == ("【升级为红色预警】", "[Raised to RED warning] ")
    assert headline(YELLOW, DOWNGRADED, False) == ("【预警降为黄色】", "[Lowered to YELLOW] ")
    assert headline(YELLOW, RESOLVED, False) == ("【预警解除】", "[Warning lifted] ")
    assert headline(Severity.INFO, FIRING, False) == ("【设备告警】", "[Sensor notice] ")
    assert headline(Severity.INFO, RESOLVED, False) == ("【设备告警解除】", "[Sensor OK] ")
    assert headline(RED, FIRING, True) == ("【演练】【红色预警】", "[EXERCISE] [RED warning] ")


def test_every_colour_has_its_words_and_advice_in_both_languages() -> None:
    for severity in Severity:
        assert COLOUR_ZH[severity]
        zh, en = ADVICE[severity]
        assert zh.endswith("。") and en.endswith(".") and not NOT_ASCII.search(en)
    assert set(RAIN_ADVICE) == {Severity.BLUE, YELLOW, ORANGE, RED}


def test_a_rising_level_says_it_reached_the_line_and_what_to_do() -> None:
    assert _render() == (
        "【橙色预警】毛坑村毛坑山塘水位311.62米，达到橙色预警线311.60米。"
        "请做好下游群众转移准备，加密巡查。",
        "[ORANGE warning] Maokeng pond (Maokeng village): water level 311.62 m, at or above "
        "the orange line of 311.60 m. Prepare to evacuate people downstream and patrol more "
        "often.",
    )


def test_a_clause_a_stage_and_own_advice_follow_in_that_order() -> None:
    zh, en = _render(
        measure=MEASURES["rain"],
        severity=RED,
        value=82.5,
        threshold=80.0,
        label=rain_label(3_600_000),
        what_zh="雨势仍在加大",
        what_en="the rain is getting heavier",
        stage=EvacuationStage.EVACUATE,
        advice=RAIN_ADVICE[RED],
    )
    assert zh == (
        "【红色预警】毛坑村毛坑山塘1小时累计雨量82.5毫米，达到红色预警线80.0毫米，"
        "雨势仍在加大，进入立即转移阶段。请立即组织危险区人员转移。"
    )
    assert en.endswith(
        "1-hour rainfall 82.5 mm, at or above the red line of 80.0 mm, the rain is getting "
        "heavier. Evacuation stage: EVACUATE NOW. Move people out of danger zones now."
    )


def test_freeboard_is_worse_as_it_falls() -> None:
    zh, en = _render(measure=FREEBOARD, value=0.42, threshold=0.5)
    assert "水位距坝顶0.42米，低于橙色预警线0.50米" in zh
    assert "freeboard 0.42 m, at or below the orange line of 0.50 m" in en
    zh, en = _render(measure=FREEBOARD, value=0.8, threshold=0.6, transition=RESOLVED)
    assert zh == "【预警解除】毛坑村毛坑山塘水位距坝顶0.80米，已高于解除线0.60米。"
    assert en.endswith("freeboard 0.80 m, now above the reset line of 0.60 m.")


def test_a_freeboard_at_or_past_the_crest_is_said_as_the_level_over_the_crest() -> None:
    # it said "水位距坝顶-0.05米，低于红色预警线0.20米" when a reading came in over the crest
    zh, en = _render(measure=FREEBOARD, severity=RED, value=-0.05, threshold=0.2)
    assert zh == (
        "【红色预警】毛坑村毛坑山塘水位已超过坝顶0.05米。请立即组织下游群众转移，人员撤离坝体。"
    )
    assert en.startswith(
        "[RED warning] Maokeng pond (Maokeng village): the level is 0.05 m above the dam crest. "
    )
    assert FREEBOARD.now_zh(0.0) == FREEBOARD.now_zh(-0.001) == "水位已到达坝顶"
    assert FREEBOARD.now_en(0.0) == "the level is at the dam crest"
    # just short of the crest: never "距坝顶0.00米"
    zh, en = _render(measure=FREEBOARD, severity=RED, value=0.004, threshold=0.2)
    assert "水位距坝顶不足0.01米，低于红色预警线0.20米。" in zh
    assert "freeboard under 0.01 m, at or below the red line of 0.20 m." in en
    assert not any(m.past_crest(-1.0) for m in (LEVEL, RISE, CREST))


def test_the_time_to_crest_says_why_first_and_then_when() -> None:
    zh, en = _render(
        measure=CREST,
        severity=RED,
        value=42.0,
        threshold=60.0,
        what_zh=crest_reason(0.2)[0],
        what_en=crest_reason(0.2)[1],
    )
    assert zh.startswith(
        "【红色预警】毛坑村毛坑山塘按当前涨速0.20米/小时推算，预计42分钟后水位到达坝顶，"
        "短于红色预警线60分钟。"
    )
    assert (
        "at the current rise of 0.20 m/h, the level is projected to reach the crest in 42 min, "
        in en
    )
    assert "within the red line of 60 min." in en
    assert CREST.now_zh(None) == "水位已不再上涨"
    assert "来水1.50立方米每秒，出流0.20立方米每秒" in balance_reason(1.5, 0.2)[0]


@pytest.mark.parametrize("minutes", [0.0, -1.0])
def test_a_forecast_of_no_minutes_left_is_said_as_within_a_minute(minutes: float) -> None:
    # the trend is at the crest while the reading is still below it: not "已到达坝顶"
    # (said "水位已到达坝顶，短于红色预警线60分钟"); a reading at the crest is `overtopping`
    assert CREST.now_zh(minutes) == "预计1分钟内水位到达坝顶"
    assert CREST.now_en(minutes) == "the level is projected to reach the crest within 1 min"
    zh, en = render(
        place=POND,
        measure=CREST,
        severity=RED,
        transition=ESCALATED,
        value=minutes,
        threshold=60.0,
        exercise=False,
        previous=ORANGE,
    )
    assert "预计1分钟内水位到达坝顶，短于红色预警线60分钟。" in zh and "已到达坝顶" not in zh
    assert "within 1 min" in en and "at the crest" not in en


@pytest.mark.parametrize("minutes", [0.2, 0.49, 0.5])
def test_under_half_a_minute_to_the_crest_is_never_said_as_zero_minutes(minutes: float) -> None:
    # the catalogue's rule: nothing says "0分钟后" (it printed "预计0分钟后水位到达坝顶")
    assert CREST.now_zh(minutes) == "预计1分钟内水位到达坝顶"
    assert CREST.now_en(minutes) == "the level is projected to reach the crest within 1 min"
    zh, en = _render(measure=CREST, severity=RED, value=minutes, threshold=30.0)
    assert "0分钟后" not in zh and " in 0 min" not in en
    assert CREST.now_zh(0.51) == "预计1分钟后水位到达坝顶"  # rounds to 1


def test_a_resolved_rule_names_its_reset_line_and_gives_no_advice() -> None:
    zh, en = _render(severity=YELLOW, transition=RESOLVED, value=310.9, threshold=311.0)
    assert zh == "【预警解除】毛坑村毛坑山塘水位310.90米，已低于解除线311.00米。"
    assert en == (
        "[Warning lifted] Maokeng pond (Maokeng village): water level 310.90 m, now below "
        "the reset line of 311.00 m."
    )
    zh, _ = _render(severity=YELLOW, transition=RESOLVED, value=None, threshold=311.0)
    assert zh == "【预警解除】毛坑村毛坑山塘水位暂无数据。"


def test_a_lowered_rule_says_which_side_of_its_old_line_it_is_now() -> None:
    zh, en = _render(
        measure=RISE, severity=YELLOW, previous=ORANGE, transition=DOWNGRADED, value=0.07
    )
    assert zh == (
        "【预警降为黄色】毛坑村毛坑山塘水位上涨速率已回落到0.07米/小时，低于橙色预警线，"
        "预警降为黄色。请责任人到岗到位，检查溢洪道和放水涵管是否通畅。"
    )
    assert en.startswith(
        "[Lowered to YELLOW] Maokeng pond (Maokeng village): rate of rise down to 0.07 m/h, "
        "below the orange line. Responsible persons"
    )
    zh, en = _render(
        measure=FREEBOARD, severity=ORANGE, previous=RED, transition=DOWNGRADED, value=0.51
    )
    assert "水位距坝顶已增大到0.51米，高于红色预警线，预警降为橙色。" in zh
    assert "freeboard up to 0.51 m, above the red line." in en
    assert "解除" not in zh and "lifted" not in en


def test_a_lowered_time_to_crest_says_it_is_now_further_off_or_no_longer_rising() -> None:
    zh, _ = _render(
        measure=CREST, severity=YELLOW, previous=ORANGE, transition=DOWNGRADED, value=183.0
    )
    assert "预计183分钟后水位到达坝顶，已长于橙色预警线，预警降为黄色" in zh
    zh, en = _render(
        measure=CREST, severity=YELLOW, previous=ORANGE, transition=DOWNGRADED, value=None
    )
    assert "水位已不再上涨，到达坝顶时间已长于橙色预警线" in zh
    assert "the level is no longer rising, the time to crest is beyond the orange line" in en


def test_the_eased_clause_has_no_headline_no_advice_and_no_all_clear() -> None:
    lifted = _render(measure=RISE, severity=YELLOW, transition=RESOLVED, value=0.07, eased=True)
    assert lifted == (
        "毛坑村毛坑山塘水位上涨速率已回落到0.07米/小时，低于黄色预警线",
        "Maokeng pond (Maokeng village): rate of rise down to 0.07 m/h, below the yellow line",
    )
    lowered = _render(
        severity=YELLOW, previous=ORANGE, transition=DOWNGRADED, value=None, eased=True
    )
    assert lowered[0] == "毛坑村毛坑山塘水位已低于橙色预警线，此项降为黄色"
    assert lowered[1].endswith("water level now below the orange line, this one lowered to YELLOW")
    said = while_incident(lifted, ("毛坑山塘", "Maokeng pond"), RED, lowered=False, exercise=True)
    assert said == (
        "【演练】【单项回落】毛坑村毛坑山塘水位上涨速率已回落到0.07米/小时，低于黄色预警线。"
        "毛坑山塘红色预警仍在持续，险情未除。",
        "[EXERCISE] [Condition eased] Maokeng pond (Maokeng village): rate of rise down to "
        "0.07 m/h, below the yellow line. Maokeng pond stays at RED warning; the danger is "
        "not over.",
    )
    down = while_incident(
        lifted, ("毛坑山塘", "Maokeng pond"), ORANGE, lowered=True, exercise=False
    )
    assert down[0].endswith("毛坑山塘预警降为橙色，险情未除。")
    assert down[1].endswith("Maokeng pond is lowered to ORANGE warning; the danger is not over.")
    assert not any("解除" in t or "lifted" in t for t in (*said, *down))


def test_a_sensor_notice_names_the_gauge_and_asks_for_maintenance_until_it_is_ok() -> None:
    zh, en = _render(
        severity=Severity.INFO, value=None, threshold=None, what_zh="已失联", what_en="is silent"
    )
    assert zh == "【设备告警】毛坑村毛坑山塘水位计已失联。请安排维护。"
    assert en == (
        "[Sensor notice] Maokeng pond (Maokeng village): level gauge is silent. "
        "Please send maintenance."
    )
    ok = _render(
        severity=Severity.INFO, transition=RESOLVED, what_zh="已恢复上报", what_en="reports"
    )
    assert ok[0] == "【设备告警解除】毛坑村毛坑山塘水位计已恢复上报。"


def test_a_condition_of_a_compound_rule_says_its_side_of_the_bound() -> None:
    rain = ConditionText("毛坑雨量站", "Maokeng rain gauge", MEASURES["rain"], True, 50.0)
    assert rain.say(62.0)[0] == "毛坑雨量站雨量62.0毫米，超过50.0毫米"
    assert rain.say(50.0)[1] == "Maokeng rain gauge rainfall 50.0 mm, at 50.0 mm"
    assert rain.say(12.0)[0] == "毛坑雨量站雨量12.0毫米，低于50.0毫米"
    assert rain.say(None) == ("毛坑雨量站雨量暂无数据", "Maokeng rain gauge rainfall: no data")
    flow = ConditionText("涵管", "culvert", MEASURES["flow"], False, 0.3, ("出流", "outflow"))
    assert flow.say(0.1)[0] == "涵管出流0.100立方米每秒，低于0.300立方米每秒"
    assert flow.say(0.3)[1] == "culvert outflow 0.300 m³/s, not below 0.300 m³/s"


def test_a_compound_rule_says_every_condition_and_its_all_clear_gives_no_advice() -> None:
    said = [
        ("雨量62.0毫米，超过50.0毫米", "rainfall 62.0 mm, above 50.0 mm"),
        ("出流0.100立方米每秒，低于0.300立方米每秒", "outflow 0.100 m³/s, below 0.300 m³/s"),
    ]
    kw = {"place": POND, "name": ("涵管堵塞", "blocked culvert"), "said": said, "exercise": False}
    zh, en = render_compound(severity=ORANGE, transition=FIRING, **kw)  # type: ignore[arg-type]
    assert zh == (
        "【橙色预警】毛坑村毛坑山塘涵管堵塞：雨量62.0毫米，超过50.0毫米；出流0.100立方米每秒，"
        "低于0.300立方米每秒。请做好下游群众转移准备，加密巡查。"
    )
    assert en.startswith(
        "[ORANGE warning] Maokeng pond (Maokeng village): Blocked culvert. Rainfall 62.0 mm, "
        "above 50.0 mm; outflow 0.100 m³/s, below 0.300 m³/s. Prepare"
    )
    zh, en = render_compound(severity=ORANGE, transition=RESOLVED, **kw)  # type: ignore[arg-type]
    assert zh.startswith("【预警解除】毛坑村毛坑山塘涵管堵塞的判据已不再成立：") and zh.endswith(
        "。"
    )
    assert "请" not in zh
    eased = render_compound(severity=ORANGE, transition=RESOLVED, eased=True, **kw)  # type: ignore[arg-type]
    assert not eased[0].startswith("【") and "解除" not in eased[0]


@pytest.mark.parametrize("level", [312.0, 312.004])
def test_a_reading_at_the_crest_is_said_as_reaching_it_not_over_it_by_nothing(
    level: float,
) -> None:
    # it said "已漫坝，正在漫顶：水位312.00米，高出坝顶0.00米"
    zh, en = overtopping(POND, level, 312.0, transition=FIRING, exercise=False)
    assert zh == (
        "【红色预警·漫坝】毛坑村毛坑山塘水位312.00米，已到达坝顶。"
        "请立即组织下游群众转移，人员撤离坝体。"
    )
    assert en.startswith(
        "[RED warning: OVERTOPPING] Maokeng pond (Maokeng village): level 312.00 m, "
        "at the dam crest. "
    )
    assert "0.00" not in zh.replace("312.00", "") and "0.00 m" not in en


def test_overtopping_is_red_and_plain_and_says_when_it_stopped() -> None:
    zh, en = overtopping(POND, 312.1, 312.0, transition=FIRING, exercise=False)
    assert zh == (
        "【红色预警·漫坝】毛坑村毛坑山塘正在漫坝：水位312.10米，超过坝顶0.10米。"
        "请立即组织下游群众转移，人员撤离坝体。"
    )
    assert "0.10 m above the dam crest." in en
    assert en.startswith("[RED warning: OVERTOPPING] Maokeng pond (Maokeng village) is ")
    zh, _ = overtopping(POND, 311.9, 312.0, transition=DOWNGRADED, severity=ORANGE, exercise=False)
    assert zh.startswith("【预警降为橙色】毛坑村毛坑山塘水位311.90米，已回落到坝顶312.00米以下，")
    assert "漫顶停止，预警降为橙色。请做好" in zh
    zh, en = overtopping(POND, 311.9, 312.0, transition=RESOLVED, exercise=True)
    assert (
        zh == "【演练】【预警解除】毛坑村毛坑山塘水位311.90米，已回落到坝顶312.00米以下，漫顶停止。"
    )
    assert en.endswith("Overtopping has stopped.") and en.startswith("[EXERCISE] [Warning lifted]")
    eased = overtopping(
        POND, 311.9, 312.0, transition=DOWNGRADED, severity=ORANGE, exercise=False, eased=True
    )
    assert (
        eased[0] == "毛坑村毛坑山塘水位311.90米，已回落到坝顶312.00米以下，漫顶停止，此项降为橙色"
    )
