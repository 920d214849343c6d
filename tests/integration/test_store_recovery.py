"""A corrupt snapshot or database is reported, moved aside, and the service starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.service.run import Service
from floodwatch.sim import simulate
from tests.integration.services import service_config

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings


def _run(cfg: Path, count: int) -> Service:
    service = Service(load_config_dir(cfg))
    service.open()
    items = [
        Incoming(json.dumps(r.to_json()).encode(), "hydro/x/y", "canonical", "mqtt")
        for r in STORM[:count]
    ]
    service.step(items)
    return service


def test_a_corrupt_snapshot_is_moved_aside_and_the_inbox_still_replays(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = service_config(tmp_path)
    first = _run(cfg, 600)
    first.close()  # writes a snapshot
    active = [a.id for a in first.engine.active_alerts()]
    snap = tmp_path / "var" / "floodwatch.db.snapshot"
    data = bytearray(snap.read_bytes())
    data[-10] ^= 0xFF
    snap.write_bytes(bytes(data))
    second = Service(load_config_dir(cfg))
    second.open()
    assert "snapshot unusable" in caplog.text
    assert list((tmp_path / "var").glob("floodwatch.db.snapshot.bad-*"))
    assert second.engine.clock is None  # started afresh
    second.close()
    assert active  # the storm was under way


def test_a_corrupt_database_is_moved_aside_and_a_new_one_created(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = service_config(tmp_path)
    db = tmp_path / "var" / "floodwatch.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database" * 100)
    service = _run(cfg, 300)
    assert "moved aside" in caplog.text
    assert list((tmp_path / "var").glob("floodwatch.db.corrupt-*"))
    assert service.store is not None and service.store.writable()
    line = service.stats_line()
    assert line.startswith("stats: queue 0/") and "readings 300" in line
    service.close()
