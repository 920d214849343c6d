"""The wording stage (notify/stages/wording.py): "升级为…" / "降为…" only to
whoever heard the incident before; anyone else, and every follow-up, reads the
incident as it stands. Notices made by the real tracker over the example config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from msgspec.structs import replace

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.notify.records import Person, Recipient, Village
from floodwatch.notify.routing import Target
from floodwatch.notify.sinks import load_config_dir
from floodwatch.notify.stages.wording import follow_up, heard_of, worded
from floodwatch.rules.compile import compile_config
from floodwatch.rules.incidents.text import notice, rule_names
from floodwatch.rules.incidents.tracker import IncidentTracker

CONFIG = compile_config(load_config_dir("config"))
STATIONS = {s.id: s for s in CONFIG.config.stations}
NAMES = rule_names(list(CONFIG.config.rules))
T0 = datetime(2026, 7, 7, 6, 0, tzinfo=UTC)
WANG = Person("wang", "王强", "+8613800000003", "station.patrol")
VILLAGE = Village("330182104201")
PLACE = "毛坑村毛坑山塘水位311.50米（坝顶312.00米）。"


def level(
    severity: Severity, step: Transition, minute: int, before: Severity | None = None
) -> AlertEvent:
    return AlertEvent(
        id="maokeng-pond:pond-level:1",
        rule="pond-level",
        kind="level",
        station="maokeng-pond",
        station_name=STATIONS["maokeng-pond"].name,
        severity=severity,
        previous_severity=before,
        transition=step,
        ts=T0 + timedelta(minutes=minute),
        episode_start=T0,
        value=311.5,
        threshold=311.4,
        unit="m",
        message_zh="",
        message_en="",
    )


def notices() -> list[AlertEvent]:
    """Yellow raised, escalated to orange, lowered to yellow, all clear."""
    tracker = IncidentTracker(CONFIG.config.stations, CONFIG.config.engine.incidents)
    story = [
        level(Severity.YELLOW, Transition.FIRING, 0),
        level(Severity.ORANGE, Transition.ESCALATED, 5, Severity.YELLOW),
        level(Severity.YELLOW, Transition.DOWNGRADED, 10, Severity.ORANGE),
        level(Severity.YELLOW, Transition.RESOLVED, 15, Severity.YELLOW),
    ]
    out = []
    for event in story:
        (change,) = tracker.apply([event]).changes
        out.append(notice(change, STATIONS, NAMES))
    return out


RAISED, ESCALATED, LOWERED, CLEAR = notices()


def test_heard_of_names_each_destination_and_person_or_village() -> None:
    rows: list[tuple[str, Recipient | None]] = [
        ("sms", WANG),
        ("sms", Person("wang", "王强", "+8613800000003", "town.flood_lead")),  # another role
        ("village", VILLAGE),
        ("bus", None),
    ]
    assert heard_of(rows) == {("sms", "wang"), ("village", "330182104201"), ("bus", "")}
    assert heard_of([]) == set()


def test_who_heard_the_incident_reads_the_change_itself() -> None:
    heard = heard_of([("sms", WANG)])
    told = worded(ESCALATED, Target("sms", WANG), heard)
    assert told is ESCALATED
    assert told.message_zh == "【升级为橙色预警】" + PLACE + "请做好下游群众转移准备，加密巡查。"
    assert told.transition is Transition.ESCALATED and told.previous_severity is Severity.YELLOW


def test_who_hears_it_first_at_an_escalation_reads_it_as_it_stands() -> None:
    told = worded(ESCALATED, Target("sms", WANG), heard=set())
    assert told.message_zh == "【橙色预警】" + PLACE + "请做好下游群众转移准备，加密巡查。"
    assert told.message_en.startswith("[ORANGE warning] Maokeng pond")
    assert "升级" not in told.message_zh and "Raised to" not in told.message_en
    assert told.transition is Transition.FIRING and told.previous_severity is None
    assert (told.id, told.severity) == (ESCALATED.id, Severity.ORANGE)  # same incident, colour


def test_having_heard_on_one_destination_is_not_having_heard_on_another() -> None:
    heard = heard_of([("sms", WANG), ("village", Village("330182104299"))])
    assert worded(ESCALATED, Target("backup_sms", WANG), heard).message_zh.startswith(
        "【橙色预警】"
    )
    box = worded(LOWERED, Target("village", VILLAGE), heard)  # another village's box heard it
    assert (
        box.message_zh
        == "【黄色预警】" + PLACE + "请责任人到岗到位，检查溢洪道和放水涵管是否通畅。"
    )
    assert "降为" not in box.message_zh


def test_a_lowered_incident_reads_as_lowered_only_to_who_heard_it() -> None:
    heard = heard_of([("village", VILLAGE)])
    told = worded(LOWERED, Target("village", VILLAGE), heard)
    assert told.message_zh.startswith("【预警降为黄色】毛坑村毛坑山塘")
    assert told.transition is Transition.DOWNGRADED


def test_a_first_raise_and_an_all_clear_read_the_same_to_everyone() -> None:
    for change in (RAISED, CLEAR):
        assert worded(change, Target("sms", WANG), set()) is change
    assert RAISED.message_zh.startswith("【黄色预警】毛坑村毛坑山塘水位311.50米")
    assert CLEAR.message_zh == "【预警解除】毛坑村毛坑山塘各项监测已恢复正常，预警解除。"


def test_a_follow_up_always_tells_the_incident_as_it_stands() -> None:
    assert follow_up(ESCALATED).message_zh.startswith("【橙色预警】毛坑村毛坑山塘")
    assert follow_up(LOWERED).message_zh.startswith("【黄色预警】毛坑村毛坑山塘")
    assert follow_up(LOWERED).transition is Transition.FIRING
    assert follow_up(RAISED) is RAISED
    assert follow_up(CLEAR) is CLEAR  # an all-clear resent is still an all-clear


def test_an_alert_outside_incidents_is_worded_as_it_is() -> None:
    """A rule's own event (a sensor notice, an operations alert) has no
    incident wording, even if its details carry a `first_contact` key."""
    own = level(Severity.ORANGE, Transition.ESCALATED, 5, Severity.YELLOW)
    odd = replace(own, details={"first_contact": {"zh": "x", "en": "x"}})
    assert worded(own, Target("sms", WANG), set()) is own
    assert follow_up(odd).message_zh == ""
