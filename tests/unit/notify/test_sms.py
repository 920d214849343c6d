"""SMS texts: templates, segments of at most 70 characters, the drill prefix."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.outcome import Outcome
from floodwatch.notify.records import Person
from floodwatch.notify.sinks import load_config_dir
from floodwatch.notify.sms import SmsChannel, SmsDestination, Texts, compose, reply_code
from floodwatch.notify.sms_parts import segments
from floodwatch.replay.run import run_readings
from floodwatch.rules.compile import compile_config
from floodwatch.sim import simulate
from floodwatch.store import Delivery, Outgoing, Store

CONFIG = compile_config(load_config_dir("config"))
STORM = run_readings(CONFIG, simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings)
PERSON = Person("wang-qiang", "王强", "13800000003", "station.patrol")


def row(event: dict[str, object], note: str = "") -> Delivery:
    return Delivery("k", "sms", json.dumps(event, ensure_ascii=False), 0, PERSON, note)


def test_the_default_text_is_the_alert_message_with_the_reply_code() -> None:
    event = next(e for e in STORM.alerts if e.severity.value == "red").to_json()
    text = Texts(None, None).render(row(event), answer=True)
    assert text == f"{event['message_zh']}收到请回复{reply_code(str(event['id']))}。"


def test_engineers_edit_the_template(tmp_path: Path) -> None:
    (tmp_path / "sms.j2").write_text(
        "{{ recipient }}：{{ station }}{{ colour }}预警，{{ '%.2f'|format(value) }}{{ unit_zh }}"
        "{% if minutes_to_crest %}，{{ minutes_to_crest|round|int }}分钟后漫顶{% endif %}。",
        encoding="utf-8",
    )
    event = next(
        e for e in STORM.alerts if e.rule == "pond-overtop" and e.severity.value == "red"
    ).to_json()
    text = Texts("sms.j2", tmp_path).render(row(event), answer=False)
    minutes = round(event["forecast"]["minutes_to_crest"])  # type: ignore[index]
    assert text.startswith("王强：毛坑山塘红色预警，")
    assert "分钟，" in text  # the value of a time-to-crest alert, in Chinese units
    assert text.endswith(f"，{minutes}分钟后漫顶。")


def test_reminders_and_escalations_say_so() -> None:
    event = STORM.alerts[4].to_json()
    texts = Texts(None, None)
    assert texts.render(row(event, "reminder:1"), False).startswith("【提醒·未确认】")
    assert texts.render(row(event, "escalation:2"), False).startswith("【叫应未复·升级报告】")


@given(st.text(min_size=1, max_size=400), st.booleans(), st.integers(1, 5))
def test_segments_fit_the_limit_and_keep_the_drill_prefix(
    body: str, exercise: bool, most: int
) -> None:
    text = ("【演练】" if exercise else "") + body
    parts = segments(text, 70, most)
    assert 1 <= len(parts) <= most
    assert all(len(p) <= 70 for p in parts)
    if exercise:
        assert all(p.startswith("【演练】") for p in parts)
    if len(parts) > 1:
        assert all(f"/{len(parts)})" in p[:12] for p in parts)


def test_a_long_text_is_split_in_order_and_trimmed_beyond_the_last_segment() -> None:
    text = "甲" * 150
    three = segments(text, 70, 3)
    assert [p[:5] for p in three] == ["(1/3)", "(2/3)", "(3/3)"]
    assert "".join(p[5:] for p in three) == text
    trimmed = segments("乙" * 300, 70, 2)
    assert len(trimmed) == 2 and trimmed[-1].endswith("…")


def test_grouped_alerts_go_as_one_numbered_message() -> None:
    texts = [e.message_zh for e in STORM.alerts[:3]]
    message = compose(texts, exercise=False)
    assert message.startswith("【3条预警信息】1.")
    assert "2." in message and "3." in message


def test_a_drill_carries_the_prefix_once_first_and_an_actual_warning_never() -> None:
    drill = compose(["【演练】【红色预警】甲", "【演练】【橙色预警】乙"], exercise=True)
    assert drill.startswith("【演练】【2条预警信息】") and drill.count("【演练】") == 1
    actual = compose([e.message_zh for e in STORM.alerts[:5]], exercise=False)
    assert "演练" not in actual


class Recorder:
    """The provider protocol, recording instead of sending (the gateway itself is
    tested against a real HTTP server in tests/integration)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, phone: str, text: str, key: str) -> Outcome:
        self.sent.append((phone, text, key))
        return Outcome(True)


def test_the_rate_limit_holds_routine_messages_but_never_a_raised_warning(tmp_path: Path) -> None:
    store = Store(tmp_path / "fw.db")
    dest = SmsDestination.model_validate(
        {
            "type": "sms",
            "provider": {"url": "http://127.0.0.1:9/"},
            "rate_limit": {"count": 2, "per": "10m"},
            "group_wait": "0s",
        }
    )
    channel = SmsChannel("sms", dest, store, httpx.AsyncClient(), None)
    channel.provider = recorder = Recorder()
    blue = [e for e in STORM.alerts if e.severity.value in ("blue", "yellow")][:3]
    orange = next(
        e for e in STORM.alerts if e.severity.value == "orange" and e.transition.value == "firing"
    )

    def deliver(event: AlertEvent) -> Outcome:
        with store.transaction():
            store.enqueue([Outgoing(f"k-{event.id}-{event.ts}", "sms", event, recipient=PERSON)])
        sent = asyncio.run(channel.deliver(store.due("sms", time.time() + 1)))
        assert len(sent) == 1
        outcome = sent[0].outcome
        keys = [r.key for r in sent[0].rows]
        if outcome.ok:
            store.delivered(keys, "done")
        elif outcome.held is not None:
            store.hold(keys, outcome.held)  # as the delivery worker does
        return outcome

    assert [deliver(e).ok for e in blue[:2]] == [True, True]
    held = deliver(blue[2])
    assert not held.ok and held.held is not None and held.held > time.time()
    assert deliver(orange).ok  # an orange warning raised: never held
    assert len(recorder.sent) >= 3


class Hanging:
    """A gateway that never answers: each attempt ends in the client's timeout."""

    def __init__(self) -> None:
        self.tries = 0

    async def send(self, phone: str, text: str, key: str) -> Outcome:
        self.tries += 1
        return Outcome(False, retry=True, error="no answer within 5s")


def test_a_failing_gateway_is_tried_once_a_round_not_once_per_waiting_message(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "fw.db")
    dest = SmsDestination.model_validate(
        {"type": "sms", "provider": {"url": "http://127.0.0.1:9/"}, "group_wait": "0s",
         "rate_limit": None, "max_segments": 1}
    )  # fmt: skip
    channel = SmsChannel("sms", dest, store, httpx.AsyncClient(), None)
    channel.provider = hanging = Hanging()
    people = [replace(PERSON, phone=f"1380000000{n}") for n in range(5)]
    event = next(e for e in STORM.alerts if e.severity.value == "red")
    with store.transaction():
        store.enqueue([Outgoing(f"k{n}", "sms", event, recipient=p) for n, p in enumerate(people)])
    sent = asyncio.run(channel.deliver(store.due("sms", time.time() + 1)))
    assert hanging.tries == 1  # one timeout, then the round ends
    assert sorted(k for s in sent for k in (r.key for r in s.rows)) == [f"k{n}" for n in range(5)]
    assert all(s.outcome.retry and s.outcome.error == "no answer within 5s" for s in sent)


def test_a_broken_template_never_keeps_a_warning_from_being_sent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    event = next(e for e in STORM.alerts if e.severity.value == "red").to_json()
    (tmp_path / "typo.j2").write_text("{{ statoin }}水位{{ value }}", encoding="utf-8")
    (tmp_path / "syntax.j2").write_text("{% if %}", encoding="utf-8")
    for name in ("typo.j2", "syntax.j2", "missing.j2"):
        text = Texts(name, tmp_path).render(row(event), answer=False)
        assert text == event["message_zh"]  # the default text
    assert "typo.j2 failed" in caplog.text and "syntax.j2:1" in caplog.text
    assert "missing.j2 unusable" in caplog.text
