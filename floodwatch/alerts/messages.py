"""Ready-to-send texts of alert events, in Chinese and English.

Each text names the station (and its village), what was measured with its
unit, how it compares with the line it crossed, and what to do. Texts are read
aloud by village broadcast systems and read on phones, so they hold to a few
rules (checked over every text a config can produce by `floodwatch messages`
and its test):

- every value carries its unit, in the language of the text (米, 米/小时,
  毫米, 立方米每秒, 分钟, 小时; m, m/h, mm, m³/s, min, h);
- no station id, rule id or metric path: stations and rules are named by
  their configured `name` (`name_en` in English);
- the comparison words follow the hazard's direction: a level or a rate is
  worse as it grows ("达到…预警线", lowered when "已低于…解除线"); freeboard and
  minutes to the crest are worse as they fall ("低于…预警线" / "短于…", lowered
  when "已高于…" / "已长于…");
- each piece of advice is said once; English texts use ASCII punctuation only.

Drills are prefixed 【演练】 / [EXERCISE] everywhere. A rule's all-clear says
that this warning is lifted, never that all is back to normal: that belongs to
the incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
        "Prepare to evacuate people downstream and patrol more often.",
    ),
    Severity.RED: (
        "请立即组织下游群众转移，人员撤离坝体。",
        "Evacuate people downstream now. Everyone off the dam.",
    ),
    Severity.INFO: ("请安排维护。", "Please send maintenance."),
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
# The stage names the phase of the evacuation plan; the advice says what to do.
STAGE_TEXT = {
    EvacuationStage.PREPARE: ("进入准备转移阶段", "evacuation stage: PREPARE"),
    EvacuationStage.EVACUATE: ("进入立即转移阶段", "evacuation stage: EVACUATE NOW"),
}
EXERCISE_ZH = "【演练】"
EXERCISE_EN = "[EXERCISE] "

Style = Literal["rising", "falling", "time"]
# (firing / escalated, downgraded, resolved) comparison words per style.
_WORDS: dict[Style, tuple[tuple[str, str], tuple[str, str], tuple[str, str]]] = {
    "rising": (("达到", "at or above"), ("已低于", "now below"), ("已低于", "now below")),
    "falling": (("低于", "at or below"), ("已高于", "now above"), ("已高于", "now above")),
    "time": (("短于", "within"), ("已长于", "now beyond"), ("已长于", "now beyond")),
}


@dataclass(frozen=True)
class Place:
    """How a station is named in texts."""

    name: str
    name_en: str
    village: str | None = None
    village_en: str | None = None

    @property
    def zh(self) -> str:
        if self.village and not self.name.startswith(self.village):
            return f"{self.village}{self.name}"
        return self.name

    @property
    def en(self) -> str:
        return f"{self.name_en} ({self.village_en})" if self.village_en else self.name_en


@dataclass(frozen=True)
class Measure:
    """What a rule measures, as words and a unit, with how to print a value.

    `style` says which way is worse (see the module docstring); `gauge_*`
    names the instrument in sensor notices."""

    zh: str
    en: str
    unit_zh: str
    unit_en: str
    digits: int = 2
    style: Style = "rising"
    gauge_zh: str = ""
    gauge_en: str = ""

    def fmt_zh(self, value: float | None) -> str:
        return "—" if value is None else f"{_num(value, self.digits)}{self.unit_zh}"

    def fmt_en(self, value: float | None) -> str:
        return "—" if value is None else f"{_num(value, self.digits)} {self.unit_en}"

    def now_zh(self, value: float | None) -> str:
        """The measure and its value as said in a sentence."""
        if self.style == "time":
            if value is None:
                return "水位已不再上涨"
            if value <= 0:
                return "水位已到达坝顶"
            return f"预计{self.fmt_zh(value)}后水位到达坝顶"
        return f"{self.zh}{self.fmt_zh(value)}" if value is not None else f"{self.zh}暂无数据"

    def now_en(self, value: float | None) -> str:
        if self.style == "time":
            if value is None:
                return "the level is no longer rising"
            if value <= 0:
                return "the level is at the crest"
            return f"the level is projected to reach the crest in {self.fmt_en(value)}"
        return f"{self.en} {self.fmt_en(value)}" if value is not None else f"{self.en}: no data"


MEASURES: dict[str, Measure] = {
    "level": Measure("水位", "water level", "米", "m", gauge_zh="水位计", gauge_en="level gauge"),
    "rain": Measure("雨量", "rainfall", "毫米", "mm", 1, gauge_zh="雨量计", gauge_en="rain gauge"),
    "flow": Measure(
        "流量", "flow", "立方米每秒", "m³/s", 3, gauge_zh="流量计", gauge_en="flow meter"
    ),
    "freeboard": Measure("水位距坝顶", "freeboard", "米", "m", style="falling"),
    "rate_of_rise": Measure("水位上涨速率", "rate of rise", "米/小时", "m/h"),
    "time_to_crest": Measure("预计到达坝顶时间", "time to crest", "分钟", "min", 0, style="time"),
}


UNIT_ZH = {m.unit_en: m.unit_zh for m in MEASURES.values()}  # an event's unit, in Chinese


def _num(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def duration_zh(ms: int) -> str:
    """A window length as said in Chinese: 30分钟, 1小时, 24小时, 1小时30分钟."""
    minutes = ms // 60_000
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours}小时{rest}分钟"
    return f"{hours}小时" if hours else f"{rest}分钟"


def duration_en(ms: int) -> str:
    """A window length as an English adjective: 30-minute, 1-hour, 24-hour."""
    minutes = ms // 60_000
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours}-hour" if hours else f"{rest}-minute"


def rain_label(window_ms: int) -> tuple[str, str]:
    """A rainfall measure over a window: 3小时累计雨量 / 3-hour rainfall."""
    return f"{duration_zh(window_ms)}累计雨量", f"{duration_en(window_ms)} rainfall"


def crest_reason(rate_m_per_h: float) -> tuple[str, str]:
    """Why a time to crest is what it is: the current rate of rise."""
    return (
        f"按当前涨速{rate_m_per_h:.2f}米/小时推算",
        f"at the current rise of {rate_m_per_h:.2f} m/h",
    )


def balance_reason(inflow: float, outflow: float) -> tuple[str, str]:
    """Why a water-balance time to crest is what it is: inflow against outflow."""
    return (  # no parentheses: loudspeakers read these texts aloud
        f"来水{inflow:.2f}立方米每秒，出流{outflow:.2f}立方米每秒，按水量平衡推算",
        f"with {inflow:.2f} m³/s flowing in and {outflow:.2f} m³/s flowing out",
    )


def headline(severity: Severity, transition: Transition, exercise: bool) -> tuple[str, str]:
    colour = COLOUR_ZH[severity]
    if severity is Severity.INFO:
        zh = "【设备告警解除】" if transition is Transition.RESOLVED else "【设备告警】"
        en = "[Sensor OK] " if transition is Transition.RESOLVED else "[Sensor notice] "
    elif transition is Transition.RESOLVED:
        zh, en = "【预警解除】", "[Warning lifted] "
    elif transition is Transition.DOWNGRADED:
        zh, en = f"【预警降为{colour}】", f"[Lowered to {severity.value.upper()}] "
    elif transition is Transition.ESCALATED:
        zh, en = f"【升级为{colour}预警】", f"[Raised to {severity.value.upper()} warning] "
    else:
        zh, en = f"【{colour}预警】", f"[{severity.value.upper()} warning] "
    if exercise:
        zh, en = EXERCISE_ZH + zh, EXERCISE_EN + en
    return zh, en


def render(  # noqa: PLR0913 — keyword-only parts of one text, most optional
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

    `what_*` is a rule-specific clause said after the comparison (e.g. the
    current rate of rise); `label` replaces the measure's name (e.g. "3小时累计
    雨量"). Sensor notices (`info`) say the gauge and `what_*` only.
    """
    head_zh, head_en = headline(severity, transition, exercise)
    if severity is Severity.INFO:
        gauge_zh = measure.gauge_zh or measure.zh
        gauge_en = measure.gauge_en or measure.en
        zh = f"{head_zh}{place.zh}{gauge_zh}{what_zh}。"
        en = f"{head_en}{place.en}: {gauge_en} {what_en}."
        if transition is not Transition.RESOLVED:
            zh += ADVICE[Severity.INFO][0]
            en += f" {ADVICE[Severity.INFO][1]}"
        return zh, en
    if label is not None:
        now_zh = f"{label[0]}{measure.fmt_zh(value)}"
        now_en = f"{label[1]} {measure.fmt_en(value)}"
    else:
        now_zh, now_en = measure.now_zh(value), measure.now_en(value)
    if measure.style == "time" and what_zh:  # the reasoning first: "at this rate, …"
        now_zh, now_en = f"{what_zh}，{now_zh}", f"{what_en}, {now_en}"
        what_zh = what_en = ""
    raise_w, lower_w, clear_w = _WORDS[measure.style]
    line_zh, line_en = measure.fmt_zh(threshold), measure.fmt_en(threshold)
    zh = f"{head_zh}{place.zh}{now_zh}"
    en = f"{head_en}{place.en}: {now_en}"
    colour = COLOUR_ZH[severity]
    if transition is Transition.RESOLVED:
        if threshold is not None and value is not None:
            zh += f"，{clear_w[0]}解除线{line_zh}"
            en += f", {clear_w[1]} the reset line of {line_en}"
        return zh + "。", en + "."
    if transition is Transition.DOWNGRADED and previous is not None:
        zh += f"，{lower_w[0]}{COLOUR_ZH[previous]}解除线{line_zh}，预警降为{colour}"
        en += f", {lower_w[1]} the {previous.value} reset line of {line_en}"
    else:
        zh += f"，{raise_w[0]}{colour}预警线{line_zh}"
        en += f", {raise_w[1]} the {severity.value} line of {line_en}"
    if what_zh:
        zh += f"，{what_zh}"
        en += f", {what_en}"
    if stage is not None:
        zh += f"，{STAGE_TEXT[stage][0]}"
        en += f". {_capital(STAGE_TEXT[stage][1])}"
    todo_zh, todo_en = advice or ADVICE[severity]
    return f"{zh}。{todo_zh}", f"{en}. {todo_en}"


@dataclass(frozen=True)
class ConditionText:
    """How one condition of a compound rule is said: the station and measure
    it reads, the bound, and which side of it raises."""

    station_zh: str
    station_en: str
    measure: Measure
    above: bool
    bound: float
    label: tuple[str, str] | None = None

    def say(self, value: float | None) -> tuple[str, str]:
        name_zh, name_en = self.label or (self.measure.zh, self.measure.en)
        if value is None:
            return f"{self.station_zh}{name_zh}暂无数据", f"{self.station_en} {name_en}: no data"
        m = self.measure
        if value < self.bound:
            word_zh, word_en = "低于", "below"
        elif self.above:
            word_zh, word_en = ("超过", "above") if value > self.bound else ("达到", "at")
        else:
            word_zh, word_en = "不低于", "not below"
        return (
            f"{self.station_zh}{name_zh}{m.fmt_zh(value)}，{word_zh}{m.fmt_zh(self.bound)}",
            f"{self.station_en} {name_en} {m.fmt_en(value)}, {word_en} {m.fmt_en(self.bound)}",
        )


def render_compound(
    *,
    place: Place,
    name: tuple[str, str],
    severity: Severity,
    transition: Transition,
    said: list[tuple[str, str]],
    exercise: bool,
    advice: tuple[str, str] | None = None,
) -> tuple[str, str]:
    """The text of a compound rule's event: its name, then what each condition
    reads now (`ConditionText.say`), then the advice (none on the all-clear)."""
    head_zh, head_en = headline(severity, transition, exercise)
    facts_zh = "；".join(zh for zh, _ in said)
    facts_en = "; ".join(en for _, en in said)
    if transition is Transition.RESOLVED:
        zh = f"{head_zh}{place.zh}{name[0]}的判据已不再成立：{facts_zh}。"
        en = f"{head_en}{place.en}: {name[1]}, the conditions no longer hold. {_capital(facts_en)}."
        return zh, en
    zh = f"{head_zh}{place.zh}{name[0]}：{facts_zh}。"
    en = f"{head_en}{place.en}: {_capital(name[1])}. {_capital(facts_en)}."
    todo_zh, todo_en = advice or ADVICE[severity]
    return zh + todo_zh, f"{en} {todo_en}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def overtopping(
    place: Place,
    level: float,
    crest: float,
    *,
    transition: Transition,
    exercise: bool,
    advice: tuple[str, str] | None = None,
    severity: Severity = Severity.RED,
) -> tuple[str, str]:
    """The dam is overtopping now (time to crest at its crest): red, said plainly;
    lowered to `severity` or lifted once the level is back below the crest."""
    if transition is Transition.DOWNGRADED:
        head_zh, head_en = headline(severity, transition, exercise)
        todo_zh, todo_en = advice or ADVICE[severity]
        return (
            f"{head_zh}{place.zh}水位{level:.2f}米，已回落到坝顶{crest:.2f}米以下，漫顶停止，"
            f"预警降为{COLOUR_ZH[severity]}。{todo_zh}",
            f"{head_en}{place.en}: level {level:.2f} m, back below the crest at {crest:.2f} m. "
            f"Overtopping has stopped. {todo_en}",
        )
    if transition is Transition.RESOLVED:
        head_zh, head_en = headline(Severity.RED, transition, exercise)
        return (
            f"{head_zh}{place.zh}水位{level:.2f}米，已回落到坝顶{crest:.2f}米以下，漫顶停止。",
            f"{head_en}{place.en}: level {level:.2f} m, back below the crest at {crest:.2f} m. "
            "Overtopping has stopped.",
        )
    head_zh, head_en = "【红色预警·漫坝】", "[RED warning: OVERTOPPING] "
    if exercise:
        head_zh, head_en = EXERCISE_ZH + head_zh, EXERCISE_EN + head_en
    todo_zh, todo_en = advice or ADVICE[Severity.RED]
    above = max(0.0, level - crest)
    return (
        f"{head_zh}{place.zh}已漫坝，正在漫顶：水位{level:.2f}米，高出坝顶{above:.2f}米。{todo_zh}",
        f"{head_en}{place.en} is overtopping now: level {level:.2f} m, "
        f"{above:.2f} m above the dam crest. {todo_en}",
    )
