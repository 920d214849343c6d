"""The all-clear belongs to the incident (issue 13, item 2): a rule lowered or
lifted while its incident goes on says that this one condition has eased and
that the incident goes on at its colour, never 解除 / 恢复正常 / "all clear" /
"back to normal" / "lifted"; "【预警解除】" only when the incident ends with it,
and in the incident's all-clear."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import msgspec
from msgspec.structs import replace

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import EASED
from floodwatch.alerts.state import Severity, Status, Transition
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.replay.run import replay_lines
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine
from floodwatch.rules.incidents.text import notice, rule_names
from floodwatch.rules.incidents.tracker import Change, IncidentTracker
from floodwatch.sim import SCENARIOS, simulate
from tests.events import alert_event

CONFIG = compile_config(load_config_dir("config"))
STATIONS = {s.id: s for s in CONFIG.config.stations}
T0 = datetime(2026, 7, 6, 16, 0, tzinfo=UTC)
R, OR, Y, B = Severity.RED, Severity.ORANGE, Severity.YELLOW, Severity.BLUE
F, D, X = Transition.FIRING, Transition.DOWNGRADED, Transition.RESOLVED
ALL_CLEAR = re.compile(r"解除|恢复正常|all[- ]clear|back to normal|lifted", re.IGNORECASE)


def tracker() -> IncidentTracker:
    return IncidentTracker(CONFIG.config.stations, CONFIG.config.engine.incidents)


def storm() -> list[Reading]:
    """A blocked-culvert storm over 48 h: the dam overtops, everything falls back,
    the incident's all-clear at the end."""
    scenario = dataclasses.replace(SCENARIOS["blocked"], hours=48)
    return simulate(scenario, start=T0, seed=7).readings


def test_no_rule_says_all_clear_while_its_incident_goes_on_in_a_blocked_culvert_storm() -> None:
    readings = storm()
    engine = Engine(CONFIG)
    out = engine.process(readings)
    out.extend(engine.flush())
    applied = tracker().apply(out.alerts, out.figures)
    ended = {(c.incident, c.ts) for c in applied.changes if c.change is Change.ALL_CLEAR}
    assert len(ended) == 1, applied.changes  # the storm ends
    eased: list[AlertEvent] = []
    lifted: list[AlertEvent] = []
    for a in applied.alerts:
        assert EASED not in a.details  # the tracker takes the clause off every event
        if a.severity is Severity.INFO or a.transition not in (D, X):
            continue
        if (a.incident, a.ts) in ended:
            lifted.append(a)
            continue
        for text in (a.message_zh, a.message_en):
            assert not ALL_CLEAR.search(text), text
        if a.message_zh.startswith("【单项回落】"):
            eased.append(a)
        else:  # lowered, and the incident with it, to the same colour
            assert a.transition is D and a.message_zh.startswith("【预警降为"), a.message_zh
    texts = [a.message_zh for a in eased]
    assert (
        "【单项回落】毛坑村毛坑山塘水位上涨速率已回落到0.06米/小时，低于黄色预警线。"
        "毛坑山塘红色预警仍在持续，险情未除。"
    ) in texts, texts
    assert any("漫顶停止。毛坑山塘红色预警仍在持续" in t for t in texts), texts
    assert any(t.endswith("毛坑山塘橙色预警仍在持续，险情未除。") for t in texts), texts
    assert any(t.endswith("毛坑山塘预警降为蓝色，险情未除。") for t in texts), texts  # lowered
    assert all(a.message_en.startswith("[Condition eased] ") for a in eased)
    assert [a.rule for a in lifted] == ["pond-level"], lifted
    assert lifted[0].message_zh.startswith("【预警解除】毛坑村毛坑山塘水位")
    [clear] = [c for c in applied.changes if c.change is Change.ALL_CLEAR]
    told = notice(clear, STATIONS, rule_names(CONFIG.config.rules))
    assert told.message_zh == "【预警解除】毛坑村毛坑山塘各项监测已恢复正常，预警解除。"
    assert "the warning is lifted" in told.message_en

    # replay (engine, then the tracker) words every alert alike
    replayed: list[AlertEvent] = []
    lines = [msgspec.json.encode(r.to_json()) for r in readings]
    replay_lines(CONFIG, lines, replayed.append, lambda r: None)
    assert [(a.id, a.transition, a.message_zh, a.message_en) for a in replayed] == [
        (a.id, a.transition, a.message_zh, a.message_en) for a in applied.alerts
    ]


def event(
    minute: int,
    rule: str,
    kind: str,
    severity: Severity,
    transition: Transition = F,
    previous: Severity | None = None,
    status: Status = Status.ACTUAL,
) -> AlertEvent:
    """An alert event as a rule makes it: a lowered or lifted one with its eased clause."""
    details: dict[str, object] = {}
    if transition in (D, X):
        details[EASED] = {"zh": f"{rule}已回落", "en": f"{rule} eased"}
    return alert_event(
        rule,
        kind,
        severity,
        "maokeng-pond",
        T0 + timedelta(minutes=minute),
        station_name="毛坑山塘",
        previous_severity=previous,
        transition=transition,
        episode_start=T0,
        status=status,
        message_zh=f"【{transition.value}】{rule}",
        message_en=f"[{transition.value}] {rule}",
        details=details,
    )


def said(t: IncidentTracker, *events: AlertEvent) -> list[str]:
    return [a.message_zh for a in t.apply(events).alerts]


def test_the_wording_is_chosen_at_the_end_of_the_instant() -> None:
    t = tracker()
    t.apply([event(0, "level", "level", R), event(0, "rise", "rate_of_rise", OR)])
    # lifted while the red level goes on
    assert said(t, event(5, "rise", "rate_of_rise", OR, X, OR)) == [
        "【单项回落】rise已回落。毛坑山塘红色预警仍在持续，险情未除。"
    ]
    t.apply([event(6, "rise", "rate_of_rise", Y)])
    # lowered to yellow while the incident stays red: the condition eased
    assert said(t, event(7, "rise", "rate_of_rise", B, D, Y)) == [
        "【单项回落】rise已回落。毛坑山塘红色预警仍在持续，险情未除。"
    ]
    # the red level lowered to orange: the incident with it, so the rule's own text
    assert said(t, event(10, "level", "level", OR, D, R)) == ["【downgraded】level"]
    # lifted in the instant the incident is lowered: the incident's new colour
    t.apply([event(15, "level", "level", R, Transition.ESCALATED, OR)])
    assert said(t, event(20, "level", "level", R, X, R)) == [
        "【单项回落】level已回落。毛坑山塘预警降为蓝色，险情未除。"
    ]
    # both lifted in one instant, the first while the other still stood: the incident
    # ends with them, so each keeps its own text (its "预警解除")
    t.apply([event(25, "level", "level", Y)])
    out = t.apply(
        [event(30, "level", "level", Y, X, Y), event(30, "rise", "rate_of_rise", B, X, B)]
    )
    assert [a.message_zh for a in out.alerts] == ["【resolved】level", "【resolved】rise"]
    assert [c.change for c in out.changes] == [Change.ALL_CLEAR]
    assert all(EASED not in a.details for a in out.alerts)


def test_a_drill_says_so() -> None:
    t = tracker()
    drill = Status.EXERCISE
    t.apply([event(0, "level", "level", OR, status=drill), event(0, "rise", "rate_of_rise", Y,
                                                                 status=drill)])  # fmt: skip
    out = t.apply([event(5, "rise", "rate_of_rise", Y, X, Y, status=drill)])
    assert out.alerts[0].message_zh == (
        "【演练】【单项回落】rise已回落。毛坑山塘橙色预警仍在持续，险情未除。"
    )
    assert out.alerts[0].message_en == (
        "[EXERCISE] [Condition eased] rise eased. Maokeng pond stays at ORANGE warning; "
        "the danger is not over."
    )


def test_an_event_without_an_eased_clause_keeps_its_text() -> None:
    """Applied twice (a re-read batch), an already worded event is left as it is."""
    t = tracker()
    t.apply([event(0, "level", "level", R), event(0, "rise", "rate_of_rise", OR)])
    done = replace(event(5, "rise", "rate_of_rise", OR, X, OR), details={})
    assert said(t, done) == ["【resolved】rise"]
