"""`floodwatch demo --fast --lang zh --stay` end to end: the storm through the
service, the recorded warning chain, the board's API, the terminal in Chinese.

One demo process (about 5 s) for the whole module: what the terminal printed,
then what the board's API says once the storm is over."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.services import free_port

ROOT = Path(__file__).resolve().parents[2]
OVER = "暴雨过程结束"
ROUTED = {
    "王强",
    "李娜",
    "张伟",
    "陈军",
}  # the pond's three responsible persons, the warning officer


@dataclass
class Demo:
    lines: list[str]
    base: str
    headers: dict[str, str]

    def get(self, path: str) -> Any:
        answer = httpx.get(self.base + path, headers=self.headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "floodwatch", "demo", "--fast", "--lang", "zh",
         "--port", str(port), "--stay"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    over = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if OVER in line:
                over.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert over.wait(60), "\n".join(lines)
        base = f"http://127.0.0.1:{port}"
        login = httpx.post(
            f"{base}/api/login", json={"name": "guest", "password": "floodwatch"}, timeout=10
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        yield Demo(lines, base, headers)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(5)
        proc.stdout.close()
    # Ctrl+C after the storm: the summary, in Chinese, and a clean exit
    assert proc.returncode == 0, "\n".join(lines[-5:])
    assert any(line.startswith("共 ") and "条预警事件" in line for line in lines)


def terminal(demo: Demo) -> list[str]:
    """What the demo printed up to the storm-over line, without colours."""
    out = []
    for line in demo.lines:
        out.append(re.sub(r"\x1b\[[0-9;]*m", "", line))
        if OVER in line:
            break
    return out


def test_the_terminal_in_chinese_has_no_english_labels(demo: Demo) -> None:
    port = demo.base.rsplit(":", 1)[1]
    allowed = [
        f"http://127.0.0.1:{port}/",
        str(ROOT / "config"),  # the config directory's path
        "floodwatch",  # the program, and the demo accounts' password
        "duty",  # account names
        "guest",
        "Ctrl+C",
    ]
    for line in terminal(demo):
        rest = line
        for word in allowed:
            rest = rest.replace(word, "")
        assert not re.search(r"[A-Za-z]", rest), line
    text = "\n".join(terminal(demo))
    for label in (
        "短信 →",
        "村广播 毛坑村",
        "回复短信",
        "红色升级",
        "毛坑山塘水位",
        "指挥中心看板",
    ):
        assert label in text


def test_each_routed_person_has_the_sms_the_terminal_showed(demo: Demo) -> None:
    told = demo.get("/api/notifications")
    people = {p["name"]: p for p in told["sms"]}
    assert set(people) - ROUTED <= {"郑磊"}  # the town lead, when the calls have escalated
    shown = [
        line.split("：", 1)[1]
        for line in terminal(demo)
        if line.strip().startswith("短信 → ") and "王强" in line
    ]
    wang = people["王强"]
    assert wang["phone"] == "13800000003" and "巡查责任人" in wang["roles"]
    texts = [m["text"] for m in reversed(wang["messages"])]  # oldest first
    assert texts[: len(shown)] == shown  # (and resends of the unanswered red since)
    for person in people.values():
        for message in person["messages"]:
            assert message["recorded"] and "收到请回复" in message["text"]
            if message["notes"] and message["state"] == "pending":
                continue  # a resend or escalation made this instant, after the storm
            assert message["state"] == "done" and message["sent_at"] >= message["created"]
            assert message["parts"] and all(len(p) <= 70 for p in message["parts"])
    first = wang["messages"][-1]
    # his first message: the incident was yellow (below the SMS route) before it
    # went orange, so he reads an orange warning, not an escalation
    assert first["text"].startswith("【橙色预警】毛坑村毛坑山塘放水涵管疑似堵塞；水位")
    assert [m["text"][:9] for m in reversed(wang["messages"])][1] == "【升级为红色预警】"


def test_one_simulated_reply_answers_the_call(demo: Demo) -> None:
    (call,) = demo.get("/api/notifications")["calls"]
    assert call["incident"] and call["station"] == "maokeng-pond"
    assert {c["name"] for c in call["called"] if c["tier"] == 0} == ROUTED
    (ack,) = {a["by"]: a for a in call["acknowledgements"]}.values()
    assert ack["by"] == "王强" and ack["via"] == "sms"
    assert ack["comment"] == f"{call['reply_code']}收到，马上到现场"
    # raised to red after the answer: called afresh, not answered yet
    assert call["acknowledged"] is None
    assert set(call["unanswered"]) >= ROUTED
    assert any("王强回复短信" in line for line in terminal(demo))


def test_each_village_box_holds_its_current_sentence(demo: Demo) -> None:
    boxes = {b["village_name"]: b for b in demo.get("/api/notifications")["broadcasts"]}
    assert set(boxes) == {"毛坑村", "下坞村"}
    maokeng = boxes["毛坑村"]
    now = maokeng["current"]
    assert now["severity"] == "red" and now["msg_type"] == "Update"
    assert now["text"] == "毛坑村请注意：毛坑山塘已经漫坝，洪水正在漫过坝顶，请立即转移。"
    assert [h["msg_type"] for h in maokeng["history"]] == ["Alert", "Update", "Update"]
    shown = [line.split("：", 1)[1] for line in terminal(demo) if "村广播 毛坑村：" in line]
    assert shown == [h["text"] for h in maokeng["history"]]
    assert boxes["下坞村"]["current"] is None and boxes["下坞村"]["history"] == []


def test_the_alert_timeline_has_the_incident_deliveries(demo: Demo) -> None:
    alerts = demo.get("/api/alerts")
    blocked = next(a for a in alerts if a["rule"] == "culvert-blocked")
    timeline = demo.get(f"/api/alerts/{blocked['id']}")
    people = [d for d in timeline["deliveries"] if d.get("incident")]
    assert {d["recipient"] for d in people if d["destination"] == "sms"} == ROUTED
    assert {d["recipient"] for d in people if d["destination"] == "village"} == {"330182104201"}
    first = [d for d in people if not d["note"]]  # resends may be under way after the storm
    assert first and all(d["state"] == "done" and d["tries"] for d in first)


def test_notifications_need_a_login(demo: Demo) -> None:
    assert httpx.get(demo.base + "/api/notifications", timeout=10).status_code == 401
