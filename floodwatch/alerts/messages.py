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
- each piece of advice is said once; English texts use ASCII punctuation only;
- nothing says zero or less to go: under half a minute to the crest is
  "预计1分钟内" (never "预计0分钟后"), and so is a forecast of 0 minutes while
  the reading is still below the crest (the trend is at it; only a reading at
  or over the crest is overtopping, said by `overtopping`); a freeboard under
  0.005 m "距坝顶不足0.01米", and at or past the crest "水位已到达坝顶" /
  "水位已超过坝顶0.05米", said without the freeboard's warning line (never
  "距坝顶-0.05米"); a reading at the crest (less than 0.005 m over) "水位312.00米，
  已到达坝顶", over it "正在漫坝：水位312.12米，超过坝顶0.12米" (never "高出坝顶0.00米").

Drills are prefixed 【演练】 / [EXERCISE] everywhere.

The all-clear belongs to the incident. A rule's alert that is lowered or lifted
while its incident goes on (`rules/incidents/tracker.py` decides, at the end
of each instant) says that this one condition has eased and that the incident
goes on at its colour — "【单项回落】毛坑村毛坑山塘水位上涨速率已回落到0.07米/小时，
低于黄色预警线。毛坑山塘红色预警仍在持续，险情未除。" (`while_incident`) — never
解除, 恢复正常, "lifted" or "all clear". "【预警解除】" is said only by a rule
whose incident ends with it, and by the incident's all-clear. So every lowered
or lifted rule event carries, besides its own texts, the eased clause
(`details["eased"]`, made by the same renderers with `eased=True`), which the
tracker takes off the event and words in.

Why one module over 400 lines: the wording rules above (units, names, the
hazard's direction, the eased clause) are shared by every renderer here — the
headline, a single condition, a compound, the overtopping — and checked together
by `floodwatch messages`; one file keeps the voice of the warnings in one place.
Sensor notices have their own module (`sensor_text.py`).
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
EASED_ZH = "【单项回落】"
EASED_EN = "[Condition eased] "
EASED = "eased"  # the details key of a lowered or lifted event's eased clause (zh, en)

Style = Literal["rising", "falling", "time"]
# (firing / escalated, resolved) comparison words per style.
_WORDS: dict[Style, tuple[tuple[str, str], tuple[str, str]]] = {
    "rising": (("达到", "at or above"), ("已低于", "now below")),
    "falling": (("低于", "at or below"), ("已高于", "now above")),
    "time": (("短于", "within"), ("已长于", "now beyond")),
}
# How a condition that has eased is said, per style: (zh verb, zh side, en verb, en side).
_EASED: dict[Style, tuple[str, str, str, str]] = {
    "rising": ("已回落到", "低于", "down to", "below"),
    "falling": ("已增大到", "高于", "up to", "above"),  # freeboard: more is safer
    "time": ("", "已长于", "", "beyond"),
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
            # under half a minute, or a trend already at the crest while the reading
            # is not (overtopping has its own text): never "预计0分钟后" nor "已到达坝顶"
            if value <= 0 or float(_num(value, self.digits)) == 0:
                return f"预计{_num(1, self.digits)}{self.unit_zh}内水位到达坝顶"
            return f"预计{self.fmt_zh(value)}后水位到达坝顶"
        if self.style == "falling" and value is not None and float(_num(value, self.digits)) <= 0:
            # freeboard at or past the crest: never "距坝顶0.00米" nor "距坝顶-0.05米"
            if value > 0:
                return f"{self.zh}不足{_num(10**-self.digits, self.digits)}{self.unit_zh}"
            if float(_num(-value, self.digits)) == 0:
                return "水位已到达坝顶"
            return f"水位已超过坝顶{self.fmt_zh(-value)}"
        return f"{self.zh}{self.fmt_zh(value)}" if value is not None else f"{self.zh}暂无数据"

    def now_en(self, value: float | None) -> str:
        if self.style == "time":
            if value is None:
                return "the level is no longer rising"
            if value <= 0 or float(_num(value, self.digits)) == 0:
                return f"the level is projected to reach the crest within {self.fmt_en(1)}"
            return f"the level is projected to reach the crest in {self.fmt_en(value)}"
        if self.style == "falling" and value is not None and float(_num(value, self.digits)) <= 0:
            if value > 0:
                return f"{self.en} under {self.fmt_en(10**-self.digits)}"
            if float(_num(-value, self.digits)) == 0:
                return "the level is at the dam crest"
            return f"the level is {self.fmt_en(-value)} above the dam crest"
        return f"{self.en} {self.fmt_en(value)}" if value is not None else f"{self.en}: no data"

    def past_crest(self, value: float | None) -> bool:
        """A freeboard at or past the dam crest (said without its warning line)."""
        return self.style == "falling" and value is not None and value <= 0


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
    eased: bool = False,
) -> tuple[str, str]:
    """The zh and en text of one event.

    `what_*` is a rule-specific clause said after the comparison (e.g. the
    current rate of rise); `label` replaces the measure's name (e.g. "3小时累计
    雨量"). Sensor notices (`info`) say the gauge and `what_*` only.
    `eased` (a lowered or lifted event): the eased clause instead, with no
    headline and no advice (see the module docstring).
    """
    if transition in (Transition.RESOLVED, Transition.DOWNGRADED) and severity is not Severity.INFO:
        was = severity if transition is Transition.RESOLVED else previous
        if was is not None and (eased or transition is Transition.DOWNGRADED):
            body_zh, body_en = _eased_body(measure, value, was, label, (what_zh, what_en))
            if eased:
                return _eased_clause(place, body_zh, body_en, severity, transition)
            head_zh, head_en = headline(severity, transition, exercise)
            zh = f"{head_zh}{place.zh}{body_zh}，预警降为{COLOUR_ZH[severity]}"
            en = f"{head_en}{place.en}: {body_en}"
            if stage is not None:
                zh += f"，{STAGE_TEXT[stage][0]}"
                en += f". {_capital(STAGE_TEXT[stage][1])}"
            todo_zh, todo_en = advice or ADVICE[severity]
            return f"{zh}。{todo_zh}", f"{en}. {todo_en}"
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
    raise_w, clear_w = _WORDS[measure.style]
    line_zh, line_en = measure.fmt_zh(threshold), measure.fmt_en(threshold)
    zh = f"{head_zh}{place.zh}{now_zh}"
    en = f"{head_en}{place.en}: {now_en}"
    colour = COLOUR_ZH[severity]
    if transition is Transition.RESOLVED:  # said only when the incident ends with it
        if threshold is not None and value is not None:
            zh += f"，{clear_w[0]}解除线{line_zh}"
            en += f", {clear_w[1]} the reset line of {line_en}"
        return zh + "。", en + "."
    if not measure.past_crest(value):  # "水位已超过坝顶0.05米" needs no line
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


def _eased_body(
    measure: Measure,
    value: float | None,
    was: Severity,
    label: tuple[str, str] | None,
    what: tuple[str, str],
) -> tuple[str, str]:
    """How a condition that has eased below its `was` line is said, without the
    place: "水位上涨速率已回落到0.07米/小时，低于黄色预警线"; "水位距坝顶已增大到
    0.51米，高于橙色预警线"; "预计183分钟后水位到达坝顶，已长于橙色预警线". It names
    the warning line, not the reset line below it: what a reader needs is
    which side of the line the measure is now."""
    verb_zh, side_zh, verb_en, side_en = _EASED[measure.style]
    colour, line_en = COLOUR_ZH[was], f"the {was.value} line"
    if measure.style == "time":
        now_zh, now_en = measure.now_zh(value), measure.now_en(value)
        if what[0]:
            now_zh, now_en = f"{what[0]}，{now_zh}", f"{what[1]}, {now_en}"
        if value is None:  # no forecast any more: the rise has stopped
            return (
                f"{now_zh}，到达坝顶时间{side_zh}{colour}预警线",
                f"{now_en}, the time to crest is {side_en} {line_en}",
            )
        return f"{now_zh}，{side_zh}{colour}预警线", f"{now_en}, {side_en} {line_en}"
    name_zh, name_en = label or (measure.zh, measure.en)
    if value is None:
        zh, en = f"{name_zh}已{side_zh}{colour}预警线", f"{name_en} now {side_en} {line_en}"
    else:
        zh = f"{name_zh}{verb_zh}{measure.fmt_zh(value)}，{side_zh}{colour}预警线"
        en = f"{name_en} {verb_en} {measure.fmt_en(value)}, {side_en} {line_en}"
    if what[0]:
        zh, en = f"{zh}，{what[0]}", f"{en}, {what[1]}"
    return zh, en


def _eased_clause(
    place: Place, body_zh: str, body_en: str, severity: Severity, transition: Transition
) -> tuple[str, str]:
    """The eased clause of a rule event: the place, what eased and, when the
    rule is only lowered, to which colour."""
    zh, en = f"{place.zh}{body_zh}", f"{place.en}: {body_en}"
    if transition is Transition.DOWNGRADED:
        zh += f"，此项降为{COLOUR_ZH[severity]}"
        en += f", this one lowered to {severity.value.upper()}"
    return zh, en


def while_incident(
    eased: tuple[str, str],
    head: tuple[str, str],
    severity: Severity,
    *,
    lowered: bool,
    exercise: bool,
) -> tuple[str, str]:
    """A rule's text when its alert is lowered or lifted while its incident goes
    on: the eased clause (`render(..., eased=True)`), then the incident at its
    colour now (`head`: the station that names the incident; `lowered`: the
    incident was lowered in the same instant). Never 解除 nor "all clear"."""
    colour, sev = COLOUR_ZH[severity], severity.value.upper()
    if lowered:
        on_zh = f"{head[0]}预警降为{colour}，险情未除。"
        on_en = f"{head[1]} is lowered to {sev} warning; the danger is not over."
    else:
        on_zh = f"{head[0]}{colour}预警仍在持续，险情未除。"
        on_en = f"{head[1]} stays at {sev} warning; the danger is not over."
    pre_zh, pre_en = (EXERCISE_ZH, EXERCISE_EN) if exercise else ("", "")
    return (
        f"{pre_zh}{EASED_ZH}{eased[0]}。{on_zh}",
        f"{pre_en}{EASED_EN}{eased[1]}. {on_en}",
    )


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
    eased: bool = False,
) -> tuple[str, str]:
    """The text of a compound rule's event: its name, then what each condition
    reads now (`ConditionText.say`), then the advice (none on the all-clear).
    `eased` (lifted): the eased clause, no headline."""
    head_zh, head_en = headline(severity, transition, exercise)
    facts_zh = "；".join(zh for zh, _ in said)
    facts_en = "; ".join(en for _, en in said)
    if eased and transition is Transition.RESOLVED:
        return (
            f"{place.zh}{name[0]}的判据已不再成立：{facts_zh}",
            f"{place.en}: {name[1]}, the conditions no longer hold. {_capital(facts_en)}",
        )
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
    eased: bool = False,
) -> tuple[str, str]:
    """The dam is overtopping now (a reading at or over the crest): red, said
    plainly — at the crest (under 0.005 m over) "水位312.00米，已到达坝顶", over it
    "正在漫坝：水位312.12米，超过坝顶0.12米"; lowered to `severity` or lifted once the
    level is back below the crest. `eased` (lowered or lifted): the eased clause, no headline."""
    if eased and transition in (Transition.DOWNGRADED, Transition.RESOLVED):
        return _eased_clause(
            place,
            f"水位{level:.2f}米，已回落到坝顶{crest:.2f}米以下，漫顶停止",
            f"level {level:.2f} m, back below the crest at {crest:.2f} m, overtopping has stopped",
            severity,
            transition,
        )
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
    if f"{above:.2f}" == "0.00":  # at the crest: never "高出坝顶0.00米"
        return (
            f"{head_zh}{place.zh}水位{level:.2f}米，已到达坝顶。{todo_zh}",
            f"{head_en}{place.en}: level {level:.2f} m, at the dam crest. {todo_en}",
        )
    return (
        f"{head_zh}{place.zh}正在漫坝：水位{level:.2f}米，超过坝顶{above:.2f}米。{todo_zh}",
        f"{head_en}{place.en} is overtopping now: level {level:.2f} m, "
        f"{above:.2f} m above the dam crest. {todo_en}",
    )
