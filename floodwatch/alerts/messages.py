"""Ready-to-send texts of alert events, in Chinese and English.

Each text names the station (and its village), what was measured, what it
means, and what to do. Drills are prefixed 【演练】 / [EXERCISE] everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from floodwatch.alerts.state import EvacuationStage, Severity, Transition

COLOUR_ZH = {
    Severity.BLUE: "蓝色",
    Severity.YELLOW: "黄色",
    Severity.ORANGE: "橙色",
    Severity.RED: "红色",
    Severity.INFO: "设备",
}
ADVICE: dict[Severity, tuple[str, str]] = {
    Severity.BLUE: (
        "请加强巡查，密切关注水位变化。",
        "Step up patrols and watch the level closely.",
    ),
    Severity.YELLOW: (
        "请责任人到岗到位，检查溢洪道和放水涵管是否通畅。",
        "Responsible persons to the site: check that the spillway and outlet culvert are clear.",
    ),
    Severity.ORANGE: (
        "请做好下游群众转移准备，加密巡查。",
        "Prepare to evacuate people downstream; patrol more often.",
    ),
    Severity.RED: (
        "请立即组织下游群众转移，人员撤离坝体。",
        "Evacuate people downstream now; everyone off the dam.",
    ),
    Severity.INFO: (
        "请安排维护；该数据暂不用于预警判断。",
        "Please send maintenance; this data is not used for warnings meanwhile.",
    ),
}
RAIN_ADVICE: dict[Severity, tuple[str, str]] = {
    Severity.BLUE: ("请关注雨情，做好防御准备。", "Watch the rain and get ready."),
    Severity.YELLOW: (
        "请加强山塘、地质灾害隐患点巡查。",
        "Patrol ponds and landslide-prone slopes more often.",
    ),
    Severity.ORANGE: ("请做好危险区人员转移准备。", "Prepare to move people out of danger zones."),
    Severity.RED: ("请立即组织危险区人员转移。", "Move people out of danger zones now."),
}
STAGE_TEXT = {
    EvacuationStage.PREPARE: ("准备转移：请做好转移准备。", "PREPARE to evacuate."),
    EvacuationStage.EVACUATE: ("立即转移：请立即转移到安全地点。", "EVACUATE NOW to safe ground."),
}
EXERCISE_ZH = "【演练】"
EXERCISE_EN = "[EXERCISE] "


@dataclass(frozen=True)
class Place:
    """How a station is named in texts."""

    name: str
    name_en: str
    village: str | None = None
    village_en: str | None = None

    @property
    def zh(self) -> str:
        return f"{self.village}{self.name}" if self.village else self.name

    @property
    def en(self) -> str:
        return f"{self.name_en} ({self.village_en})" if self.village_en else self.name_en


@dataclass(frozen=True)
class Measure:
    """What a rule measures, as words and a unit, with how to print a value."""

    zh: str
    en: str
    unit_zh: str
    unit_en: str
    digits: int = 2

    def fmt_zh(self, value: float | None) -> str:
        return "—" if value is None else f"{value:.{self.digits}f}{self.unit_zh}"

    def fmt_en(self, value: float | None) -> str:
        return "—" if value is None else f"{value:.{self.digits}f} {self.unit_en}"


def headline(severity: Severity, transition: Transition, exercise: bool) -> tuple[str, str]:
    colour = COLOUR_ZH[severity]
    if severity is Severity.INFO:
        zh = "【设备告警解除】" if transition is Transition.RESOLVED else "【设备告警】"
        en = "[Sensor OK] " if transition is Transition.RESOLVED else "[Sensor notice] "
    elif transition is Transition.RESOLVED:
        zh, en = "【预警解除】", "[All clear] "
    elif transition is Transition.DOWNGRADED:
        zh, en = f"【预警降为{colour}】", f"[Lowered to {severity.value.upper()}] "
    elif transition is Transition.ESCALATED:
        zh, en = f"【升级为{colour}预警】", f"[Raised to {severity.value.upper()} warning] "
    else:
        zh, en = f"【{colour}预警】", f"[{severity.value.upper()} warning] "
    if exercise:
        zh, en = EXERCISE_ZH + zh, EXERCISE_EN + en
    return zh, en


def render(
    *,
    place: Place,
    measure: Measure,
    severity: Severity,
    transition: Transition,
    value: float | None,
    threshold: float | None,
    exercise: bool,
    what_zh: str = "",
    what_en: str = "",
    advice: tuple[str, str] | None = None,
    stage: EvacuationStage | None = None,
    previous: Severity | None = None,
    label: tuple[str, str] | None = None,
) -> tuple[str, str]:
    """The zh and en text of one event.

    `what_*` is a rule-specific clause (e.g. the projection to the crest).
    """
    head_zh, head_en = headline(severity, transition, exercise)
    name_zh, name_en = label or (measure.zh, measure.en)
    now_zh = f"{place.zh}{name_zh}{measure.fmt_zh(value)}"
    now_en = f"{place.en}: {name_en} {measure.fmt_en(value)}"
    if transition is Transition.RESOLVED:
        zh = f"{head_zh}{now_zh}，已恢复正常（解除线{measure.fmt_zh(threshold)}）。"
        en = f"{head_en}{now_en}, back to normal (reset line {measure.fmt_en(threshold)})."
        return zh, en
    if severity is Severity.INFO:
        zh = f"{head_zh}{place.zh}{what_zh}。{ADVICE[Severity.INFO][0]}"
        en = f"{head_en}{place.en}: {what_en}. {ADVICE[Severity.INFO][1]}"
        return zh, en
    colour = COLOUR_ZH[severity]
    if transition is Transition.DOWNGRADED and previous is not None:
        zh = (
            f"{head_zh}{now_zh}，已回到{COLOUR_ZH[previous]}解除线"
            f"{measure.fmt_zh(threshold)}以内，预警降为{colour}"
        )
        en = (
            f"{head_en}{now_en}, back past the {previous.value} reset line "
            f"{measure.fmt_en(threshold)}"
        )
    else:
        zh = f"{head_zh}{now_zh}，达到{colour}预警线{measure.fmt_zh(threshold)}"
        en = f"{head_en}{now_en}, {severity.value} line {measure.fmt_en(threshold)}"
    if what_zh:
        zh += f"，{what_zh}"
        en += f"; {what_en}"
    todo_zh, todo_en = advice or ADVICE[severity]
    zh += f"。{todo_zh}"
    en += f". {todo_en}"
    if stage is not None:
        zh += STAGE_TEXT[stage][0]
        en += f" {STAGE_TEXT[stage][1]}"
    return zh, en
