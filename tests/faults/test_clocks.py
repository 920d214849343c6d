"""Gauges with wrong clocks during a storm that ends now: one stamps Beijing
time as UTC (8 h ahead) — the first to report after a cold start, and for the
storm's last hours but one —, another's clock was reset to 2000-01-01 by a battery
swap. Neither may move
the event clock: every reading of theirs is dead-lettered with a reason, and
the store holds exactly `floodwatch replay`'s transitions of the true readings."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from floodwatch.readings import Reading, format_ts
from floodwatch.sim import simulate
from tests.faults.harness import (
    BROADCAST_TOPIC,
    RSS_LIMIT_MB,
    VILLAGE_BROADCAST,
    Gauges,
    Report,
    RssWatch,
    check_broadcasts,
    check_transitions,
    closed,
    dead_letters,
    received,
    replay,
    wait_delivered,
)
from tests.integration.services import (
    Floodwatch,
    Mosquitto,
    Subscriber,
    service_config,
    stored_transitions,
    wait_for,
)

pytestmark = [pytest.mark.faults, pytest.mark.integration]

CLOCK = "clock"  # the rule of the notices about gauges with wrong clocks
AHEAD = timedelta(hours=8)  # Beijing time labelled UTC
RESET = datetime(2000, 1, 1, tzinfo=UTC)  # a battery swap


def _notice_texts(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT event FROM transitions WHERE rule = ?", (CLOCK,)).fetchall()
    return " ".join(json.loads(e)["message_zh"] for (e,) in rows)


def _storm_until_now() -> list[Reading]:
    """The blocked-culvert storm moved in time so that its closing sweep is now."""
    storm = closed(simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    shift = now - max(r.ts for r in storm)
    return [Reading(r.station, r.kind, r.value, r.ts + shift) for r in storm]


def test_gauges_with_wrong_clocks_move_no_clock_and_change_no_alert(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    storm = _storm_until_now()
    start, end = storm[0].ts, storm[-1].ts
    # xiawu-pond's gauge says Beijing time as UTC: its first word after the cold
    # start and its readings from 6 to 1 hours before the end; maokeng-rain reports
    # from 2000-01-01 for 3 hours in the middle of the storm.
    first = Reading("xiawu-pond", "level", 203.8, start - timedelta(minutes=5))
    ahead = {id(first)} | {
        id(r)
        for r in storm
        if r.station == "xiawu-pond" and end - timedelta(hours=6) <= r.ts < end - timedelta(hours=1)
    }
    reset_window = (start + timedelta(hours=8), start + timedelta(hours=11))
    # ... and again in the sweep before the last, when the event clock has
    # caught up with the wall clock (the notice needs a clock on time: the
    # storm is replayed in seconds, so only its end is "now").
    before_last = end - timedelta(minutes=5)
    reset = {
        id(r)
        for r in storm
        if r.station == "maokeng-rain"
        and (reset_window[0] <= r.ts < reset_window[1] or r.ts == before_last)
    }

    def stamp(r: Reading) -> str:
        if r is first:
            return format_ts(datetime.now(UTC) + AHEAD)
        if id(r) in ahead:
            return format_ts(r.ts + AHEAD)
        if id(r) in reset:
            return format_ts(RESET + (r.ts - reset_window[0]))
        return format_ts(r.ts)

    true = [r for r in storm if id(r) not in ahead and id(r) not in reset]
    cfg = service_config(tmp_path, mosquitto.port, notify=VILLAGE_BROADCAST)
    truth = replay(cfg, true, tmp_path / "truth")
    db = tmp_path / "var" / "floodwatch.db"
    fw = Floodwatch(cfg, tmp_path)
    started = time.monotonic()
    fw.start()
    gauges = Gauges(mosquitto, {r.station for r in storm})
    box = Subscriber(mosquitto, BROADCAST_TOPIC).start()
    try:
        with RssWatch(fw) as rss:
            fw.wait_log("mqtt connected")
            gauges.publish([first], stamp)  # the first word after a cold start
            time.sleep(1.0)
            late = next(r for r in storm if id(r) in reset and r.ts == before_last)
            gauges.publish([r for r in storm if r.ts < end and r is not late], stamp)
            # The battery swap: the gauge boots with an empty message, then
            # reports from 2000. Once the boot message is dead-lettered, the
            # service has taken everything before it: its clock is now.
            gauges.send("maokeng-rain", "rain", b"")
            so_far = len(ahead) + len(reset)  # less `late`, plus the boot message
            wait_for(lambda: len(dead_letters(tmp_path)) >= so_far, 30, "the storm taken")
            gauges.publish([late], stamp)
            gauges.publish([r for r in storm if r.ts == end], stamp)
            check_transitions(fw, db, truth, aside=frozenset({CLOCK}))
            wrong = len(ahead) + len(reset) + 1
            wait_for(lambda: len(dead_letters(tmp_path)) >= wrong, 20, "the dead-letter")
            wait_delivered(db)
            assert fw.stop() == 0
        heard = check_broadcasts(received(box), mosquitto, truth, tmp_path)
    finally:
        fw.kill()
        gauges.close()
        box.stop()
    records = dead_letters(tmp_path)
    assert len(records) == wrong
    by_station = {(r["reading"]["station"], r["reason"]) for r in records if "reading" in r}
    assert by_station == {("xiawu-pond", "too_far_in_future"), ("maokeng-rain", "too_late")}
    assert [r["reason"] for r in records if "raw" in r] == ["decode_error"]  # the boot message
    # an info notice names each gauge with a wrong clock, resolved once it is right
    notices = {(k[1].split(":")[0], k[2], k[3]) for k in stored_transitions(db) if k[0] == CLOCK}
    assert notices == {
        (station, transition, "info")
        for station in ("xiawu-pond", "maokeng-rain")
        for transition in ("firing", "resolved")
    }
    assert "8小时" in _notice_texts(db)  # the apparent offset, named
    assert rss.peak_mb < RSS_LIMIT_MB
    Report(
        "gauge clocks 8 h ahead and reset to 2000-01-01",
        {
            "readings": len(storm),
            "8 h ahead": len(ahead),
            "from 2000": len(reset),
            "dead-lettered": len(records),
            "transitions": len(truth.keys),
            "village notices": heard,
            "peak RSS MB": round(rss.peak_mb),
            "seconds": round(time.monotonic() - started, 1),
        },
    ).show()
