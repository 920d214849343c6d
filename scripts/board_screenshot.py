"""Take the README's screenshot of the board during the demo storm.

    .venv/bin/python scripts/board_screenshot.py [docs/board.png]

Runs `floodwatch demo` with its board on a free port, waits until red alerts
stand, logs in with headless Chromium (Debian's `chromium`; Chinese text
needs `fonts-noto-cjk`) and saves a full-page screenshot.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(out: Path) -> None:
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "floodwatch", "demo", "--speed", "900", "--port", str(port),
         "--stay", "--lang", "zh"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        token = None
        for _ in range(600):
            time.sleep(0.5)
            try:
                if token is None:
                    request = urllib.request.Request(
                        f"{base}/api/login",
                        data=json.dumps({"name": "duty", "password": "floodwatch"}).encode(),
                        headers={"Content-Type": "application/json"},
                    )
                    token = json.load(urllib.request.urlopen(request))["token"]
                request = urllib.request.Request(
                    f"{base}/api/alerts?active=true", headers={"Authorization": f"Bearer {token}"}
                )
                alerts = json.load(urllib.request.urlopen(request))
            except OSError:
                continue
            if sum(a["severity"] == "red" for a in alerts) >= 2 and len(alerts) >= 5:
                break
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(base)
            page.fill("input[name=name]", "duty")
            page.fill("input[name=password]", "floodwatch")
            page.click("button[type=submit]")
            page.wait_for_selector(".alert.red")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out), full_page=True)
            browser.close()
        print(f"saved {out}")
    finally:
        demo.terminate()
        demo.wait(timeout=10)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/board.png"))
