"""Back up the store during a storm (SQLite online backup, the service
running), restore it into a new directory, start there: the alerts go on as if
nothing happened (every transition of the whole storm once, none re-announced)
and the outbox continues (the deliveries waiting in the backup go out, each
exactly once, with the new ones). docs/operations.md, "Back up and restore"."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from floodwatch.readings import Reading
from floodwatch.store import Store
from tests.integration.services import (
    Floodwatch,
    Gateway,
    Mosquitto,
    batch_lines,
    expected_transitions,
    service_config,
    stored_transitions,
    storm_days,
    wait_for,
)
from tests.integration.test_crash_inbox import _replayed

pytestmark = pytest.mark.integration
SENTINEL = "the end of what the old server is sent (not JSON)"


def backup(store: Path, output: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "floodwatch", "backup", "--store", str(store),
         "--output", str(output)],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert output.stat().st_mode & 0o777 == 0o600
    return done.stdout


def publish(broker: Mosquitto, readings: list[Reading]) -> None:
    lines = batch_lines(readings)
    for start in range(0, len(lines), 40):  # a gateway's sweeps, 40 at a time
        broker.publish("gateway/county-gw", lines[start : start + 40], user="county-gw")


def outbox(db: Path) -> list[dict[str, object]]:
    store = Store(db)
    try:
        return store.outbox()
    finally:
        store.close()


def test_backup_during_a_storm_then_restore_elsewhere_loses_and_doubles_nothing(
    tmp_path: Path, mosquitto: Mosquitto, gateway: Gateway
) -> None:
    readings = storm_days(4)
    middle = (
        readings[0].ts.replace(hour=0, minute=0, second=0) + (readings[-1].ts - readings[0].ts) / 2
    )
    first = [r for r in readings if r.ts < middle]
    notify = {
        "destinations": {
            "duty": {
                "type": "webhook",
                "url": f"{gateway.url}/duty",
                "timeout": "2s",
                "failing_after": "1h",
            }
        },
        "routes": [{"to": ["duty"]}],
        "retry_max": "2s",
    }
    gateway.fail_until = time.monotonic() + 3600  # the duty desk is unreachable: rows wait
    old = service_config(tmp_path / "old", mosquitto.port, notify=notify)
    expected_all = expected_transitions(old, readings)
    expected_first = expected_transitions(old, first)
    replayed = _replayed(old, readings, tmp_path)
    assert set(expected_all) <= replayed and len(expected_first) > 20
    old_db = tmp_path / "old" / "var" / "floodwatch.db"
    fw = Floodwatch(old, tmp_path / "old")
    fw.start()
    fw.wait_log("mqtt connected")

    # Backups while the storm is written (each a consistent, checked copy).
    publisher = threading.Thread(target=publish, args=(mosquitto, first))
    publisher.start()
    during = []
    try:
        wait_for(lambda: len(stored_transitions(old_db)) > 0, 60, "the storm's first alert")
        for n in range(3):
            during.append(backup(old_db, tmp_path / f"during-{n}.db"))
            time.sleep(0.5)
    finally:
        publisher.join()
    for n in range(3):
        copy = tmp_path / f"during-{n}.db"
        in_copy = stored_transitions(copy)
        assert set(in_copy) <= set(expected_first), "a backup holds what never happened"
        alerts = {k[1] for k in in_copy}
        queued = {str(row["alert"]) for row in outbox(copy)}
        assert alerts <= queued, "a transition in the copy without its deliveries"
    assert any("deliveries pending" in line for line in during)

    # The last backup of the old machine, taken as it still runs, retrying.
    wait_for(lambda: stored_transitions(old_db) == expected_first, 90, "the first half stored")
    backup_file = tmp_path / "floodwatch-backup.db"
    report = backup(old_db, backup_file)
    pending = [row for row in outbox(backup_file) if row["state"] == "pending"]
    assert len(pending) >= len(expected_first) // 2 and f"{len(pending)} deliveries" in report
    assert fw.stop() == 0

    snapshot = Path(f"{backup_file}.snapshot")
    assert snapshot.exists() and snapshot.stat().st_mode & 0o777 == 0o600

    # Restore on a new directory (docs/operations.md): the store and its
    # engine snapshot side by side, mode 0600.
    new = service_config(tmp_path / "new", mosquitto.port, notify=notify)
    new_db = tmp_path / "new" / "var" / "floodwatch.db"
    new_db.parent.mkdir(parents=True, exist_ok=True)
    for source, target in ((backup_file, new_db), (snapshot, Path(f"{new_db}.snapshot"))):
        shutil.copy(source, target)
        target.chmod(0o600)
    gateway.fail_until = 0.0  # the duty desk answers again
    fw = Floodwatch(new, tmp_path / "new")
    fw.start()
    try:
        fw.wait_log("mqtt connected")
        started = fw.log.read_text()
        assert "moved aside" not in started and "event clock not started" not in started
        publish(mosquitto, [r for r in readings if r.ts >= middle])
        try:
            wait_for(lambda: stored_transitions(new_db) == expected_all, 180, "the whole storm")
        finally:
            stored = stored_transitions(new_db)
            lost, extra = set(expected_all) - set(stored), set(stored) - set(expected_all)
            assert (len(lost), len(extra)) == (0, 0), (sorted(lost)[:5], sorted(extra)[:5])
        wait_for(
            lambda: all(row["state"] != "pending" for row in outbox(new_db)),
            60,
            "every delivery made",
        )
    finally:
        code = fw.stop()
    assert code == 0
    rows = outbox(new_db)
    assert {row["state"] for row in rows} == {"done"}
    keys = [str(row["key"]) for row in rows]
    assert {str(row["key"]) for row in pending} <= set(keys)  # the waiting ones went out
    assert sorted(gateway.accepted) == sorted(keys)  # each once, nothing else
    log = fw.log.read_text()
    announced = [line for line in log.splitlines() if " floodwatch.service: alert " in line]
    assert len(announced) == len(expected_all) - len(expected_first), "re-announced or lost"


def test_a_backup_from_mid_storm_restored_while_gauges_resend_gives_the_whole_storm_once(
    tmp_path: Path, mosquitto: Mosquitto, gateway: Gateway
) -> None:
    """The old server dies mid-storm; the latest backup is from before its
    last readings. Restored elsewhere, the gateways re-send what they hold
    (the storm from its start): what the backup has is refused as repeats,
    the rest is taken — every transition of the storm once.

    The old server is killed once it has taken (and acknowledged) everything
    published to it: had the broker still held some for its session, the
    restored server (same client id) would get those first, ahead of the
    re-sent gap — the limit docs/operations.md describes, not this scenario."""
    readings = storm_days(2)
    notify = {
        "destinations": {"duty": {"type": "webhook", "url": f"{gateway.url}/duty"}},
        "routes": [{"to": ["duty"]}],
        "retry_max": "2s",
    }
    old = service_config(tmp_path / "old", mosquitto.port, notify=notify)
    expected = expected_transitions(old, readings)
    old_db = tmp_path / "old" / "var" / "floodwatch.db"
    fw = Floodwatch(old, tmp_path / "old")
    fw.start()
    fw.wait_log("mqtt connected")
    times = sorted({r.ts for r in readings})
    half, three_quarters = times[len(times) // 2], times[len(times) * 3 // 4]
    publish(mosquitto, [r for r in readings if r.ts < half])
    wait_for(lambda: len(stored_transitions(old_db)) > 0, 60, "the storm's first alerts")
    backup_file = tmp_path / "mid-storm.db"
    backup(old_db, backup_file)
    in_backup = stored_transitions(backup_file)
    publish(mosquitto, [r for r in readings if half <= r.ts < three_quarters])
    taken = expected_transitions(old, [r for r in readings if r.ts < three_quarters])
    assert len(taken) > len(in_backup) + 5  # alerts the old server raises after the backup
    # Then a message it cannot decode: dead-lettered once all before it was taken
    # (one session, in order), and acknowledged with them within moments.
    mosquitto.publish("gateway/county-gw", [SENTINEL], user="county-gw")
    old_dead = tmp_path / "old" / "var" / "dead-letter.jsonl"
    wait_for(lambda: old_dead.exists() and "decode_error" in old_dead.read_text(), 120, "all sent")
    wait_for(lambda: stored_transitions(old_db) == taken, 60, "all it was sent taken")
    time.sleep(2)  # the acknowledgements reach the broker: it keeps nothing for the session
    fw.kill()  # the old server dies; what it took after the backup is gone with it

    new = service_config(tmp_path / "new", mosquitto.port, notify=notify)
    new_db = tmp_path / "new" / "var" / "floodwatch.db"
    new_db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(backup_file, new_db)
    if Path(f"{backup_file}.snapshot").exists():
        shutil.copy(f"{backup_file}.snapshot", f"{new_db}.snapshot")
    fw = Floodwatch(new, tmp_path / "new")
    fw.start()
    try:
        fw.wait_log("mqtt connected")
        publish(mosquitto, readings)  # the gateways re-send the storm from its start
        try:
            wait_for(lambda: stored_transitions(new_db) == expected, 120, "the whole storm")
        finally:
            stored = stored_transitions(new_db)
            lost, extra = set(expected) - set(stored), set(stored) - set(expected)
            assert (len(lost), len(extra)) == (0, 0), (sorted(lost)[:5], sorted(extra)[:5])
        wait_for(
            lambda: all(row["state"] != "pending" for row in outbox(new_db)),
            60,
            "every delivery made",
        )
    finally:
        code = fw.stop()
    assert code == 0
    log = fw.log.read_text()
    announced = [line for line in log.splitlines() if " floodwatch.service: alert " in line]
    assert len(announced) == len(expected) - len(in_backup), "re-announced or lost"
    keys = [str(row["key"]) for row in outbox(new_db)]
    assert len(keys) == len(set(keys)) and set(gateway.delivered) >= set(keys)
    # What the backup had is refused as a repeat (dead-lettered with its reason).
    dead_letter = tmp_path / "new" / "var" / "dead-letter.jsonl"
    dead = [json.loads(line)["reason"] for line in dead_letter.read_text().splitlines()]
    assert set(dead) <= {"duplicate", "too_late", "decode_error"}, set(dead)
    assert dead.count("decode_error") <= 1  # the sentinel again, had its ack been lost
