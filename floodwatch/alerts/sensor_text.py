"""What a sensor notice says about its gauge (zh, en), for `messages.render`:
the clause after the gauge's name ("毛坑山塘水位计" + clause). Units follow the
measure; a long time is said in hours and minutes.
"""

from __future__ import annotations

from floodwatch.alerts.messages import Measure, duration_zh

BACK = {  # what the all-clear of each check says
    "stale": ("已恢复上报", "reports again"),
    "stuck": ("读数已恢复变化", "readings change again"),
    "out_of_range": ("读数已回到量程以内", "reads within its range again"),
    "spike": ("读数已恢复平稳", "reads steadily again"),
    "gauge_fault": (
        "经遥测终端自检已无故障",
        "is no longer reported faulty by its telemetry terminal",
    ),
    "over_limit": (
        "读数已回到遥测终端设定的报警限值以内",
        "reads within the alarm limit set in its telemetry terminal again",
    ),
}
NOT_USED_ZH = "该读数不参与预警判断"
NOT_USED_EN = "The reading is not used for warnings"


def _minutes_en(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def stale(minutes: int) -> tuple[str, str]:
    return (
        f"已{duration_zh(minutes * 60_000)}无数据上报，失联期间现有预警保持不变",
        f"has sent no report for {_minutes_en(minutes)}. Warnings in force stay in force meanwhile",
    )


def stuck(m: Measure, value: float, minutes: int) -> tuple[str, str]:
    return (
        f"读数{m.fmt_zh(value)}已{duration_zh(minutes * 60_000)}未变化，暂不参与预警判断",
        f"has been stuck at {m.fmt_en(value)} for {_minutes_en(minutes)}. "
        "Its readings are not used for warnings meanwhile",
    )


def out_of_range(
    m: Measure, value: float, low: float | None, high: float | None
) -> tuple[str, str]:
    if low is not None and high is not None:
        zh, en = f"超出量程{low:g}～{high:g}{m.unit_zh}", f"outside its range {low:g} to {high:g}"
        en += f" {m.unit_en}"
    elif low is None and high is None:  # no limits declared (the engine checks none then)
        zh, en = "超出量程", "outside its range"
    elif high is not None:
        zh, en = (
            f"高于量程上限{high:g}{m.unit_zh}",
            f"above its range limit of {high:g} {m.unit_en}",
        )
    else:
        zh, en = f"低于量程下限{low:g}{m.unit_zh}", f"below its range limit of {low:g} {m.unit_en}"
    return (
        f"读数{m.fmt_zh(value)}，{zh}，{NOT_USED_ZH}",
        f"reads {m.fmt_en(value)}, {en}. {NOT_USED_EN}",
    )


def spike(m: Measure, step: float, last: float) -> tuple[str, str]:
    change_zh = f"上跳{m.fmt_zh(step)}" if step > 0 else f"下跌{m.fmt_zh(-step)}"
    change_en = f"jumped up by {m.fmt_en(step)}" if step > 0 else f"dropped by {m.fmt_en(-step)}"
    return (
        f"读数突然{change_zh}，上次可信读数为{m.fmt_zh(last)}，{NOT_USED_ZH}",
        f"{change_en} from the last good reading of {m.fmt_en(last)}. {NOT_USED_EN}",
    )


def gauge_fault() -> tuple[str, str]:
    """The RTU's status word says the gauge is faulty (SL 651 `45`, bits 5/6)."""
    return (
        "经遥测终端自检报告故障，其读数暂不参与预警判断",  # its readings, while it is faulty
        f"is reported faulty by its telemetry terminal. {NOT_USED_EN}",
    )


def over_limit(m: Measure, value: float) -> tuple[str, str]:
    """The RTU's status word says the reading is over the alarm limit set in the
    RTU (SL 651 `45`, bits 2/3): the reading itself is used as usual."""
    return (
        f"读数{m.fmt_zh(value)}，遥测终端报告超过其设定的报警限值，该读数照常参与预警判断",
        f"reads {m.fmt_en(value)}, over the alarm limit set in its telemetry terminal. "
        "The reading is used for warnings as usual",
    )
