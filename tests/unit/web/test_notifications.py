"""`floodwatch.web.notifications` (the 通知 view) on a real store, built row by
row: SMS per person (a grouped message once, with every alert it carries; a
resend its own message; other destinations and non-person rows left out; the
recorded text joined from its parts; newest first), calls (who at which
tier, who answered, the acknowledgement; an alert without a station), and
each village box's current broadcast (expired or cleared: none)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from floodwatch.config.notify import NotifySettings
from floodwatch.notify.record import BoxMessage, Recorder, SmsPart
from floodwatch.notify.records import Outgoing, Person, Village
from floodwatch.notify.sinks import load_config_dir
from floodwatch.notify.sms import reply_code
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.store import Store
from floodwatch.web.demo import demo_notify
from floodwatch.web.notifications import broadcasts, calls, notifications, sms
from tests.unit.store.events import event

WANG = Person("wang-qiang", "王强", "13800000003", "station.patrol")
LI = Person("li-na", "李娜", "13800000004", "person")
POND = "maokeng-pond:pond-level:1"
RAIN = "maokeng-rain:rain-accumulation:1"


@pytest.fixture(scope="module")
def compiled() -> CompiledConfig:
    return compile_config(load_config_dir("config"))


@pytest.fixture(scope="module")
def settings() -> NotifySettings:
    return demo_notify()  # sms, village (broadcast), log (console)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = Store(tmp_path / "floodwatch.db")
    yield made
    made.close()


def out(key: str, destination: str, alert: str, who: object = None, note: str = "") -> Outgoing:
    return Outgoing(key, destination, event(alert), who, note)  # type: ignore[arg-type]


def test_without_a_warning_chain_there_is_nothing_to_show(
    store: Store, compiled: CompiledConfig
) -> None:
    assert notifications(store, None, compiled) == {"sms": [], "calls": [], "broadcasts": []}


def test_a_quiet_chain_shows_its_boxes_empty(
    store: Store, settings: NotifySettings, compiled: CompiledConfig
) -> None:
    told = notifications(store, settings, compiled)
    assert told["sms"] == [] and told["calls"] == []
    assert [(b["village"], b["current"]) for b in told["broadcasts"]] == [
        ("330182104201", None), ("330182104202", None)]  # fmt: skip


def test_sms_per_person_a_grouped_message_once_newest_first(
    store: Store, settings: NotifySettings
) -> None:
    with store.transaction():
        store.enqueue([
            out("k1", "sms", POND, WANG),
            out("k2", "sms", RAIN, WANG),  # grouped with k1 below
            out("k3", "sms", POND, LI),
            out("k4", "log", POND),  # a machine destination
            out("k5", "village", POND, Village("330182104201")),  # a box, not a person
        ])  # fmt: skip
    store.set_batch(["k1", "k2"], "b1")
    time.sleep(0.01)
    with store.transaction():
        store.enqueue([out("k6", "sms", POND, WANG, note="resend:1")])
    recorder = Recorder()
    for n, text in enumerate(["(1/2)毛坑山塘橙色", "(2/2)预警"], start=1):
        recorder.add(SmsPart("sms", WANG.phone, text, f"b1-{n}", time.time()))
    people = sms(store, settings, recorder)
    assert [p["person"] for p in people] == ["li-na", "wang-qiang"]  # by id
    li, wang = people
    assert li["roles"] == [] and wang["roles"] == [WANG.role_zh] and WANG.role_zh
    assert wang["phone"] == "13800000003" and wang["name"] == "王强"
    resend, grouped = wang["messages"]  # newest first
    assert resend["key"] == "k6" and resend["notes"] == ["resend"] and resend["text"] is None
    assert grouped["key"] == "b1" and grouped["alerts"] == [POND, RAIN]
    assert grouped["parts"] == ["(1/2)毛坑山塘橙色", "(2/2)预警"]
    assert grouped["text"] == "毛坑山塘橙色预警"
    assert grouped["state"] == "pending" and grouped["attempts"] == 0
    assert grouped["recorded"] is True and grouped["sent_at"] is None
    assert [m["key"] for m in li["messages"]] == ["k3"]
    later = sms(store, settings, None, since=grouped["created"] + 0.005)
    assert [m["key"] for p in later for m in p["messages"]] == ["k6"]


def test_calls_say_who_was_called_who_answered_and_the_acknowledgement(
    store: Store, compiled: CompiledConfig
) -> None:
    ledger = store.people
    with store.transaction():
        store.record([event(POND)])
        ledger.record_call(POND, WANG, 0, 100.0)
        ledger.record_call(POND, LI, 1, 200.0)
        ledger.start_follow(POND, "orange", 100.0, 300.0)
        ledger.answer(LI.person, 250.0, POND)
        ledger.record_call("gone:rule:1", WANG, 0, 300.0)  # no transition stored
    [pond, gone] = calls(store, compiled)
    assert pond["alert"] == POND and pond["incident"] is False
    assert pond["station"] == "maokeng-pond" and pond["station_name"] == "毛坑山塘"
    assert pond["severity"] == "orange" and pond["state"] == "calling"
    assert pond["reply_code"] == reply_code(POND)
    assert [(c["name"], c["tier"], c["answered_at"]) for c in pond["called"]] == [
        ("王强", 0, None), ("李娜", 1, 250.0)]  # fmt: skip
    assert pond["called"][0]["role"] == WANG.role_zh and pond["called"][1]["role"] == "person"
    assert pond["unanswered"] == ["王强"] and pond["acknowledged"] is None
    with store.transaction():
        ledger.acknowledge(POND, "刘洋", "web", "已电话联系", time.time())  # after it fired
    [pond, _] = calls(store, compiled)
    assert pond["unanswered"] == [] and pond["acknowledged"]["by"] == "刘洋"
    assert gone["station"] is None and gone["station_name"] is None and gone["severity"] is None


def test_each_village_box_shows_what_it_holds_now(
    store: Store, settings: NotifySettings, compiled: CompiledConfig
) -> None:
    topic = settings.destinations["village"].json_topic  # type: ignore[union-attr]
    now = 1_000_000.0
    twin = {"text": "毛坑山塘橙色预警", "severity": "Severe", "msgType": "Alert",
            "responseType": "Prepare", "station": "maokeng-pond", "alert": POND}  # fmt: skip
    with store.transaction():
        store.people.retained_sent(
            topic.format(village_code="330182104201"), json.dumps(twin).encode(), now + 60
        )
        store.people.retained_sent(topic.format(village_code="330182104202"), b"", now + 60)
    recorder = Recorder()
    recorder.add(BoxMessage("village", "330182104201", "毛坑村", "<alert/>", twin, 5.0, now + 60))
    recorder.add(BoxMessage("other", "330182104201", "毛坑村", "<alert/>", twin, 6.0, now + 60))
    boxes = broadcasts(store, settings, compiled, recorder, now)
    assert [(b["destination"], b["village"], b["village_name"]) for b in boxes] == [
        ("village", "330182104201", "毛坑村"), ("village", "330182104202", "下坞村")]  # fmt: skip
    maokeng, xiawu = boxes
    assert maokeng["current"]["text"] == "毛坑山塘橙色预警"
    assert (
        maokeng["current"]["msg_type"] == "Alert" and maokeng["current"]["expires_at"] == now + 60
    )
    assert maokeng["history"] == [{"at": 5.0, "msg_type": "Alert", "severity": "Severe",
                                   "text": "毛坑山塘橙色预警"}]  # fmt: skip
    assert xiawu["current"] is None and xiawu["history"] == []  # cleared (empty retained)
    expired = broadcasts(store, settings, compiled, None, now + 61)
    assert [b["current"] for b in expired] == [None, None]
    assert all(b["history"] == [] for b in expired)
