"""The wall screen in real headless Chromium (Debian's, driven by Playwright)
against `floodwatch run` fed over real mosquitto, during an overtopping storm:
one incident card for the pond turns red within 2 s of its readings, its
headline changes from the forecast to "已漫坝" when the level passes the crest,
its live level follows each reading within 2 s, the map marker turns red; the
Chinese page shows no ids of the config or the API; the language switch keeps
the live badge; acknowledge it and the escalation stops; a viewer sees no
controls; the page works under its Content-Security-Policy (nothing blocked)."""

from __future__ import annotations

import re
import shutil
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine
from floodwatch.sim import simulate
from floodwatch.web.auth import hash_password
from tests.integration.services import (
    Floodwatch,
    Gateway,
    Mosquitto,
    batch_lines,
    free_port,
    service_config,
    wait_for,
)

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings
RED = next(
    e
    for e in Engine(compile_config(load_config_dir("config"))).process(STORM).alerts
    if e.rule == "pond-overtop" and e.severity.value == "red"
)
BEFORE = [r for r in STORM if r.ts < RED.ts]
THEN = [r for r in STORM if RED.ts <= r.ts <= RED.ts + timedelta(minutes=10)]
LEVELS = [r for r in STORM if r.station == "maokeng-pond" and r.kind == "level"]
OVER = next(r for r in LEVELS if r.value >= 312.0)  # the first reading above the crest
LAST_BELOW = max((r for r in LEVELS if r.ts < OVER.ts), key=lambda r: r.ts)
APPROACH = [r for r in STORM if RED.ts + timedelta(minutes=10) < r.ts < LAST_BELOW.ts]
# what the Chinese page must never show: ids of the config and words of the API
IDS = ["maokeng", "xiawu", "pond-", "rain-", "culvert-", "sensor-health", "firing", "escalated",
       "downgraded", "resolved", "operator", "viewer", "red", "orange", "yellow", "sms",
       "undefined", "null", "NaN"]  # fmt: skip


def leaked(page: Any) -> list[str]:
    """The ids of the config or the API in the page's visible text."""
    text = str(page.locator("body").inner_text()).lower()
    return [word for word in IDS if word.lower() in text]


def at(ts: object) -> list[object]:
    """Every reading of one sweep (all stations at one time)."""
    return [r for r in STORM if r.ts == ts]


def test_a_duty_officer_sees_a_red_alert_live_and_acknowledges_it(
    tmp_path: Path, mosquitto: Mosquitto, gateway: Gateway
) -> None:
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        idle_advance_after=None,
        http={
            "port": port,
            "users": [
                {"name": "刘洋", "role": "operator", "password_hash": hash_password("s3cret")},
                {"name": "访客", "role": "viewer", "password_hash": hash_password("look")},
            ],
        },
        notify={
            "destinations": {
                "sms": {"type": "sms", "provider": {"url": f"{gateway.url}/sms"},
                        "group_wait": "0s", "rate_limit": None},
            },
            "routes": [
                {"to": ["sms"], "min_severity": "red", "rules": ["pond-overtop"],
                 "recipients": ["station.patrol"]},
            ],
            "answer": {"via": ["sms"], "after": "3s", "resends": 1, "severities": ["red"]},
        },
    )  # fmt: skip
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    db = tmp_path / "var" / "floodwatch.db"
    try:
        fw.wait_log("mqtt connected")
        mosquitto.publish("gateway/county-gw", batch_lines(BEFORE), user="county-gw")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            refused: list[str] = []  # what the Content-Security-Policy blocked
            page.on(
                "console",
                lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
            )
            shell = page.goto(f"http://127.0.0.1:{port}/")
            assert (
                shell is not None
                and "frame-ancestors 'none'" in shell.headers["content-security-policy"]
            )
            page.fill("input[name=name]", "刘洋")
            page.fill("input[name=password]", "s3cret")
            page.click("button[type=submit]")
            expect(page.locator("#link.up")).to_be_visible(timeout=10_000)  # live
            expect(page.locator("#who")).to_have_text("刘洋（值班员）")
            cards = page.locator("#incidents article.incident")
            card = page.locator('#incidents article.incident[data-station="maokeng-pond"]')
            red = page.locator('#incidents article.incident[data-severity="red"]')
            assert red.count() == 0
            published = time.monotonic()
            mosquitto.publish("gateway/county-gw", batch_lines(THEN), user="county-gw")
            expect(red).to_be_visible(timeout=2_000)
            seen = time.monotonic() - published
            assert seen < 2.0
            print(f"red incident on the board {seen:.2f} s after its readings were published")
            expect(cards).to_have_count(1)  # one card for the pond, not one per rule
            headline = card.locator(".headline")
            expect(headline).to_contain_text("毛坑山塘 · 红色 · 预计")
            expect(headline).to_contain_text("分钟漫顶")
            # the value at raise in the rule's own phrase, never "26.70分钟"
            expect(card.locator('li[data-rule="pond-overtop"] .raised')).to_contain_text(
                re.compile(r"发布时 预计\d+分钟漫顶")
            )
            marker = page.locator("#map path.station.st-maokeng-pond")
            expect(marker).to_have_class(
                re.compile(r"\bsev-red\b.*\bpulse\b|\bpulse\b.*\bsev-red\b")
            )
            mosquitto.publish("gateway/county-gw", batch_lines(APPROACH), user="county-gw")
            for reading in (LAST_BELOW, OVER):  # each reading: the live level within 2 s
                published = time.monotonic()
                mosquitto.publish(
                    "gateway/county-gw", batch_lines(at(reading.ts)), user="county-gw"
                )
                expect(card.locator(".meta .live-level")).to_have_text(
                    f"{reading.value:.2f}", timeout=2_000
                )
                print(
                    f"live level {reading.value} shown {time.monotonic() - published:.2f} s after"
                )
            expect(headline).to_have_text("毛坑山塘 · 红色 · 已漫坝", timeout=2_000)
            expect(card.locator(".meta")).to_contain_text("高出坝顶")  # not "距坝顶 -0.01"
            # Chinese throughout: no id of the config or the API in the visible text
            assert leaked(page) == [], page.locator("body").inner_text()
            page.click("#lang")  # English, and the live badge stays live
            expect(page.locator("#link.up")).to_have_text("live")
            expect(headline).to_contain_text("OVERTOPPING")
            page.click("#lang")
            expect(page.locator("#link.up")).to_have_text("实时")
            wait_for(lambda: len(gateway.delivered) >= 1, 10, "the call")
            card.locator("button.ack").click()
            page.fill("#ack-form textarea", "已电话联系王强，正在转移")
            page.click("#ack-ok")
            expect(card.locator(".acked")).to_contain_text("刘洋", timeout=5_000)
            acked = time.monotonic()
            # a silence from the card (the incident stays; its notices are held back)
            card.locator("button.silence").click()
            page.fill("#silence-form textarea", "已派人到场")
            page.click("#silence-ok")
            expect(card.locator(".silenced")).to_contain_text("静默中", timeout=5_000)
            expect(card.locator(".silenced")).to_contain_text("已派人到场")
            # a rule's timeline: its transitions, deliveries, the acknowledgement
            card.locator('li[data-rule="pond-overtop"] a.rule-name').click()
            detail = page.locator("#alert-detail")
            expect(detail).to_contain_text("已电话联系王强", timeout=5_000)
            expect(detail).to_contain_text("漫坝预报")
            assert leaked(page) == [], detail.inner_text()
            page.go_back()
            # the station's page (its card, charts and alert history): Chinese throughout
            headline.click()
            expect(page.locator("#station-charts canvas").first).to_be_visible(timeout=5_000)
            expect(page.locator("#station-incident .headline")).to_contain_text("已漫坝")
            assert leaked(page) == [], page.locator("#station").inner_text()
            page.go_back()
            # 通知: who was called, and the acknowledgement that answered for them
            page.click("#nav-notices")
            notices = page.locator("#notices-body")
            expect(notices).to_contain_text("王强", timeout=5_000)
            expect(notices).to_contain_text("刘洋 经指挥台确认")
            assert leaked(page) == [], notices.inner_text()
            page.go_back()
            # a viewer sees the same board and no control at all
            viewer = browser.new_page(viewport={"width": 1920, "height": 1080})
            viewer.goto(f"http://127.0.0.1:{port}/")
            viewer.fill("input[name=name]", "访客")
            viewer.fill("input[name=password]", "look")
            viewer.click("button[type=submit]")
            expect(viewer.locator("#link.up")).to_be_visible(timeout=10_000)
            expect(viewer.locator("#incidents article.incident")).to_have_count(1)
            expect(viewer.locator("#who")).to_have_text("访客（观察员）")
            expect(viewer.locator(".silenced")).to_be_visible()  # sees the silence, cannot end it
            expect(viewer.locator("#incidents button, #others button")).to_have_count(0)
            expect(viewer.locator("#drill-start")).to_be_hidden()
            viewer.close()
            # the service restarts: the page notices, reconnects by itself, still logged in
            fw.stop()
            expect(page.locator("#link.down")).to_be_visible(timeout=10_000)
            fw.start()
            expect(page.locator("#link.up")).to_be_visible(timeout=20_000)
            expect(card.locator(".acked")).to_contain_text("刘洋")
            browser.close()
        assert refused == [], refused  # the page needs nothing the policy forbids
        calls_at_ack = len(gateway.delivered)
        time.sleep(max(0.0, 7 - (time.monotonic() - acked)))  # past a resend and an escalation
        assert fw.stop() == 0
    finally:
        fw.kill()
    assert len(gateway.delivered) == calls_at_ack  # the escalation stopped
    with sqlite3.connect(db) as conn:
        acks = conn.execute("SELECT alert, by, via, comment FROM acks").fetchall()
        [(incident,)] = conn.execute("SELECT id FROM incidents").fetchall()
        state = conn.execute("SELECT state FROM follow WHERE alert = ?", (incident,)).fetchone()
    # the incident (whose call-and-answer it ends) and every alert in it
    assert {row[1:] for row in acks} == {("刘洋", "web", "已电话联系王强，正在转移")}
    assert {incident, RED.id} <= {row[0] for row in acks}
    assert state == ("answered",)
