"""Per-incident dispatch on a fake clock: one notice per incident change, one
reply code per incident, everyone told hears the all-clear (escalation
included), escalation tiers skip people already called, silences hold back
people only, a lost gauge calls the technical and patrol persons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.config.notify import AnswerPolicy
from floodwatch.notify.dispatch import Dispatcher
from floodwatch.notify.records import Person
from floodwatch.notify.routing import Router, Target
from floodwatch.notify.sinks import load_config_dir, notify_settings
from floodwatch.notify.sms import reply_code
from floodwatch.notify.stages.follow import escalation, merge
from floodwatch.rules.compile import compile_config
from floodwatch.rules.incidents.tracker import IncidentTracker
from floodwatch.service.incidents import record_step
from floodwatch.store import Store

CONFIG = compile_config(load_config_dir("config"))
T = 1_800_000_000.0
T0 = datetime(2026, 7, 7, 6, 0, tzinfo=UTC)
SETTINGS = {
    "destinations": {
        "sms": {"type": "sms", "provider": {"url": "http://127.0.0.1:9/"}},
        "village": {"type": "broadcast"},
        "bus": {"type": "console"},
    },
    "routes": [
        {
            "to": ["sms"],
            "min_severity": "orange",
            "station_types": ["pond"],
            "recipients": ["station.patrol", "station.technical", "village.warning_officer"],
        },
        {"to": ["village"], "min_severity": "orange"},
        {"to": ["bus"]},
    ],
    "answer": {"via": ["sms"], "after": "5m", "resends": 0},
}
KINDS = {"pond-level": "level", "pond-overtop": "time_to_crest", "pond-freeboard": "freeboard",
         "rain-accumulation": "rainfall", "sensor-health/stale": "sensor_health"}  # fmt: skip


def alert(
    minute: int,
    rule: str,
    severity: Severity,
    transition: Transition = Transition.FIRING,
    station: str = "maokeng-pond",
) -> AlertEvent:
    kind = KINDS[rule]
    return AlertEvent(
        id=f"{station}:{rule}",
        rule=rule,
        kind=kind,
        station=station,
        station_name=CONFIG.stations[station].model.name,
        severity=severity,
        previous_severity=None,
        transition=transition,
        ts=T0 + timedelta(minutes=minute),
        episode_start=T0,
        value=311.9 if kind == "level" else 0.1,
        threshold=311.8,
        unit="m",
        forecast={"minutes_to_crest": 20.0} if kind == "time_to_crest" else None,
        message_zh="",
        message_en="",
        details={"check": "stale"} if kind == "sensor_health" else {},
    )


class Desk:
    """A dispatcher with its tracker, fed like the service feeds it."""

    def __init__(self, path: Path, settings: dict[str, object] = SETTINGS) -> None:
        self.store = Store(path / "fw.db")
        self.d = Dispatcher(Router(notify_settings(settings), CONFIG), self.store)
        self.tracker = IncidentTracker(CONFIG.config.stations, CONFIG.config.engine.incidents)

    def feed(self, now: float, *events: AlertEvent) -> None:
        with self.store.transaction():
            step = record_step(
                self.store.incidents,
                self.store.record,
                self.tracker,
                CONFIG.config,
                list(events),
                now,
            )
            self.d.dispatch(step.alerts, now, step.changes, step.notices)

    def incident(self) -> str:
        return str(self.store.db.execute("SELECT id FROM incidents").fetchone()[0])

    def rows(self, destination: str = "sms", state: str = "pending") -> list[dict[str, object]]:
        return [
            r
            for r in self.store.outbox()
            if r["destination"] == destination and r["state"] == state
        ]

    def sms(self, state: str = "pending") -> list[tuple[str, str, str]]:
        """(person, note, change) of sms rows."""
        out = []
        for r in self.store.deliveries():
            if r.destination != "sms" or r.key not in {k["key"] for k in self.rows(state=state)}:
                continue
            body = json.loads(r.event)
            out.append((r.person.name, r.note, body["details"]["change"]))
        return out


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    return Desk(tmp_path)


def test_one_notice_per_incident_change_not_per_alert(desk: Desk) -> None:
    desk.feed(T, alert(0, "pond-level", Severity.ORANGE))
    desk.feed(T + 1, alert(1, "pond-freeboard", Severity.ORANGE))  # same severity: no notice
    desk.feed(T + 2, alert(2, "pond-overtop", Severity.RED), alert(2, "pond-level", Severity.RED))
    people = ["王强", "李娜", "陈军"]
    assert [(p, c) for p, _, c in desk.sms()] == [(p, "raised") for p in people] + [
        (p, "escalated") for p in people
    ]
    # every transition reaches the machine destination
    assert len(desk.rows("bus")) == 4
    # one reply code: the incident's
    bodies = {
        json.loads(str(r.event))["id"] for r in desk.store.deliveries() if r.destination == "sms"
    }
    assert bodies == {desk.incident()}


def test_answering_the_incident_code_acknowledges_every_alert_in_it(desk: Desk) -> None:
    desk.feed(T, alert(0, "pond-level", Severity.RED), alert(0, "pond-overtop", Severity.RED))
    code = reply_code(desk.incident())
    done = desk.d.reply("13800000003", f"收到{code}", T + 60)
    assert set(done) == {desk.incident(), "maokeng-pond:pond-level", "maokeng-pond:pond-overtop"}
    assert all(desk.d.ledger.acknowledged(a) for a in done)
    assert desk.d.follow_up(T + 3600) == 0  # no escalation


def test_everyone_who_heard_the_red_hears_the_all_clear_including_escalation(desk: Desk) -> None:
    desk.feed(T, alert(0, "pond-overtop", Severity.RED))
    assert desk.d.follow_up(T + 300) == 1  # the village officer is on the route: skipped
    assert desk.sms()[-1][:2] == ("郑磊", "escalation:2")  # straight to the town lead
    desk.feed(T + 400, alert(30, "pond-overtop", Severity.RED, Transition.RESOLVED))
    clear = [p for p, note, change in desk.sms() if change == "all_clear"]
    assert sorted(clear) == sorted(["王强", "李娜", "陈军", "郑磊"])
    assert len(clear) == len(set(clear))  # once each


def test_a_silence_holds_back_people_but_machines_get_every_transition_marked(desk: Desk) -> None:
    with desk.store.transaction():
        desk.d.ledger.add_silence(
            starts=T - 1, ends=T + 600, author="李工", reason="检修", stations=["maokeng-rain"]
        )
    desk.feed(T, alert(0, "rain-accumulation", Severity.ORANGE, station="maokeng-rain"))
    bus = desk.rows("bus")
    assert len(bus) == 1
    sent = [json.loads(r.event) for r in desk.store.deliveries() if r.destination == "bus"]
    assert sent[0]["silenced"] is True and sent[0]["incident"] == desk.incident()
    assert desk.rows("village") == [] and desk.rows("village", "silenced")


def test_a_gauge_lost_during_an_orange_warning_calls_technical_and_patrol(desk: Desk) -> None:
    desk.feed(T, alert(0, "pond-level", Severity.ORANGE))
    before = len(desk.sms())
    desk.feed(T + 600, alert(10, "sensor-health/stale", Severity.INFO))
    lost = desk.sms()[before:]
    assert sorted(p for p, _, _ in lost) == ["李娜", "王强"]
    assert {c for _, _, c in lost} == {"lost_observation"}
    text = json.loads(str(desk.store.deliveries()[-1].event))["message_zh"]
    assert "毛坑山塘水位计失联，当前橙色预警，请巡查责任人立即到现场人工观测" in text
    called = {c.recipient.name for c in desk.d.ledger.calls(desk.incident())}
    assert {"李娜", "王强"} <= called
    # the level alert resolving does not clear the incident while the gauge is silent
    desk.feed(T + 900, alert(15, "pond-level", Severity.ORANGE, Transition.RESOLVED))
    assert desk.store.incidents.notice(desk.incident()) is not None


def test_escalation_passes_over_tiers_whose_people_were_all_called() -> None:
    policy = AnswerPolicy.model_validate({"via": ["sms"], "resends": 1})
    a, b = Person("a", "A", "1", "x"), Person("b", "B", "2", "y")
    tiers = {1: [a], 2: [b]}
    assert escalation(1, policy, {"a"}, tiers.__getitem__) == ("resend", 1, [])
    assert escalation(2, policy, {"a"}, tiers.__getitem__) == ("escalation", 3, [b])
    assert escalation(2, policy, {"a", "b"}, tiers.__getitem__)[0] == "unanswered"


def test_targets_are_merged_by_destination_and_person_whatever_the_role() -> None:
    one = Target("sms", Person("p", "P", "1", "station.patrol"))
    two = Target("sms", Person("p", "P", "1", "town.flood_lead"))
    assert merge([one], [two, Target("bus")]) == [one, Target("bus")]


def test_an_alert_raised_in_a_standing_incident_reaches_only_people_not_told_yet(
    tmp_path: Path,
) -> None:
    settings = {
        "destinations": {
            "sms": {"type": "sms", "provider": {"url": "http://127.0.0.1:9/"}},
            "village": {"type": "broadcast"},
        },
        "routes": [
            {"to": ["sms"], "min_severity": "red", "recipients": ["station.patrol"]},
            {"to": ["village"], "min_severity": "red", "rules": ["pond-overtop"]},
        ],
    }
    desk = Desk(tmp_path, settings)
    desk.feed(T, alert(0, "rain-accumulation", Severity.RED, station="maokeng-rain"))
    desk.feed(T + 1, alert(1, "pond-level", Severity.RED))
    assert [p for p, _, _ in desk.sms()] == ["王强"]  # told once (the level adds no news)
    assert desk.rows("village") == []  # the village route waits for the time to crest
    desk.feed(T + 2, alert(2, "pond-overtop", Severity.RED))
    village = [
        json.loads(str(r.event)) for r in desk.store.deliveries() if r.destination == "village"
    ]
    assert len(village) == 1 and village[0]["message_zh"].startswith("【红色预警】")
    assert [p for p, _, _ in desk.sms()] == ["王强"]  # the patrol heard the red already


def test_floodwatch_alerts_incidents_prints_them_with_their_alerts(desk: Desk) -> None:
    from click.testing import CliRunner

    from floodwatch.cli.app import main

    desk.feed(T, alert(0, "pond-level", Severity.ORANGE))
    desk.feed(T + 1, alert(1, "rain-accumulation", Severity.RED, station="maokeng-rain"))
    out = CliRunner().invoke(main, ["alerts", "--store", str(desk.store.path), "--incidents",
                                    "--active"])  # fmt: skip
    assert out.exit_code == 0, out.output
    [incident] = [json.loads(line) for line in out.output.splitlines()]
    assert incident["severity"] == "red" and incident["station"] == "maokeng-pond"
    assert {a["station"] for a in incident["alerts"]} == {"maokeng-pond", "maokeng-rain"}
    plain = CliRunner().invoke(main, ["alerts", "--store", str(desk.store.path), "--active"])
    assert {json.loads(line)["incident"] for line in plain.output.splitlines()} == {incident["id"]}


def test_an_overtopping_storm_is_one_incident_and_one_message_per_change_per_person(
    tmp_path: Path,
) -> None:
    """floodwatch simulate --scenario blocked through the example config."""
    from floodwatch.rules.engine import Engine
    from floodwatch.sim import simulate

    storm = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings
    desk = Desk(tmp_path)
    for i, event in enumerate(Engine(CONFIG).process(storm).alerts):
        desk.feed(T + i, event)
    [incident] = [r[0] for r in desk.store.db.execute("SELECT id FROM incidents")]
    rows = [(r.person.name, json.loads(r.event)) for r in
            desk.store.deliveries() if r.destination == "sms"]  # fmt: skip
    assert {e["id"] for _, e in rows} == {incident}
    per_person: dict[str, list[tuple[str, str, str]]] = {}
    for name, e in rows:
        per_person.setdefault(name, []).append((e["transition"], e["severity"], e["ts"]))
    changes = desk.store.db.execute("SELECT count(*) FROM incident_changes").fetchone()[0]
    for name, got in per_person.items():
        assert len(got) == len(set(got)) <= changes, name  # one message per change at most
    assert {"王强", "李娜", "陈军"} <= set(per_person)


def test_people_are_reminded_of_the_incident_not_of_each_alert(tmp_path: Path) -> None:
    settings = {
        "destinations": {"sms": {"type": "sms", "provider": {"url": "http://127.0.0.1:9/"}}},
        "routes": [{"to": ["sms"], "min_severity": "orange", "recipients": ["station.patrol"],
                    "remind_every": "30m"}],
    }  # fmt: skip
    desk = Desk(tmp_path, settings)
    desk.feed(
        T, alert(0, "pond-level", Severity.ORANGE), alert(0, "pond-freeboard", Severity.ORANGE)
    )
    desk.d.follow_up(T + 1)
    desk.d.follow_up(T + 1802)
    assert [(p, note) for p, note, _ in desk.sms()] == [("王强", ""), ("王强", "reminder:1")]
    with desk.store.transaction():
        desk.d.acknowledge(desk.incident(), "值班员", "web", "", T + 1900)
    assert desk.d.follow_up(T + 3700) == 0


def test_people_a_silence_held_back_hear_the_standing_incident_when_it_ends(
    desk: Desk,
) -> None:
    with desk.store.transaction():
        silence = desk.d.ledger.add_silence(
            starts=T - 1, ends=T + 3600, author="李工", reason="检修", stations=["maokeng-pond"]
        )
    desk.feed(T, alert(0, "pond-overtop", Severity.RED))
    assert desk.sms() == [] and len(desk.sms("silenced")) == 3
    assert desk.d.follow_up(T + 60) == 0  # still silenced
    with desk.store.transaction():
        desk.d.ledger.end_silence(silence.id, T + 120)
    assert desk.d.follow_up(T + 121) == 4  # three people and the village loudspeaker
    assert sorted((p, n) for p, n, _ in desk.sms()) == [
        ("李娜", "unsilenced"),
        ("王强", "unsilenced"),
        ("陈军", "unsilenced"),
    ]
    assert desk.d.follow_up(T + 122) == 0  # once


def test_someone_first_told_at_an_escalation_reads_a_warning_not_an_escalation(
    desk: Desk,
) -> None:
    """The SMS and village routes start at orange: the yellow incident reaches
    nobody, so its escalation to orange is everyone's first message and must
    read "【橙色预警】", a CAP Alert; the later red is an escalation to them."""
    from zoneinfo import ZoneInfo

    from floodwatch.notify.cap import Village, build

    def sent(destination: str) -> list[dict[str, object]]:
        return [
            json.loads(str(r.event))
            for r in desk.store.deliveries()
            if r.destination == destination
        ]

    desk.feed(T, alert(0, "pond-level", Severity.YELLOW))
    assert sent("sms") == [] and sent("village") == []
    desk.feed(T + 1, alert(1, "pond-level", Severity.ORANGE))
    first = sent("sms") + sent("village")
    assert len(first) == 4
    for event in first:
        assert str(event["message_zh"]).startswith("【橙色预警】毛坑村毛坑山塘"), event
        assert "升级" not in str(event["message_zh"]) and event["transition"] == "firing"
        assert str(event["message_en"]).startswith("[ORANGE warning] ")
    cap = build(AlertEvent.from_json(sent("village")[0]), Village("330100001", "毛坑村"),
                sender="fw",
                zone=ZoneInfo("Asia/Shanghai"), expiry=timedelta(hours=6), previous=None,
                crest=312.0, sent_at=T0)  # fmt: skip
    assert cap.msg_type == "Alert" and "<headline>【橙色预警】毛坑山塘</headline>" in cap.xml
    assert cap.json["text"] == "毛坑村请注意：毛坑山塘水位距坝顶0.1米，请做好转移准备。"
    desk.feed(T + 2, alert(2, "pond-overtop", Severity.RED))
    red = [e for e in sent("sms") + sent("village") if e["severity"] == "red"]
    assert len(red) == 4
    assert all(str(e["message_zh"]).startswith("【升级为红色预警】") for e in red)
    # a follow-up tells the incident as it stands: the town lead was never told
    assert desk.d.follow_up(T + 400) == 1
    [escalated] = [json.loads(r.event) for r in desk.store.deliveries()
                   if r.note.startswith("escalation")]  # fmt: skip
    assert str(escalated["message_zh"]).startswith("【红色预警】"), escalated


def test_a_notice_told_first_keeps_its_reply_code_and_figures(desk: Desk) -> None:
    desk.feed(T, alert(0, "pond-level", Severity.YELLOW))
    desk.feed(T + 1, alert(1, "pond-level", Severity.ORANGE))
    [event] = [json.loads(str(r.event)) for r in desk.store.deliveries()
               if r.destination == "sms"][:1]  # fmt: skip
    notice = desk.store.incidents.notice(desk.incident())
    assert notice is not None and notice.transition is Transition.ESCALATED
    assert event["id"] == notice.id and event["details"]["level"] == notice.details["level"]
    assert str(notice.message_zh).startswith("【升级为橙色预警】")  # the record keeps the change
