"""`alerts.sensor_text`: what a sensor notice says after the gauge's name
("毛坑山塘水位计" + clause). Maintenance crews read these on a phone: the
Chinese must read as one sentence, with the value, its unit and what is wrong,
and a long time said in hours and minutes."""

from __future__ import annotations

import pytest

from floodwatch.alerts import sensor_text
from floodwatch.alerts.messages import MEASURES, Place, render
from floodwatch.alerts.state import Severity, Transition
from floodwatch.rules.kinds.health import CHECKS

LEVEL, RAIN, FLOW = MEASURES["level"], MEASURES["rain"], MEASURES["flow"]


def test_stale_says_how_long_in_hours_and_minutes() -> None:
    assert sensor_text.stale(15) == (
        "已15分钟无数据上报，失联期间现有预警保持不变",
        "has sent no report for 15 min. Warnings in force stay in force meanwhile",
    )
    assert sensor_text.stale(90)[0] == "已1小时30分钟无数据上报，失联期间现有预警保持不变"
    assert sensor_text.stale(90)[1].startswith("has sent no report for 1 h 30 min.")
    assert sensor_text.stale(120)[0].startswith("已2小时无数据")  # not "2小时0分钟"
    assert "for 2 h." in sensor_text.stale(120)[1]  # not "2 h 0 min"
    assert "for 0 min." in sensor_text.stale(0)[1]  # under a minute: never an empty time


def test_stuck_gives_the_value_with_its_unit_and_the_time() -> None:
    zh, en = sensor_text.stuck(LEVEL, 310.5, 360)
    assert zh == "读数310.50米已6小时未变化，暂不参与预警判断"
    assert en == (
        "has been stuck at 310.50 m for 6 h. Its readings are not used for warnings meanwhile"
    )
    assert sensor_text.stuck(RAIN, 0.0, 61)[0] == "读数0.0毫米已1小时1分钟未变化，暂不参与预警判断"


def test_out_of_range_names_the_limit_it_broke() -> None:
    assert sensor_text.out_of_range(LEVEL, 320.0, 300.0, 315.0) == (
        "读数320.00米，超出量程300～315米，该读数不参与预警判断",
        "reads 320.00 m, outside its range 300 to 315 m. The reading is not used for warnings",
    )
    high = sensor_text.out_of_range(LEVEL, 320.0, None, 315.5)
    assert high[0] == "读数320.00米，高于量程上限315.5米，该读数不参与预警判断"
    assert "above its range limit of 315.5 m." in high[1]
    low = sensor_text.out_of_range(RAIN, -1.0, 0.0, None)
    assert low[0] == "读数-1.0毫米，低于量程下限0毫米，该读数不参与预警判断"
    assert "below its range limit of 0 mm." in low[1]


def test_out_of_range_of_a_gauge_without_limits_still_reads() -> None:
    # `floodwatch messages` words every check of a sensor rule's first station,
    # also for a gauge that declares no limits (it used to raise TypeError there)
    zh, en = sensor_text.out_of_range(FLOW, 12.0, None, None)
    assert zh == "读数12.000立方米每秒，超出量程，该读数不参与预警判断"
    assert en == "reads 12.000 m³/s, outside its range. The reading is not used for warnings"


def test_spike_says_up_or_down_with_a_positive_amount() -> None:
    up = sensor_text.spike(LEVEL, 4.4, 310.5)
    assert up == (
        "读数突然上跳4.40米，上次可信读数为310.50米，该读数不参与预警判断",
        "jumped up by 4.40 m from the last good reading of 310.50 m. "
        "The reading is not used for warnings",
    )
    down = sensor_text.spike(LEVEL, -0.5, 310.5)
    assert down[0].startswith("读数突然下跌0.50米，")  # never "下跌-0.50米"
    assert down[1].startswith("dropped by 0.50 m ")


def test_rtu_status_texts_say_whether_the_reading_is_used() -> None:
    fault = sensor_text.gauge_fault()
    # it said "该读数不参与预警判断": the fault stands for every reading, for a while
    assert fault[0] == "经遥测终端自检报告故障，其读数暂不参与预警判断"
    over = sensor_text.over_limit(LEVEL, 311.5)
    assert over[0] == "读数311.50米，遥测终端报告超过其设定的报警限值，该读数照常参与预警判断"
    assert over[1].endswith("The reading is used for warnings as usual")


def test_every_check_of_the_engine_has_an_all_clear() -> None:
    assert set(sensor_text.BACK) == set(CHECKS)
    for zh, en in sensor_text.BACK.values():
        assert zh and en and not zh.endswith("。") and not en.endswith(".")


@pytest.mark.parametrize(
    "what",
    [
        sensor_text.stale(75),
        sensor_text.stuck(LEVEL, 310.5, 60),
        sensor_text.out_of_range(LEVEL, 320.0, 300.0, 315.0),
        sensor_text.spike(LEVEL, -4.4, 310.5),
        sensor_text.gauge_fault(),
        sensor_text.over_limit(LEVEL, 311.5),
        *sensor_text.BACK.values(),
    ],
)
def test_each_clause_makes_one_sentence_after_the_gauge(what: tuple[str, str]) -> None:
    zh, en = render(
        place=Place("毛坑山塘", "Maokeng pond"),
        measure=LEVEL,
        severity=Severity.INFO,
        transition=Transition.FIRING,
        value=None,
        threshold=None,
        exercise=False,
        what_zh=what[0],
        what_en=what[1],
    )
    sentence = zh.split("】", 1)[1]
    assert sentence.startswith("毛坑山塘水位计")
    body = sentence.split("。")[0]  # the notice itself, before the standard advice
    assert "。" not in what[0] and ".." not in en and " ." not in en
    assert "，，" not in body and not body.endswith("，")
    assert all(not ("a" <= c <= "z") for c in what[0])  # no English left in the Chinese
