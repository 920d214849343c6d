"""Who may publish what, with the real mosquitto running the SHIPPED ACL
(`deploy/mosquitto/floodwatch.acl`; accounts made with mosquitto_passwd): a
gauge writes only its own station's topics and cannot pose as a gateway; a
gateway may report only the stations `service.mqtt.gateways` lists for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from floodwatch.sim import simulate
from tests.integration.services import (
    Floodwatch,
    Mosquitto,
    Subscriber,
    batch_lines,
    service_config,
    wait_for,
)

pytestmark = pytest.mark.integration

LEVEL = '{"kind": "level", "value": 203.8, "ts": "2026-07-07T03:15:00Z"}'


def test_a_gauge_publishes_only_its_own_stations_topics(mosquitto: Mosquitto) -> None:
    watch = Subscriber(mosquitto, "#", user="floodwatch").start()  # what floodwatch would get
    try:
        gauge = "maokeng-pond"
        mosquitto.publish("hydro/xiawu-pond/level", [LEVEL], user=gauge)  # a neighbour's pond
        mosquitto.publish("gateway/maokeng-pond", [f"[{LEVEL}]"], user=gauge)  # as a gateway
        mosquitto.publish("gateway/county-gw", [f"[{LEVEL}]"], user=gauge)  # as the gateway
        mosquitto.publish("floodwatch/broadcast/330182104001", ["<alert/>"], user=gauge)
        mosquitto.publish("hydro/maokeng-pond/level", [LEVEL], user=gauge)  # its own: arrives
        mosquitto.publish("gateway/county-gw", [f"[{LEVEL}]"], user="county-gw")
        wait_for(lambda: len(watch.messages()) >= 2, 10, "the allowed messages")
    finally:
        watch.stop()
    assert [topic for topic, _, _ in watch.messages()] == [
        "hydro/maokeng-pond/level",
        "gateway/county-gw",
    ]


def test_a_gateway_cannot_speak_for_a_station_outside_its_list(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    cfg = service_config(tmp_path, mosquitto.port, idle_advance_after=None)
    service_yaml = cfg / "service.yaml"
    settings = yaml.safe_load(service_yaml.read_text())
    settings["service"]["mqtt"]["gateways"] = {
        "county-gw": ["maokeng-pond", "maokeng-culvert", "maokeng-rain"]
    }
    service_yaml.write_text(yaml.safe_dump(settings))
    storm = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings[:400]
    theirs = [r for r in storm if r.station != "xiawu-pond"]
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    try:
        fw.wait_log("mqtt connected")
        mosquitto.publish("gateway/county-gw", batch_lines(storm), user="county-gw")
        dead = tmp_path / "var" / "dead-letter.jsonl"
        foreign = sum(r.station == "xiawu-pond" for r in storm)
        assert foreign > 0

        def records() -> list[dict[str, object]]:
            if not dead.exists():
                return []
            return [json.loads(line) for line in dead.read_text().splitlines()]

        wait_for(lambda: len(records()) >= foreign, 20, "the dead-letter records")
        assert fw.stop() == 0
    finally:
        fw.kill()
    got = records()
    assert {str(r["reason"]) for r in got} == {"not_allowed"}
    assert len(got) == foreign
    assert all(
        "gateway 'county-gw' may not report station 'xiawu-pond'" in str(r["detail"]) for r in got
    )
    assert readings_taken(tmp_path) == len(theirs)


def readings_taken(workdir: Path) -> int:
    """Readings the service took in (its stats line at shutdown)."""
    log = (workdir / "floodwatch.log").read_text()
    last = [line for line in log.splitlines() if "readings " in line and "rejected" in line][-1]
    return int(last.split("readings ", 1)[1].split(";")[0])
