"""Make the wall screen's screenshots (README, docs/command-center.md) during
the demo storm.

    .venv/bin/python scripts/board_screenshot.py [docs]

Runs `floodwatch demo` with its board on a free port, logs in with headless
Chromium (Debian's `chromium`; Chinese text needs `fonts-noto-cjk`) in wall
mode at 1920×1080 and 3840×2160, waits until the pond's incident is red with
a forecast time to crest, and saves
- `board-1080p.png` and `board-2160p.png`: the board at that moment,
- `station-1080p.png`: the pond's page (level chart with its lines and the
  forecast ahead of the last reading),
- `board-overtopping-1080p.png`: the board once the dam is overtopping.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(base: str, path: str, token: str | None = None, body: object = None) -> Any:
    request = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.load(answer)


def pond(base: str, token: str) -> dict[str, Any] | None:
    for incident in get(base, "/api/incidents", token):
        if incident["station"] == "maokeng-pond":
            return incident  # type: ignore[no-any-return]
    return None


def wait_for(base: str, token: str, want: str, limit_s: float = 600) -> None:
    """Until the pond's incident is red with a forecast (`forecast`) or overtopping."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = pond(base, token)
        if found is not None and found["severity"] == "red":
            live = found["live"]
            minutes = [f.get("minutes_to_crest") for f in live.get("forecasts", {}).values()]
            if want == "overtopping" and live.get("overtopping"):
                return
            if want == "forecast" and any(m is not None and m > 15 for m in minutes):
                return
        time.sleep(0.2)
    raise SystemExit(f"the demo did not reach {want} within {limit_s} s")


def open_board(browser: Any, base: str, width: int, height: int) -> Page:
    page: Page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(base + "/")
    page.fill("input[name=name]", "duty")
    page.fill("input[name=password]", "floodwatch")
    page.click("button[type=submit]")
    page.wait_for_selector("#link.up")
    page.goto(base + "/?wall=1")  # logged in (the token is kept): the wall mode
    page.wait_for_selector("#link.up")
    return page


def main(out: Path) -> None:
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "floodwatch", "demo", "--speed", "300", "--port", str(port),
         "--stay", "--lang", "zh"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        token = None
        for _ in range(120):
            time.sleep(0.5)
            try:
                token = get(base, "/api/login", body={"name": "duty", "password": "floodwatch"})[
                    "token"
                ]
                break
            except OSError:
                continue
        assert token is not None, "the demo's board did not answer"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            small = open_board(browser, base, 1920, 1080)
            large = open_board(browser, base, 3840, 2160)
            chart = open_board(browser, base, 1920, 1080)
            wait_for(base, token, "forecast")
            time.sleep(1.5)  # one stations event and one incident reload
            small.screenshot(path=str(out / "board-1080p.png"))
            large.screenshot(path=str(out / "board-2160p.png"))
            chart.evaluate("location.hash = '#station/maokeng-pond'")
            chart.wait_for_selector("#station-charts canvas")
            chart.wait_for_timeout(500)
            chart.screenshot(path=str(out / "station-1080p.png"), full_page=True)
            wait_for(base, token, "overtopping")
            time.sleep(1.5)
            small.screenshot(path=str(out / "board-overtopping-1080p.png"))
            browser.close()
        print(f"saved the screenshots in {out}")
    finally:
        demo.terminate()
        demo.wait(timeout=10)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
