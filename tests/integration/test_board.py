"""The board in real headless Chromium (Debian's, driven by Playwright) against
`floodwatch run` fed over real mosquitto: log in, a red alert appears within
2 s of its readings, acknowledge it, the escalation stops; the page works under
its Content-Security-Policy (nothing blocked)."""

from __future__ import annotations

import shutil
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

from floodwatch.config import load_config_dir
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
                {"name": "刘洋", "role": "operator", "password_hash": hash_password("s3cret")}
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
            expect(page.locator("#who")).to_have_text("刘洋 (operator)")
            card = page.locator(f'[id="alert-{RED.id}"][data-severity="red"]')
            assert card.count() == 0
            published = time.monotonic()
            mosquitto.publish("gateway/county-gw", batch_lines(THEN), user="county-gw")
            expect(card).to_be_visible(timeout=2_000)
            seen = time.monotonic() - published
            assert seen < 2.0
            print(f"red alert on the board {seen:.2f} s after its readings were published")
            assert "毛坑山塘" in card.inner_text()
            wait_for(lambda: len(gateway.delivered) >= 1, 10, "the call")
            card.locator("button.ack").click()
            page.fill("#ack-form textarea", "已电话联系王强，正在转移")
            page.click("#ack-ok")
            expect(card.locator(".acked")).to_contain_text("刘洋", timeout=5_000)
            acked = time.monotonic()
            # its timeline: the call, its delivery, the acknowledgement
            card.locator("a.where").click()
            detail = page.locator("#alert-detail")
            expect(detail).to_contain_text("已电话联系王强", timeout=5_000)
            expect(detail).to_contain_text("王强")
            page.go_back()
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
    # the alert and its incident, whose call-and-answer it ends
    assert acks == [(a, "刘洋", "web", "已电话联系王强，正在转移") for a in (RED.id, incident)]
    assert state == ("answered",)
