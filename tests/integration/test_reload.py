"""Hot reload of the config directory while readings stream in over MQTT."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import ts_to_ms
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine
from floodwatch.sim import simulate
from tests.integration.services import (
    Floodwatch,
    Key,
    Mosquitto,
    batch_lines,
    key,
    service_config,
    wait_for,
)

pytestmark = pytest.mark.integration

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings
RED = "red:    {enter: crest - 0.2}"


def _stored(db: Path) -> list[dict[str, object]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return [json.loads(r[0]) for r in conn.execute("SELECT event FROM transitions")]


def test_an_invalid_edit_keeps_the_old_config_and_a_lowered_threshold_fires_once(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    cfg = service_config(tmp_path, mosquitto.port, idle_advance_after=None)
    old = compile_config(load_config_dir(cfg))
    half = len(STORM) // 2
    first, rest = STORM[:half], STORM[half:]
    db = tmp_path / "var" / "floodwatch.db"
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    try:
        fw.wait_log("mqtt connected")
        mosquitto.publish("gateway/county-gw", batch_lines(first), user="county-gw")
        engine = Engine(old)
        before = sorted(key(e.to_json()) for e in engine.process(first).alerts)
        wait_for(lambda: sorted(key(e) for e in _stored(db)) == before, 30, "first half stored")
        active = {a.id for a in engine.active_alerts()}
        assert active, "the storm should have alerts active at half time"

        # 1. An invalid edit (red below orange): the old config keeps running,
        #    and an info operations alert names the file and line.
        rules = cfg / "rules.yaml"
        good = rules.read_text()
        assert RED in good
        rules.write_text(good.replace(RED, "red:    {enter: crest - 0.9}"))
        fw.wait_log("config reload failed")
        log = fw.log.read_text()
        line = good.splitlines().index(next(x for x in good.splitlines() if RED in x)) + 1
        assert f"{rules}:{line}:" in log and "must be above orange" in log
        # the log line comes before the operations alert is stored
        wait_for(
            lambda: any(e["rule"] == "floodwatch/config" for e in _stored(db)),
            10,
            "operations alert stored",
        )
        ops = [e for e in _stored(db) if e["rule"] == "floodwatch/config"]
        assert [(e["severity"], e["transition"]) for e in ops] == [("info", "firing")]
        assert f"rules.yaml:{line}" in str(ops[0]["message_en"])

        # 2. Fixed again: reloaded, the operations alert resolves.
        rules.write_text(good)
        fw.wait_log("config reloaded from", count=1)
        wait_for(
            lambda: len([e for e in _stored(db) if e["rule"] == "floodwatch/config"]) == 2,
            10,
            "operations alert resolved",
        )

        # 3. A valid edit lowering a threshold: Xiawu's flood limit 204.2 -> 203.7,
        #    below the 203.8 it sits at.
        stations = cfg / "stations.yaml"
        stations.write_text(
            stations.read_text().replace("flood_limit: 204.2", "flood_limit: 203.7")
        )
        fw.wait_log("config reloaded from", count=2)
        log = fw.log.read_text()
        assert "threshold moved: pond-level at xiawu-pond, blue: enter 204.2" in log
        new = compile_config(load_config_dir(cfg))
        mosquitto.publish("gateway/county-gw", batch_lines(rest), user="county-gw")

        after_engine = engine.carry_over(new)
        after = sorted(key(e.to_json()) for e in after_engine.process(rest).alerts)
        expected = sorted(before + after)
        wait_for(
            lambda: (
                sorted(key(e) for e in _stored(db) if e["rule"] != "floodwatch/config") == expected
            ),
            30,
            "second half stored",
        )
        assert fw.stop() == 0
    finally:
        fw.kill()
    # The new alert fired on Xiawu's first reading after the change …
    xiawu = [k for k in after if k[0] == "pond-level" and "xiawu-pond" in k[1]]
    first_xiawu = next(r for r in rest if r.station == "xiawu-pond")
    assert xiawu[0][2:4] == ("firing", "blue")
    assert xiawu[0][4] == first_xiawu.to_json()["ts"]
    # … and nothing active before the change was announced again.
    stored = [key(e) for e in _stored(db)]
    assert len(stored) == len(set(stored))
    announced = [
        line for line in fw.log.read_text().splitlines() if " floodwatch.service: alert " in line
    ]
    assert len(announced) == len(stored)
    refired: list[Key] = [k for k in after if k[1] in active and k[2] == "firing"]
    assert refired == []
    assert ts_to_ms(first_xiawu.ts) > 0
