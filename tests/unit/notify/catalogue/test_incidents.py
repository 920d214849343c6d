"""The catalogue's incident messages (notify/catalogue/incidents.py): the
storyline of the busiest incident through the real tracker, and what people
and village loudspeakers are told at each change, in Chinese that reads right."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from itertools import pairwise

from floodwatch.alerts.state import Severity, Transition
from floodwatch.notify.catalogue.entries import WHILE_INCIDENT, Entry, entries
from floodwatch.notify.catalogue.incidents import (
    STEP,
    incident_entries,
    msgspec_entry,
    storyline,
)
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import compile_config

CONFIG = compile_config(load_config_dir("config"))
RULES = [e for e in entries(CONFIG) if e.section != "incidents"]
STORY = storyline(CONFIG, RULES)
INCIDENT = incident_entries(CONFIG, RULES)
POND_RULES = {"pond-level", "pond-freeboard", "pond-rise", "pond-overtop", "culvert-blocked"}


def test_the_story_is_of_the_incident_with_most_rules_five_minutes_apart() -> None:
    assert {e.rule for e in STORY} == POND_RULES | {"rain-accumulation", "sensor-health/stale"}
    assert {e.station for e in STORY} == {"maokeng-pond", "maokeng-rain"}  # linked: one incident
    assert all(b.ts - a.ts == STEP == timedelta(minutes=5) for a, b in pairwise(STORY))


def test_every_rule_is_raised_level_by_level_then_lowered_and_lifted() -> None:
    flood = [e for e in STORY if e.severity is not Severity.INFO]
    peak = max(i for i, e in enumerate(flood) if e.transition is Transition.ESCALATED)
    rising, falling = flood[: peak + 1], flood[peak + 1 :]
    ranks = [e.severity.rank for e in rising]
    assert ranks == sorted(ranks) and rising[0].severity is Severity.BLUE
    assert rising[-1].severity is Severity.RED
    assert {e.transition for e in rising} == {Transition.FIRING, Transition.ESCALATED}
    assert {e.transition for e in falling} == {Transition.DOWNGRADED, Transition.RESOLVED}
    assert [e.severity.rank for e in falling if e.transition is Transition.DOWNGRADED] == sorted(
        (e.severity.rank for e in falling if e.transition is Transition.DOWNGRADED), reverse=True
    )
    raised = Counter(e.rule for e in rising if e.transition is Transition.FIRING)
    lifted = Counter(e.rule for e in falling if e.transition is Transition.RESOLVED)
    assert raised == lifted and set(raised) == POND_RULES | {"rain-accumulation"}


def test_the_dam_overtops_only_under_a_red_forecast_and_the_gauge_falls_silent_in_it() -> None:
    over = [e for e in STORY if (e.forecast or {}).get("overtopping")]
    assert len(over) == 1 and over[0].severity is Severity.RED
    i = STORY.index(over[0])
    stale = STORY[i + 1 : i + 3]
    assert [(e.rule, e.transition) for e in stale] == [
        ("sensor-health/stale", Transition.FIRING),
        ("sensor-health/stale", Transition.RESOLVED),
    ]
    assert stale[0].station == "maokeng-pond"  # the head station's level gauge


def test_the_dam_overtops_once_after_every_rule_has_reached_its_highest_level() -> None:
    over = next(i for i, e in enumerate(STORY) if (e.forecast or {}).get("overtopping"))
    before = {e.rule: e.severity for e in STORY[:over] if e.severity is not Severity.INFO}
    top = {e.rule: max((x for x in STORY if x.rule == e.rule), key=lambda x: x.severity.rank)
           for e in STORY[:over]}  # fmt: skip
    assert before == {rule: e.severity for rule, e in top.items()} and before["pond-overtop"] is (
        Severity.RED
    )  # every rule at its highest level (culvert-blocked: orange)
    told = [e for e in INCIDENT if "正在漫坝" in e.zh]
    assert len(told) == 1 and told[0].zh.startswith("【红色预警·漫坝】毛坑村毛坑山塘正在漫坝；")


def test_a_rise_reads_the_level_the_story_has_reached() -> None:
    level = None
    for event in STORY:
        if event.kind == "rate_of_rise":
            assert event.details["level"] == level, event
        elif isinstance(event.details.get("level"), int | float):
            level = event.details["level"]
    assert level is not None


def test_no_rules_no_story() -> None:
    assert storyline(CONFIG, []) == [] and incident_entries(CONFIG, []) == []
    sensors = [e for e in RULES if e.section == "sensors"]
    assert storyline(CONFIG, sensors) == []
    eased = [e for e in RULES if WHILE_INCIDENT in e.notes]  # told while the incident goes on
    assert eased and storyline(CONFIG, eased) == []


def test_each_change_is_told_once_raised_first_all_clear_last() -> None:
    changes = [e.event.details["change"] for e in INCIDENT]
    assert changes[0] == "raised" and changes[-1] == "all_clear"
    assert changes.count("raised") == changes.count("all_clear") == 1
    assert {"escalated", "downgraded", "lost_observation", "updated"} <= set(changes)
    assert all(e.section == "incidents" and e.station == "maokeng-pond" for e in INCIDENT)
    for entry in INCIDENT:
        change = entry.event.details["change"]
        before = entry.event.previous_severity
        if change in ("escalated", "downgraded"):
            assert entry.title == f"{change} · {entry.event.severity.value} (from {before.value})"  # type: ignore[union-attr]
        else:
            assert entry.title == f"{change} · {entry.event.severity.value}"


COLOUR = {Severity.BLUE: "蓝色", Severity.YELLOW: "黄色", Severity.ORANGE: "橙色",
          Severity.RED: "红色"}  # fmt: skip


def opening(entry: Entry) -> str:
    """What the message opens with, for its change and colour."""
    colour = COLOUR.get(entry.event.severity, "")
    return {
        "raised": f"【{colour}预警】毛坑村毛坑山塘",
        "updated": f"【{colour}预警】毛坑村毛坑山塘",
        "escalated": f"【升级为{colour}预警】毛坑村毛坑山塘",
        "downgraded": f"【预警降为{colour}】毛坑村毛坑山塘",
        "lost_observation": f"【{colour}预警】毛坑山塘水位计失联，当前{colour}预警",
        "all_clear": "【预警解除】毛坑村毛坑山塘各项监测已恢复正常，预警解除。",
    }[str(entry.event.details["change"])]


def test_what_people_read_opens_with_the_change_and_the_colour() -> None:
    for entry in INCIDENT:
        if "漫坝" in entry.zh and entry.event.severity is Severity.RED and "正在" in entry.zh:
            assert entry.zh.startswith("【红色预警·漫坝】毛坑村毛坑山塘正在漫坝；"), entry.zh
            continue
        assert entry.zh.startswith(opening(entry)), entry.zh
        assert entry.zh.endswith("。"), entry.zh


def test_only_the_all_clear_says_it_is_over_and_red_says_evacuate_now() -> None:
    *going_on, last = INCIDENT
    for entry in going_on:
        assert "解除" not in entry.zh and "恢复正常" not in entry.zh, entry.zh
        assert "预警已解除" not in (entry.spoken or "")
    assert last.spoken == "毛坑村请注意：毛坑山塘预警已解除。请听从村干部安排。"
    for entry in going_on:
        if entry.event.severity is Severity.RED and entry.event.details["change"] != (
            "lost_observation"
        ):
            assert "请立即组织下游群众转移" in entry.zh, entry.zh
            assert entry.spoken is not None and entry.spoken.endswith("请立即转移。")
    lost = next(e for e in INCIDENT if e.event.details["change"] == "lost_observation")
    assert (
        lost.zh == "【红色预警】毛坑山塘水位计失联，当前红色预警，请巡查责任人立即到现场人工观测。"
    )


def test_the_loudspeaker_speaks_every_change_to_the_village() -> None:
    for entry in INCIDENT:
        assert entry.spoken is not None and entry.spoken.startswith("毛坑村请注意：毛坑山塘")
        assert not any(c.isascii() and c.isalpha() for c in entry.spoken), entry.spoken


def test_an_entry_used_as_another_step_keeps_its_text() -> None:
    first = next(e for e in RULES if e.event.transition is Transition.FIRING)
    assert msgspec_entry(first, Transition.FIRING) is first
    raised = msgspec_entry(first, Transition.ESCALATED)
    assert raised.event.transition is Transition.ESCALATED and raised.zh == first.zh
    assert first.event.transition is Transition.FIRING  # the original is left as it was
