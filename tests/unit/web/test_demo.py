"""`floodwatch.web.demo` on its own: the demo's warning chain (`demo_notify`:
the config directory's own `demo/notify.yaml` or the example's, refused when an
SMS or broadcast destination would really send), the demo's service settings
(no broker, the store in the work directory, the demo accounts), recorded SMS
parts joined into whole messages (`Messages`), and the simulated answer
(`_Reply`): on a real service that ran the storm until the first call, the
first person called answers REPLY_AFTER sweeps later, once, through the
dispatcher, and the board's stream hears of it. `run_demo_board` as a whole
runs in tests/unit/cli/test_demo.py (in process) and tests/web/test_demo.py
(the program)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.record import BoxMessage, SmsPart
from floodwatch.notify.sinks import load_config_dir
from floodwatch.notify.sms import reply_code
from floodwatch.readings import Reading
from floodwatch.service.run import Service
from floodwatch.web.auth import check_password
from floodwatch.web.demo import (
    DEMO_NOTIFY,
    DEMO_USERS,
    EXAMPLE_CONFIG,
    REPLY_AFTER,
    Messages,
    Sms,
    _Reply,
    demo_notify,
    demo_settings,
)
from floodwatch.web.live import Live
from tests.web.conftest import STORM, feed

Setup = tuple[Service, Live, TestClient]
SWEEPS = sorted({r.ts for r in STORM})
UNTIL_CALLED = [r for r in STORM if r.ts <= SWEEPS[70]]  # the first call (orange)
WANG = "13800000003"  # 王强, the pond's patrol: called first


def part(phone: str, text: str) -> SmsPart:
    return SmsPart("sms", phone, text, "k", 0.0)


def test_the_demo_chain_is_the_config_dirs_own_or_the_examples(tmp_path: Path) -> None:
    example = demo_notify()
    assert set(example.destinations) == {"sms", "village", "log"}
    assert demo_notify(tmp_path) == example  # no demo/ of its own: the example's
    own = tmp_path / DEMO_NOTIFY
    own.parent.mkdir()
    text = (EXAMPLE_CONFIG / DEMO_NOTIFY).read_text(encoding="utf-8")
    own.write_text(text.replace("expiry: 6h", "expiry: 3h"), encoding="utf-8")
    assert demo_notify(tmp_path).destinations["village"].expiry.total_seconds() == 3 * 3600


def test_a_demo_chain_that_would_really_send_is_refused(tmp_path: Path) -> None:
    own = tmp_path / DEMO_NOTIFY
    own.parent.mkdir()
    text = (EXAMPLE_CONFIG / DEMO_NOTIFY).read_text(encoding="utf-8")
    own.write_text(
        text.replace(
            "{type: sms, record: true,", '{type: sms, provider: {url: "http://sms-gw.local/send"},'
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"destination 'sms' must be recorded \(record: true\)"):
        demo_notify(tmp_path)
    own.write_text("stations: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"no service\.notify"):
        demo_notify(tmp_path)


def test_the_demo_service_has_no_broker_its_own_store_and_the_demo_accounts(
    tmp_path: Path,
) -> None:
    loaded = load_config_dir("config")
    demo = demo_settings(loaded, tmp_path, 22517)
    service = demo.config.service
    assert (service.mqtt, service.kafka, service.sl651) == (None, None, None)
    assert service.store == str(tmp_path / "floodwatch.db")
    assert service.dead_letter.file == str(tmp_path / "dead-letter.jsonl")
    assert service.idle_advance_after is None
    assert service.http is not None and (service.http.host, service.http.port) == (
        "127.0.0.1",
        22517,
    )
    users = {u.name: u for u in service.http.users}
    assert {n: u.role for n, u in users.items()} == {n: r for n, (r, _) in DEMO_USERS.items()}
    assert check_password("floodwatch", users["duty"].password_hash)
    assert service.notify == demo_notify()
    assert demo.config.stations == loaded.config.stations  # the rest as loaded
    assert loaded.config.service.store != service.store  # the loaded config untouched


def test_sms_parts_are_joined_and_one_text_to_many_is_listed_once() -> None:
    messages = Messages({"1": "王强", "2": "李娜"})
    messages.add(part("1", "(1/2)水位上涨，"))
    assert messages.take() == []  # half a message is not told
    messages.add(part("2", "请到岗"))
    messages.add(part("1", "(2/2)请到岗"))
    messages.add(part("3", "请到岗"))
    messages.add(part("2", "【演练】(1/1)演练消息"))
    assert messages.take() == [Sms(["李娜", "3"], "请到岗"), Sms(["王强"], "水位上涨，请到岗"),
                               Sms(["李娜"], "【演练】演练消息")]  # fmt: skip
    assert messages.take() == []


class Narrator:
    """What the terminal would tell, kept."""

    def __init__(self) -> None:
        self.told: list[tuple[str, Any]] = []

    def alert(self, event: AlertEvent) -> None:
        self.told.append(("alert", event))

    def sweep(self, ts: datetime, readings: list[Reading]) -> None:
        self.told.append(("sweep", ts))

    def sms(self, message: Sms) -> None:
        self.told.append(("sms", message))

    def box(self, message: BoxMessage) -> None:
        self.told.append(("box", message.village))

    def reply(self, at: datetime, name: str, text: str, acknowledged: list[str]) -> None:
        self.told.append(("reply", (at, name, text, acknowledged)))

    def port_taken(self, port: int) -> None:
        self.told.append(("port_taken", port))

    def storm_over(self, url: str | None) -> None:
        self.told.append(("storm_over", url))


def test_the_first_person_called_answers_once_after_a_few_sweeps(setup: Setup) -> None:
    service, live, client = setup
    loop = client.portal
    assert loop is not None and service.dispatcher is not None and service.store is not None
    feed(client, service, UNTIL_CALLED)
    [incident] = loop.call(service.store.people.called)
    code = reply_code(str(incident))
    phones = {p.phone: p.name for p in service.compiled.config.people}
    narrator = Narrator()
    reply = _Reply(service.dispatcher, live, phones, Messages(phones), narrator)
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    live.hub.clients.add(queue)
    box = BoxMessage("village", "330182104201", "毛坑村", "<alert/>", {}, 0.0, 3600.0)
    reply.recorded(box)
    reply.recorded(part("13900000009", "no code here"))
    loop.call(reply.swept, datetime(2026, 7, 7, 5, tzinfo=UTC))  # nobody called yet: nothing
    reply.recorded(part(WANG, f"(1/1)【橙色预警】…收到请回复{code}"))
    reply.recorded(part("13800000004", "…收到请回复1234"))  # the second call: not answered
    assert reply.calls == [(WANG, code)]
    for minute in range(REPLY_AFTER):
        loop.call(reply.swept, datetime(2026, 7, 7, 5, 5 * (minute + 1), tzinfo=UTC))
    assert not any(kind == "reply" for kind, _ in narrator.told)
    loop.call(reply.swept, datetime(2026, 7, 7, 5, 30, tzinfo=UTC))
    replies = [what for kind, what in narrator.told if kind == "reply"]
    assert len(replies) == 1
    _, name, text, acknowledged = replies[0]
    assert name == "王强" and text == f"{code}收到，马上到现场"
    assert acknowledged[0] == incident
    published = [queue.get_nowait() for _ in range(queue.qsize())]
    acks = [json.loads(e["data"]) for e in published if e and e["event"] == "ack"]
    assert {a["id"] for a in acks} == set(acknowledged) and {a["by"] for a in acks} == {"王强"}
    loop.call(reply.swept, datetime(2026, 7, 7, 6, tzinfo=UTC))  # once only
    assert sum(kind == "reply" for kind, _ in narrator.told) == 1
    assert ("box", "330182104201") in narrator.told
    assert loop.call(service.store.people.acks, incident)[0]["by"] == "王强"
