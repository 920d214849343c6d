"""`rules.incidents.text`: what people are told of an incident change — one
message that leads with the worst condition not inhibited, names the place as
people say it, carries the key figures as of the change and the advice of the
incident's colour; an escalated or lowered notice also carries the texts for
someone who hears of the incident for the first time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import ADVICE, RAIN_ADVICE
from floodwatch.alerts.state import EvacuationStage, Severity, Status, Transition
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.base import Figure
from floodwatch.rules.incidents.text import (
    as_first_contact,
    condition,
    latest_level,
    lead,
    notice,
    rule_names,
    texts,
)
from floodwatch.rules.incidents.tracker import Change, IncidentChange
from tests.events import alert_event

CONFIG = load_config_dir("config").config
STATIONS = {s.id: s for s in CONFIG.stations}
NAMES = rule_names(CONFIG.rules)
T0 = datetime(2026, 7, 7, 6, 0, tzinfo=UTC)
R, OR, Y, B, INFO = Severity.RED, Severity.ORANGE, Severity.YELLOW, Severity.BLUE, Severity.INFO


def alert(
    kind: str,
    severity: Severity,
    value: float | None = None,
    *,
    rule: str | None = None,
    station: str = "maokeng-pond",
    minute: int = 0,
    **fields: object,
) -> AlertEvent:
    rule = rule or f"pond-{kind}"
    return alert_event(
        rule,
        kind,
        severity,
        station,
        T0 + timedelta(minutes=minute),
        station_name=STATIONS[station].name,
        episode_start=T0,
        value=value,
        **fields,
    )


def change(  # noqa: PLR0913 — keyword-only parts of one change
    kind: Change,
    severity: Severity,
    alerts: list[AlertEvent],
    *,
    previous: Severity | None = None,
    station: str = "maokeng-pond",
    inhibited: list[str] | None = None,
    status: Status = Status.ACTUAL,
    figures: dict[str, Figure] | None = None,
    minute: int = 0,
) -> IncidentChange:
    return IncidentChange(
        incident=f"{station}:incident:1",
        station=station,
        change=kind,
        severity=severity,
        previous_severity=previous,
        ts=T0 + timedelta(minutes=minute),
        started=T0,
        status=status,
        alerts=alerts,
        inhibited=inhibited or [],
        cause=alerts[0] if alerts else alert("level", severity),
        figures=figures or {},
    )


def test_a_raised_incident_leads_with_its_worst_condition_and_names_the_village() -> None:
    crest = alert("time_to_crest", R, 25.0, rule="pond-overtop",
                  forecast={"minutes_to_crest": 25.0}, details={"level": 311.71})  # fmt: skip
    rise = alert("rate_of_rise", OR, 0.77, rule="pond-rise")
    rain = alert("rainfall", OR, 61.0, rule="rain-accumulation", station="maokeng-rain",
                 details={"window": "1h"})  # fmt: skip
    zh, en = texts(change(Change.RAISED, R, [crest, rise, rain]), STATIONS["maokeng-pond"], NAMES)
    assert zh == (
        "【红色预警】毛坑村毛坑山塘预计25分钟后漫坝；水位311.71米（坝顶312.00米），"
        "每小时上涨0.77米，1小时累计雨量61毫米。" + ADVICE[R][0]
    )
    assert en == (
        "[RED warning] Maokeng pond (Maokeng village): expected to overtop in 25 min; "
        "level 311.71 m (crest 312.00 m), rising 0.77 m per hour, 1-hour rainfall 61 mm. "
        + ADVICE[R][1]
    )


def test_a_station_named_after_its_village_is_not_named_twice() -> None:
    """A pond called "毛坑村山塘" in 毛坑村 is "毛坑村山塘", as its own alerts say
    (`messages.Place`), not "毛坑村毛坑村山塘"."""
    pond = STATIONS["maokeng-pond"]
    own = pond.model_copy(update={"name": "毛坑村山塘"})
    zh, _ = texts(change(Change.RAISED, Y, [alert("level", Y, 311.45)]), own, NAMES)
    assert zh.startswith("【黄色预警】毛坑村山塘水位311.45米（坝顶312.00米）。"), zh
    no_village = pond.model_copy(update={"village": None, "name_en": None})
    zh, en = texts(change(Change.RAISED, Y, [alert("level", Y, 311.45)]), no_village, NAMES)
    assert zh.startswith("【黄色预警】毛坑山塘水位") and en.startswith(
        "[YELLOW warning] 毛坑山塘: "
    )


def test_an_unknown_station_is_said_by_its_id() -> None:
    zh, en = texts(change(Change.RAISED, B, [alert("level", B, 1.0)], station="gone"), None, NAMES)
    assert zh.startswith("【蓝色预警】gone水位1.00米") and en.startswith("[BLUE warning] gone: ")


@pytest.mark.parametrize(
    ("kind", "previous", "severity", "title_zh", "title_en"),
    [
        (Change.ESCALATED, OR, R, "【升级为红色预警】", "[Raised to RED warning] "),
        (Change.DOWNGRADED, R, Y, "【预警降为黄色】", "[Lowered to YELLOW] "),
        (Change.ESCALATED, OR, OR, "【橙色预警·险情加重】", "[ORANGE warning: worse] "),
        (Change.UPDATED, OR, OR, "【橙色预警】", "[ORANGE warning] "),
    ],
)
def test_each_change_has_its_title(
    kind: Change, previous: Severity, severity: Severity, title_zh: str, title_en: str
) -> None:
    c = change(kind, severity, [alert("level", severity, 311.5)], previous=previous)
    zh, en = texts(c, STATIONS["maokeng-pond"], NAMES)
    assert zh.startswith(title_zh + "毛坑村毛坑山塘水位311.50米（坝顶312.00米）。"), zh
    assert en.startswith(title_en + "Maokeng pond (Maokeng village): level 311.50 m"), en
    assert zh.endswith(ADVICE[severity][0]) and en.endswith(ADVICE[severity][1])


def test_overtopping_at_the_same_red_says_so() -> None:
    over = alert("time_to_crest", R, 0.0, rule="pond-overtop",
                 forecast={"overtopping": True, "minutes_to_crest": 0.0})  # fmt: skip
    zh, en = texts(change(Change.ESCALATED, R, [over], previous=R), STATIONS["maokeng-pond"], NAMES)
    assert zh.startswith("【红色预警·漫坝】毛坑村毛坑山塘正在漫坝。")
    assert en.startswith("[RED warning: OVERTOPPING] Maokeng pond (Maokeng village): the dam is ")


def test_a_reading_at_the_crest_is_told_as_reaching_it_and_over_it_as_overtopping() -> None:
    # as the alert says it: "水位312.00米，已到达坝顶" / "正在漫坝：…超过坝顶0.12米"
    def over(level: float) -> AlertEvent:
        return alert("time_to_crest", R, 0.0, rule="pond-overtop",
                     forecast={"overtopping": True, "minutes_to_crest": 0.0},
                     details={"level": level, "target": 312.0, "overtopping": True})  # fmt: skip

    pond = STATIONS["maokeng-pond"]
    zh, en = texts(change(Change.ESCALATED, R, [over(312.004)], previous=R), pond, NAMES)
    assert zh.startswith(
        "【红色预警·漫坝】毛坑村毛坑山塘水位已到达坝顶；水位312.00米（坝顶312.00米）。"
    )
    assert en.startswith("[RED warning: OVERTOPPING] Maokeng pond (Maokeng village): the level is")
    assert "正在漫坝" not in zh and "0.00米" not in zh.replace("312.00米", "")
    zh, _ = texts(change(Change.ESCALATED, R, [over(312.12)], previous=R), pond, NAMES)
    assert zh.startswith("【红色预警·漫坝】毛坑村毛坑山塘正在漫坝；水位312.12米（坝顶312.00米）。")


@pytest.mark.parametrize("minutes", [0.0, -0.5])
def test_a_forecast_of_no_minutes_left_is_within_a_minute_not_overtopping(minutes: float) -> None:
    # the trend at the crest, the reading below it: it said "正在漫坝" (only the
    # rule's overtopping, a reading at or over the crest, may say so)
    soon = alert("time_to_crest", R, minutes, rule="pond-overtop",
                 forecast={"minutes_to_crest": minutes, "rate_m_per_h": 3.0},
                 details={"level": 311.93})  # fmt: skip
    assert condition(soon, NAMES) == ("预计1分钟内漫坝", "expected to overtop within 1 min")
    zh, _ = texts(change(Change.ESCALATED, R, [soon], previous=R), STATIONS["maokeng-pond"], NAMES)
    assert zh.startswith("【红色预警·险情加重】毛坑村毛坑山塘预计1分钟内漫坝；水位311.93米")


def test_a_days_rain_is_said_in_hours_as_docs_incidents_shows_it() -> None:
    # docs/incidents.md showed "1天累计雨量220毫米"; a "1d" window is said "24小时"
    rain = alert("rainfall", OR, 220.0, rule="rain-accumulation", station="maokeng-rain",
                 details={"window": "1d"})  # fmt: skip
    level = alert("level", OR, 311.3)
    zh, _ = texts(change(Change.DOWNGRADED, OR, [rain, level], previous=R),
                  STATIONS["maokeng-pond"], NAMES)  # fmt: skip
    assert zh.startswith("【预警降为橙色】毛坑村毛坑山塘24小时累计雨量220毫米；水位311.30米")
    with open("docs/incidents.md", encoding="utf-8") as doc:
        said = doc.read()
    assert zh.split("；")[0] in said and "1天累计雨量" not in said


def test_the_all_clear_and_a_lost_gauge_have_texts_of_their_own() -> None:
    pond = STATIONS["maokeng-pond"]
    zh, en = texts(change(Change.ALL_CLEAR, OR, [], previous=OR), pond, NAMES)
    assert zh == "【预警解除】毛坑村毛坑山塘各项监测已恢复正常，预警解除。"
    assert en.startswith("[All clear] Maokeng pond (Maokeng village): every measurement")
    lost = alert(
        "observation",
        OR,
        rule="observation-lost",
        message_zh="毛坑山塘水位计失联，当前橙色预警，请巡查责任人立即到现场人工观测。",
        message_en="Maokeng pond level gauge has gone silent during an orange warning.",
    )
    zh, en = texts(change(Change.LOST_OBSERVATION, OR, [lost]), pond, NAMES)
    assert zh == "【橙色预警】毛坑山塘水位计失联，当前橙色预警，请巡查责任人立即到现场人工观测。"
    assert en.startswith("[ORANGE warning] Maokeng pond level gauge has gone silent")


def test_a_drill_says_so_in_both_languages() -> None:
    c = change(Change.RAISED, B, [alert("level", B, 310.7)], status=Status.EXERCISE)
    zh, en = texts(c, STATIONS["maokeng-pond"], NAMES)
    assert zh.startswith("【演练】【蓝色预警】") and en.startswith("[EXERCISE] [BLUE warning] ")


def test_an_incident_of_rain_alone_gets_the_rain_advice() -> None:
    rain = alert("rainfall", Y, 45.0, rule="rain-accumulation", station="maokeng-rain",
                 details={"window": "3h"})  # fmt: skip
    zh, en = texts(change(Change.RAISED, Y, [rain]), STATIONS["maokeng-pond"], NAMES)
    assert zh == "【黄色预警】毛坑村毛坑山塘3小时累计雨量45毫米。" + RAIN_ADVICE[Y][0]
    assert en.endswith(RAIN_ADVICE[Y][1])
    # a rain gauge's own incident always: its advice is about danger zones
    zh, _ = texts(change(Change.RAISED, Y, [rain], station="maokeng-rain"),
                  STATIONS["maokeng-rain"], NAMES)  # fmt: skip
    assert zh.endswith(RAIN_ADVICE[Y][0])


def test_conditions_in_a_few_words() -> None:
    assert condition(alert("freeboard", OR, 0.35), NAMES) == (
        "水位距坝顶仅0.35米",
        "0.35 m below the dam crest",
    )
    assert condition(alert("rainfall", B, 31.9, details={"window": "nonsense"}), NAMES) == (
        "累计雨量32毫米",
        "rainfall 32 mm",
    )
    far = alert("time_to_crest", Y, None, forecast={"rate_m_per_h": 0.1})  # no minutes: by name
    assert condition(far, NAMES) == NAMES.get("pond-time_to_crest", ("pond-time_to_crest",) * 2)
    blocked = alert("compound", OR, 0.3, rule="culvert-blocked")
    assert condition(blocked, NAMES) == NAMES["culvert-blocked"]
    assert NAMES["culvert-blocked"][0] and "-" not in NAMES["culvert-blocked"][0]


def test_a_condition_never_says_zero_or_less_to_go() -> None:
    # it said "预计0分钟后漫坝" under half a minute out, "距坝顶仅-0.05米" over the crest
    soon = alert("time_to_crest", R, 0.3, forecast={"minutes_to_crest": 0.3})
    assert condition(soon, NAMES) == ("预计1分钟内漫坝", "expected to overtop within 1 min")
    assert condition(alert("freeboard", R, -0.05), NAMES) == (
        "水位已超过坝顶0.05米",
        "the level is 0.05 m above the dam crest",
    )
    assert condition(alert("freeboard", R, 0.0), NAMES)[0] == "水位已到达坝顶"
    assert condition(alert("freeboard", R, -0.001), NAMES)[0] == "水位已到达坝顶"
    assert condition(alert("freeboard", R, 0.004), NAMES) == (
        "水位距坝顶不足0.01米",
        "under 0.01 m below the dam crest",
    )


def test_the_lead_is_the_worst_alert_not_inhibited() -> None:
    level = alert("level", R, 311.9)
    crest = alert("time_to_crest", R, 20.0, rule="pond-overtop")
    c = change(Change.RAISED, R, [level, crest], inhibited=[level.id])
    assert lead(c) is crest
    every = change(Change.RAISED, R, [level], inhibited=[level.id])
    assert lead(every) is level  # everything inhibited: still the worst
    assert lead(change(Change.ALL_CLEAR, R, [])).rule == "pond-level"  # none: the cause


def test_the_latest_level_comes_from_whichever_alert_read_it_last() -> None:
    level = alert("level", Y, 311.5, minute=0)
    rise = alert("rate_of_rise", Y, 0.5, minute=10, details={"level": 311.6})
    freeboard = alert("freeboard", OR, 0.3, minute=5)
    assert latest_level([level, freeboard], 312.0) == pytest.approx(311.7)
    assert latest_level([level, rise, freeboard], 312.0) == 311.6
    assert latest_level([freeboard], None) is None
    assert latest_level([alert("rainfall", B, 30.0)], 312.0) is None


def test_a_notice_is_the_incidents_event_with_figures_as_of_the_change() -> None:
    level = alert("level", OR, 311.65)
    rise = alert("rate_of_rise", OR, 0.64, rule="pond-rise")
    crest = alert("time_to_crest", OR, 50.0, rule="pond-overtop",
                  forecast={"minutes_to_crest": 50.0})  # fmt: skip
    figures = {
        rise.id: Figure(int((T0 + timedelta(minutes=20)).timestamp() * 1000), 0.36),
        crest.id: Figure(int((T0 + timedelta(minutes=20)).timestamp() * 1000), 40.0,
                         {"minutes_to_crest": 40.0}, {"level": 311.8}),
    }  # fmt: skip
    c = change(Change.ESCALATED, OR, [crest, level, rise], previous=Y, figures=figures, minute=20)
    n = notice(c, STATIONS, NAMES)
    assert (n.id, n.incident, n.rule, n.kind) == (
        c.incident,
        c.incident,
        "incident",
        "time_to_crest",
    )
    assert (n.severity, n.previous_severity, n.transition) == (OR, Y, Transition.ESCALATED)
    assert n.value == 40.0 and n.forecast == {"minutes_to_crest": 40.0}
    assert n.stage is EvacuationStage.PREPARE  # orange: get ready to move
    assert n.details["level"] == 311.8 and n.details["lead"] == crest.id
    assert n.details["alerts"] == [crest.id, level.id, rise.id]
    assert "预计40分钟后漫坝" in n.message_zh and "每小时上涨0.36米" in n.message_zh
    assert n.message_zh.startswith("【升级为橙色预警】")
    first = n.details["first_contact"]
    assert first["zh"].startswith("【橙色预警】毛坑村毛坑山塘预计40分钟后漫坝")
    told = as_first_contact(n)
    assert (told.transition, told.previous_severity) == (Transition.FIRING, None)
    assert told.message_zh == first["zh"] and told.message_en == first["en"]


def test_first_contact_leaves_raised_notices_and_plain_alerts_alone() -> None:
    raised = notice(change(Change.RAISED, Y, [alert("level", Y, 311.45)]), STATIONS, NAMES)
    assert "first_contact" not in raised.details and as_first_contact(raised) is raised
    plain = alert("level", Y, 311.45, details={"first_contact": {"zh": "x", "en": "x"}})
    assert as_first_contact(plain) is plain


def test_the_stage_follows_the_most_urgent_alert_or_the_colour() -> None:
    pond = STATIONS["maokeng-pond"]
    rain = alert("rainfall", Y, 50.0, stage=EvacuationStage.EVACUATE)
    assert notice(change(Change.RAISED, Y, [rain]), {"maokeng-pond": pond}, NAMES).stage is (
        EvacuationStage.EVACUATE
    )
    assert notice(change(Change.RAISED, R, [alert("level", R, 311.9)]), STATIONS, NAMES).stage is (
        EvacuationStage.EVACUATE
    )
    assert (
        notice(change(Change.RAISED, B, [alert("level", B, 310.7)]), STATIONS, NAMES).stage is None
    )
    clear = notice(change(Change.ALL_CLEAR, R, [], previous=R), STATIONS, NAMES)
    assert clear.stage is None and clear.transition is Transition.RESOLVED


def test_rule_names_give_a_compound_rule_words_in_both_languages() -> None:
    assert all(zh and en for zh, en in NAMES.values())
    assert set(NAMES) == {r.id for r in CONFIG.rules}
