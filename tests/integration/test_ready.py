"""floodwatch says it is running (log line, `/readyz`) only once the MQTT broker
has acknowledged its subscriptions: on a first-ever start the broker keeps
nothing for the session before that, so a gauge that publishes the moment
floodwatch says it runs must lose nothing."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from floodwatch.sim import simulate
from tests.integration.services import (
    PASSWORD,
    Floodwatch,
    Mosquitto,
    batch_lines,
    expected_transitions,
    free_port,
    service_config,
    stored_transitions,
    wait_for,
)

pytestmark = pytest.mark.integration

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings


def _readyz(port: int, timeout: float = 10.0) -> int:
    """The status of GET /readyz (waiting only for the server to listen)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def test_readings_published_the_moment_floodwatch_says_it_runs_are_all_processed(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    http = free_port()
    cfg = service_config(tmp_path, mosquitto.port, http={"port": http})
    gateway = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="county-gw")
    gateway.username_pw_set("county-gw", PASSWORD)
    gateway.connect("127.0.0.1", mosquitto.port)
    gateway.loop_start()
    lines = batch_lines(STORM)
    fw = Floodwatch(cfg, tmp_path)  # a fresh store: no session at the broker yet
    try:
        fw.start()
        deadline = time.monotonic() + 30
        while "floodwatch running" not in fw.log.read_text(errors="replace"):
            assert time.monotonic() < deadline, fw.log.read_text()
            time.sleep(0.001)
        sent = [gateway.publish("gateway/county-gw", line, qos=1) for line in lines]
        assert _readyz(http) == 200
        for info in sent:
            info.wait_for_publish(timeout=30)
        expected = expected_transitions(cfg, STORM)
        db = tmp_path / "var" / "floodwatch.db"
        wait_for(lambda: stored_transitions(db) == expected, 30, "the storm's alerts")
        assert fw.stop() == 0
    finally:
        gateway.loop_stop()
        gateway.disconnect()
        fw.kill()
    log = fw.log.read_text()
    assert f"readings {len(STORM)};" in log, log.splitlines()[-3:]
    assert log.index("subscribed to") < log.index("floodwatch running")
