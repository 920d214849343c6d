"""SL 651 through a real `floodwatch run`, killed with -9 and restarted: the
status word's gauge-fault and over-limit bits become sensor notices; a manual
entry's SL 330 text becomes readings (what is not understood dead-lettered); a
picture is stored in a file and confirmed; and after the restart a report
sent again is confirmed as already stored (no `duplicate` reading), and the
cumulative rain counter (PT) is differenced across the restart."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from floodwatch.ingest.sl651.body import MANUAL, PICTURE, TIMED, Element
from floodwatch.ingest.sl651.rtu import Rtu, RtuIdentity
from tests.integration.services import Floodwatch, free_port, service_config, wait_for, wait_port

pytestmark = pytest.mark.integration
POND = RtuIdentity("0033018201", "1234", "K")
RAIN = RtuIdentity("0033018203", "1234", "P")
GAUGE_FAULT, LEVEL_OVER_LIMIT = 1 << 6, 1 << 2
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


def _events(db: Path) -> list[dict[str, object]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT event FROM transitions ORDER BY ts").fetchall()
    except sqlite3.OperationalError:
        return []
    return [json.loads(r[0]) for r in rows]


def _find(db: Path, rule: str, transition: str) -> list[dict[str, object]]:
    return [e for e in _events(db) if e["rule"] == rule and e["transition"] == transition]


def test_status_manual_entry_picture_and_memory_across_a_kill(tmp_path: Path) -> None:
    port = free_port()
    cfg = service_config(tmp_path, sl651={"listen": f"127.0.0.1:{port}"}, idle_advance_after="1s")
    service = Floodwatch(cfg, tmp_path)
    service.start()
    wait_port(port, timeout=30)
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, second=0, microsecond=0)
    t0 = now - timedelta(minutes=30)
    five = timedelta(minutes=5)
    resend: list[bytes] = []

    async def before() -> None:
        pond = Rtu(POND, "127.0.0.1", port, confirm_timeout=10)
        rain = Rtu(RAIN, "127.0.0.1", port, confirm_timeout=10)
        await rain.report(TIMED, [Element("PT", t0, 100.0)], t0)
        await pond.report(TIMED, [Element("Z", t0, 310.2), Element("ZT", t0, GAUGE_FAULT)], t0)
        at = t0 + five
        frames = pond.build(TIMED, [Element("Z", at, 310.25), Element("ZT", at, 4)], at, 77)
        resend.extend(frames)
        await pond.send(frames, 77)
        await rain.send(rain.build(PICTURE, [], at, 5, picture=JPEG), 5)
        manual = at + timedelta(minutes=2)  # keyed in by an observer, SL 330 text
        text = f"K 00330182 {manual:%m%d%H%M} XX 7 ZU 310.30 NN"
        await pond.report(MANUAL, [Element("RGZS", None, text)], manual + timedelta(minutes=1))
        await pond.close()
        await rain.close()

    asyncio.run(asyncio.wait_for(before(), 60))
    db = tmp_path / "var" / "floodwatch.db"
    wait_for(lambda: bool(_find(db, "sensor-health/over_limit", "firing")), 30, "over-limit")
    fault = _find(db, "sensor-health/gauge_fault", "firing")
    assert [e["station"] for e in fault] == ["maokeng-pond"]
    assert "经遥测终端自检报告故障" in str(fault[0]["message_zh"])
    assert "reported faulty by its telemetry terminal" in str(fault[0]["message_en"])
    assert _find(db, "sensor-health/gauge_fault", "resolved"), "the next good report clears it"
    over = _find(db, "sensor-health/over_limit", "firing")[0]
    assert "310.25米" in str(over["message_zh"]) and "310.25 m" in str(over["message_en"])
    pictures = list((tmp_path / "var" / "sl651-pictures" / "maokeng-rain").iterdir())
    assert [p.read_bytes() for p in pictures] == [JPEG]
    dead = tmp_path / "var" / "dead-letter.jsonl"
    manual_dead = [json.loads(x) for x in dead.read_text().splitlines()]
    assert [(d["reason"], "'XX 7'" in d["detail"]) for d in manual_dead] == [("not_decoded", True)]

    time.sleep(2.5)  # a snapshot (every 2s): the restart takes it up, then the inbox
    service.kill()
    service.start()
    wait_port(port, timeout=30)

    async def after() -> tuple[int, int]:
        pond = Rtu(POND, "127.0.0.1", port, confirm_timeout=10)
        rain = Rtu(RAIN, "127.0.0.1", port, confirm_timeout=10)
        await pond.send(resend, 77)  # the RTU never heard the first confirmation
        t = t0 + 2 * five
        await rain.report(TIMED, [Element("PT", t, 135.0)], t)
        t += five  # a later report moves the watermark past the rain's
        await pond.report(TIMED, [Element("Z", t, 310.3)], t)
        await pond.close()
        await rain.close()
        return pond.resent, rain.resent

    assert asyncio.run(asyncio.wait_for(after(), 60)) == (0, 0)
    # 35 mm since the counter before the restart: over the blue line of 30 mm in 1 h
    wait_for(lambda: bool(_find(db, "rain-accumulation", "firing")), 30, "rain from PT")
    rain_alert = _find(db, "rain-accumulation", "firing")[0]
    assert rain_alert["value"] == pytest.approx(35.0)
    assert service.stop() == 0
    reasons = [json.loads(x)["reason"] for x in dead.read_text().splitlines()]
    assert reasons == ["not_decoded"], "the resend was no duplicate reading"
    assert "sl651: 4 stored reports and 1 rain counters taken up" in service.log.read_text()
