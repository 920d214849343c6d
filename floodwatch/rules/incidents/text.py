"""What people are told of an incident change: one message that leads with
the worst condition and carries the key figures (level against the crest,
freeboard, forecast, culvert, rain). Pure.

`notice(change, stations, rule_names)` makes the people-facing event of one
incident change: an `AlertEvent` whose `id` (and `incident`) is the incident
id — so an SMS reply code and a village's CAP message sequence are per
incident — with `rule` "incident", the leading alert's `kind`, value,
threshold and forecast, and the incident's own texts. The leading alert is the
worst one not inhibited (ties: the kind that says most about the hazard).

Figures are as of the change: each alert's value, forecast and level are what
its rule measured at the change's event time (`IncidentChange.figures`), not
those of the alert's own last transition; an alert without a figure keeps its
own (a compound condition is told by its name anyway).

People who hear of an incident for the first time when it is escalated or
lowered (a route's `min_severity` above its first colour, an escalation tier,
a reminder) must not read "升级为…": an escalated or downgraded notice also
carries, in `details["first_contact"]`, the texts of the incident raised at
its present colour; `as_first_contact` makes the notice they get.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec.structs import replace

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import ADVICE, RAIN_ADVICE, Place, rain_label
from floodwatch.alerts.state import EvacuationStage, Severity, Status, Transition
from floodwatch.config.models import Station
from floodwatch.config.values import parse_duration
from floodwatch.readings import ms_to_dt
from floodwatch.rules.incidents.tracker import LOST_KIND, Change, IncidentChange

RULE = "incident"
COLOUR_ZH = {Severity.BLUE: "蓝色", Severity.YELLOW: "黄色", Severity.ORANGE: "橙色",
             Severity.RED: "红色", Severity.INFO: ""}  # fmt: skip
TRANSITION = {
    Change.RAISED: Transition.FIRING,
    Change.ESCALATED: Transition.ESCALATED,
    Change.DOWNGRADED: Transition.DOWNGRADED,
    Change.ALL_CLEAR: Transition.RESOLVED,
    Change.LOST_OBSERVATION: Transition.FIRING,
    Change.UPDATED: Transition.FIRING,  # to people hearing of the incident for the first time
}
RuleNames = dict[str, tuple[str, str]]


def current(change: IncidentChange) -> IncidentChange:
    """The change with each alert's figures as of the change (its rule's figure,
    where the engine gave one)."""
    alerts = []
    for alert in change.alerts:
        figure = change.figures.get(alert.id)
        alerts.append(
            alert
            if figure is None
            else replace(
                alert,
                ts=ms_to_dt(figure.ts),
                value=figure.value,
                forecast=figure.forecast if figure.forecast is not None else alert.forecast,
                details={**alert.details, **figure.details},
            )
        )
    return replace(change, alerts=alerts)


def as_first_contact(notice: AlertEvent) -> AlertEvent:
    """The notice as told to someone hearing of its incident for the first time:
    an escalated or lowered incident reads as raised at its present colour."""
    first = notice.details.get("first_contact")
    if notice.rule != RULE or not isinstance(first, dict):
        return notice
    return replace(
        notice,
        transition=Transition.FIRING,
        previous_severity=None,
        message_zh=str(first["zh"]),
        message_en=str(first["en"]),
    )


def lead(change: IncidentChange) -> AlertEvent:
    """The alert the message leads with."""
    shown = [a for a in change.alerts if a.id not in change.inhibited]
    return (shown or change.alerts or [change.cause])[0]


def _overtopping(alert: AlertEvent) -> bool:
    """A reading at or over the crest. Only the rule's overtopping says so: a
    forecast of 0 minutes (the trend at the crest, the reading still below it)
    is "预计1分钟内漫坝", never "正在漫坝"."""
    return alert.kind == "time_to_crest" and bool((alert.forecast or {}).get("overtopping"))


def _at_crest(alert: AlertEvent) -> bool:
    """An overtopping reading less than 0.005 m over the crest: "水位已到达坝顶",
    as the alert says it (never "正在漫坝" over it by 0.00 m)."""
    level, target = alert.details.get("level"), alert.details.get("target")
    if not isinstance(level, int | float) or not isinstance(target, int | float):
        return False
    return f"{max(0.0, level - target):.2f}" == "0.00"


def condition(alert: AlertEvent, names: RuleNames) -> tuple[str, str]:
    """One alert's condition in a few words."""
    v = alert.value
    minutes = (alert.forecast or {}).get("minutes_to_crest")
    if alert.kind == "time_to_crest":
        if _overtopping(alert):
            return _overtopping_words(alert)
        if minutes is not None:
            return _to_crest(minutes)
    if v is not None:
        if alert.kind == "freeboard":
            return _freeboard(v)
        if alert.kind == "level":
            return f"水位{v:.2f}米", f"level {v:.2f} m"
        if alert.kind == "rate_of_rise":
            return f"水位每小时上涨{v:.2f}米", f"level rising {v:.2f} m per hour"
        if alert.kind == "rainfall":
            zh, en = _rain_words(str(alert.details.get("window", "")))
            return f"{zh}{v:.0f}毫米", f"{en} {v:.0f} mm"
    if alert.kind == LOST_KIND:
        return alert.message_zh.split("，")[0], alert.message_en.split(" has ")[0] + " silent"
    zh, en = names.get(alert.rule, (alert.rule, alert.rule))
    return zh, en


def _overtopping_words(alert: AlertEvent) -> tuple[str, str]:
    if _at_crest(alert):
        return "水位已到达坝顶", "the level is at the dam crest"
    return "正在漫坝", "the dam is overtopping"


def _to_crest(minutes: float) -> tuple[str, str]:
    """Minutes to the crest in a few words (under half a minute, or none left by
    the trend while the reading is below the crest: never "预计0分钟后")."""
    if minutes <= 0 or f"{minutes:.0f}" == "0":
        return "预计1分钟内漫坝", "expected to overtop within 1 min"
    return f"预计{minutes:.0f}分钟后漫坝", f"expected to overtop in {minutes:.0f} min"


def _freeboard(v: float) -> tuple[str, str]:
    """A freeboard in a few words; at or past the crest said as the level over
    it (never "距坝顶仅0.00米" nor "距坝顶仅-0.05米")."""
    if v > 0 and f"{v:.2f}" == "0.00":
        return "水位距坝顶不足0.01米", "under 0.01 m below the dam crest"
    if v <= 0 and f"{abs(v):.2f}" == "0.00":
        return "水位已到达坝顶", "the level is at the dam crest"
    if v < 0:
        return f"水位已超过坝顶{-v:.2f}米", f"the level is {-v:.2f} m above the dam crest"
    return f"水位距坝顶仅{v:.2f}米", f"{v:.2f} m below the dam crest"


def latest_level(alerts: list[AlertEvent], crest: float | None) -> float | None:
    """The most recent water level the incident's alerts know (a level alert's
    value, the level a time-to-crest or a rise alert read, the crest less a
    freeboard)."""
    known: list[tuple[datetime, float]] = []
    for a in alerts:
        if a.kind == "level" and a.value is not None:
            known.append((a.ts, a.value))
        elif a.kind in ("time_to_crest", "rate_of_rise") and isinstance(
            a.details.get("level"), int | float
        ):
            known.append((a.ts, float(a.details["level"])))
        elif a.kind == "freeboard" and a.value is not None and crest is not None:
            known.append((a.ts, crest - a.value))
    return max(known)[1] if known else None


def _figures(
    change: IncidentChange, first: AlertEvent, names: RuleNames, crest: float | None
) -> tuple[list[str], list[str]]:
    """The other key figures: the level against the crest (the latest known),
    then one per other kind of condition."""
    zh: list[str] = []
    en: list[str] = []
    seen = {first.kind, "level", "freeboard"}
    level = latest_level(change.alerts, crest)
    told_level = level is not None and first.kind not in ("level", "freeboard")
    if level is not None and told_level:
        if crest is not None:
            zh.append(f"水位{level:.2f}米（坝顶{crest:.2f}米）")
            en.append(f"level {level:.2f} m (crest {crest:.2f} m)")
        else:
            zh.append(f"水位{level:.2f}米")
            en.append(f"level {level:.2f} m")
    for alert in sorted(change.alerts, key=_figure_order):
        if alert.kind in seen or alert.severity is Severity.INFO:
            continue
        seen.add(alert.kind)
        z, e = condition(alert, names)
        if alert.kind == "rate_of_rise" and told_level and len(zh) == 1:
            # right after the level: "水位311.71米（坝顶312.00米），每小时上涨0.77米"
            z, e = z.removeprefix("水位"), e.replace("level rising", "rising")
        zh.append(z)
        en.append(e)
    return zh, en


FIGURE_ORDER = ("level", "freeboard", "time_to_crest", "compound", "rate_of_rise", "rainfall")


def _figure_order(alert: AlertEvent) -> int:
    return FIGURE_ORDER.index(alert.kind) if alert.kind in FIGURE_ORDER else len(FIGURE_ORDER)


def texts(change: IncidentChange, head: Station | None, names: RuleNames) -> tuple[str, str]:
    """The zh and en text of one incident change."""
    place_zh, place_en = _place(head, change.station)
    exercise = change.status is Status.EXERCISE
    pre_zh, pre_en = ("【演练】", "[EXERCISE] ") if exercise else ("", "")
    colour = COLOUR_ZH[change.severity]
    sev = change.severity.value.upper()
    if change.change is Change.ALL_CLEAR:
        return (
            f"{pre_zh}【预警解除】{place_zh}各项监测已恢复正常，预警解除。",
            f"{pre_en}[All clear] {place_en}: every measurement is back to normal; "
            "the warning is lifted.",
        )
    if change.change is Change.LOST_OBSERVATION:
        cause = change.cause
        return (
            f"{pre_zh}【{colour}预警】{cause.message_zh}",
            f"{pre_en}[{sev} warning] {cause.message_en}",
        )
    first = lead(change)
    crest = head.levels.crest if head and head.levels else None
    what_zh, what_en = condition(first, names)
    if first.kind == "level" and crest is not None:
        what_zh += f"（坝顶{crest:.2f}米）"
        what_en += f" (crest {crest:.2f} m)"
    more_zh, more_en = _figures(change, first, names, crest)
    if change.change is Change.DOWNGRADED:
        title_zh, title_en = f"【预警降为{colour}】", f"[Lowered to {sev}] "
    elif change.change is Change.ESCALATED and change.previous_severity is change.severity:
        # worse at the same colour: the dam overtopping now under a red forecast
        over = _overtopping(first)
        title_zh = f"【{colour}预警·漫坝】" if over else f"【{colour}预警·险情加重】"
        title_en = f"[{sev} warning: OVERTOPPING] " if over else f"[{sev} warning: worse] "
    elif change.change is Change.ESCALATED:
        title_zh, title_en = f"【升级为{colour}预警】", f"[Raised to {sev} warning] "
    else:
        title_zh, title_en = f"【{colour}预警】", f"[{sev} warning] "
    zh = f"{pre_zh}{title_zh}{place_zh}{what_zh}"
    en = f"{pre_en}{title_en}{place_en}: {what_en}"
    if more_zh:
        zh += "；" + "，".join(more_zh)
        en += "; " + ", ".join(more_en)
    advice_zh, advice_en = _advice(change, head)
    return f"{zh}。{advice_zh}", f"{en}. {advice_en}"


def _place(head: Station | None, station: str) -> tuple[str, str]:
    """How the incident's station is said, as its alerts say it (`messages.Place`):
    the village before the name, unless the name already starts with it."""
    if head is None:
        return station, station
    village = head.village
    place = Place(
        head.name,
        head.name_en or head.name,
        village.name if village else None,
        village.name_en if village else None,
    )
    return place.zh, place.en


def _advice(change: IncidentChange, head: Station | None) -> tuple[str, str]:
    """What to do at the incident's severity: the pond's advice (downstream, the
    dam), or the rain advice (danger zones) for an incident of rain alone."""
    rain_only = all(a.kind == "rainfall" for a in change.alerts if a.severity is not Severity.INFO)
    if (head is not None and head.type == "rain_gauge") or (change.alerts and rain_only):
        return RAIN_ADVICE.get(change.severity, ("", ""))
    return ADVICE.get(change.severity, ("", ""))


def rule_names(rules: list[Any]) -> RuleNames:
    """Rule id -> (zh, en) words for a condition without a figure (a compound rule)."""
    return {
        r.id: (r.name or "组合条件预警", r.name_en or r.description or "compound warning")
        for r in rules
    }


def _rain_words(window: str) -> tuple[str, str]:
    """ "3h" → (3小时累计雨量, 3-hour rainfall); unknown → (累计雨量, rainfall)."""
    try:
        return rain_label(int(parse_duration(window).total_seconds() * 1000))
    except ValueError:
        return "累计雨量", "rainfall"


def notice(change: IncidentChange, stations: dict[str, Station], names: RuleNames) -> AlertEvent:
    """The people-facing event of one incident change."""
    head = stations.get(change.station)
    change = current(change)
    zh, en = texts(change, head, names)
    first = change.cause if change.change is Change.LOST_OBSERVATION else lead(change)
    level = latest_level(change.alerts, head.levels.crest if head and head.levels else None)
    minutes = next(
        ((a.forecast or {}).get("minutes_to_crest") for a in change.alerts
         if a.kind == "time_to_crest" and a.forecast),
        None,
    )  # fmt: skip
    # the evacuation stage: the most urgent any alert says, or the incident's colour does
    stages = {a.stage for a in change.alerts if a.stage is not None}
    if EvacuationStage.EVACUATE in stages or change.severity is Severity.RED:
        stage: EvacuationStage | None = EvacuationStage.EVACUATE
    elif stages or change.severity is Severity.ORANGE:
        stage = EvacuationStage.PREPARE
    else:
        stage = None
    details: dict[str, Any] = {
        "change": change.change.value,
        "alerts": [a.id for a in change.alerts],
        "inhibited": list(change.inhibited),
        "lead": first.id,
        "cause": change.cause.id,
    }
    if level is not None:
        details["level"] = level
    if change.change in (Change.ESCALATED, Change.DOWNGRADED):
        raised = replace(change, change=Change.RAISED, previous_severity=None)
        first_zh, first_en = texts(raised, head, names)
        details["first_contact"] = {"zh": first_zh, "en": first_en}
    forecast = None if minutes is None else {"minutes_to_crest": minutes}
    return AlertEvent(
        id=change.incident,
        rule=RULE,
        kind=first.kind,
        station=change.station,
        station_name=head.name if head else change.station,
        severity=change.severity,
        previous_severity=change.previous_severity,
        transition=TRANSITION[change.change],
        ts=change.ts,
        episode_start=change.started,
        value=first.value,
        threshold=first.threshold,
        unit=first.unit,
        forecast=forecast,
        stage=None if change.change is Change.ALL_CLEAR else stage,
        status=change.status,
        message_zh=zh,
        message_en=en,
        details=details,
        incident=change.incident,
    )
