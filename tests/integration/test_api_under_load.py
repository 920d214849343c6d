"""The command center's writes while a storm comes in: a real `floodwatch run`
fed over real mosquitto, and several duty officers (concurrent HTTP clients)
acknowledging, silencing and starting and ending drills all the while.

The store is used from the event loop only, so an API write never starts a
transaction inside the engine step's (or commits half of it). Checked: every
call answered as it should be (no 500, no "database is locked", no "cannot
start a transaction within a transaction"); the stored transitions are
`floodwatch replay`'s of the same readings, none lost, none doubled; every
acknowledgement, silence and drill recorded exactly once."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from floodwatch.service.operations import DRILL_RULE
from tests.integration.services import (
    Floodwatch,
    Mosquitto,
    assert_announced_at_most_once,
    batch_lines,
    expected_transitions,
    free_port,
    key,
    service_config,
    storm_days,
    wait_for,
    wait_port,
)

pytestmark = pytest.mark.integration

STATIONS = ("maokeng-pond", "maokeng-culvert", "maokeng-rain", "xiawu-pond")
TOKEN = "load-test-operator-token"
CHUNK = 12  # gateway sweeps per mosquitto_pub: the storm arrives over several seconds


@dataclass
class Officer:
    """One duty officer's client: what it asked and what it was answered."""

    name: str
    station: str
    answers: list[tuple[str, int, str]] = field(default_factory=list)  # (call, status, body)
    errors: list[str] = field(default_factory=list)  # calls that got no answer
    acks: list[tuple[str, str]] = field(default_factory=list)  # (alert, comment) acknowledged
    silences: dict[str, float] = field(default_factory=dict)  # id -> when it was ended
    drills: list[str] = field(default_factory=list)  # ids started and ended

    def call(self, client: httpx.Client, method: str, path: str, want: int, **kw: object) -> object:
        try:
            r = client.request(method, path, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            self.errors.append(f"{method} {path}: {exc!r}")
            return None
        self.answers.append((f"{method} {path}", r.status_code, r.text[:300]))
        return r.json() if r.status_code == want else None

    def work(self, url: str, stop: threading.Event) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            while not stop.is_set():
                self.round(client)

    def round(self, client: httpx.Client) -> None:
        drill = self.call(
            client, "POST", "/api/drills", 201, json={"station": self.station, "severity": "blue"}
        )
        if not isinstance(drill, dict):
            return
        self.ack(client, str(drill["id"]))
        history = self.call(client, "GET", "/api/alerts", 200, params={"limit": 20})
        engine = [a for a in history or [] if isinstance(a, dict) and a["rule"] != DRILL_RULE]
        if engine:
            self.ack(client, str(engine[len(self.answers) % len(engine)]["id"]))
        ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        made = self.call(
            client,
            "POST",
            "/api/silences",
            201,
            json={"stations": [self.station], "ends": ends, "reason": f"load test {self.name}"},
        )
        if isinstance(made, dict):
            if self.call(client, "DELETE", f"/api/silences/{made['id']}", 200) is not None:
                self.silences[str(made["id"])] = time.time()
        self.call(client, "GET", "/api/alerts", 200, params={"active": "true"})
        self.call(client, "GET", "/readyz", 200)
        if self.call(client, "DELETE", f"/api/drills/{drill['id']}", 200) is not None:
            self.drills.append(str(drill["id"]))

    def ack(self, client: httpx.Client, alert: str) -> None:
        comment = f"{self.name} {uuid.uuid4().hex[:8]}"
        path = f"/api/alerts/{alert}/ack"
        done = self.call(client, "POST", path, 200, json={"comment": comment})
        if isinstance(done, dict):  # the alert, and its incident if it has one
            self.acks.extend((one, comment) for one in done.get("covers", [alert]))


def test_acks_silences_and_drills_during_a_storm_lose_and_double_nothing(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    tokens = tmp_path / "api-tokens"
    tokens.write_text(f"{TOKEN} operator 值班员\n")
    port = free_port()
    cfg = service_config(
        tmp_path,
        mosquitto.port,
        idle_advance_after=None,
        http={"port": port, "token_file": str(tokens)},
    )
    readings = storm_days(2)
    expected = expected_transitions(cfg, readings)
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    db = tmp_path / "var" / "floodwatch.db"
    officers = [Officer(f"officer-{i}", STATIONS[i % len(STATIONS)]) for i in range(6)]
    stop = threading.Event()
    url = f"http://127.0.0.1:{port}"
    threads = [threading.Thread(target=o.work, args=(url, stop)) for o in officers]
    try:
        fw.wait_log("floodwatch running", timeout=30)
        wait_port(port, timeout=30)
        for t in threads:
            t.start()
        lines = batch_lines(readings)
        for i in range(0, len(lines), CHUNK):
            mosquitto.publish("gateway/county-gw", lines[i : i + CHUNK], user="county-gw")
        wait_for(lambda: len(engine_rows(db)) >= len(expected), 60, "the storm's transitions")
        time.sleep(1.0)  # a last round of calls after the storm
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        if fw.proc is not None:
            fw.stop()
    log = fw.log.read_text(errors="replace")

    answers = [a for o in officers for a in o.answers]
    assert [e for o in officers for e in o.errors] == []
    assert [a for a in answers if a[1] not in (200, 201)] == []
    for bad in ("Traceback", "database is locked", "within a transaction", "internal error"):
        assert bad not in log, f"{bad!r} in the log"
    print(f"{len(answers)} API calls answered during a storm of {len(readings)} readings")

    with sqlite3.connect(db) as conn:
        rows = [json.loads(r[0]) for r in conn.execute("SELECT event FROM transitions")]
        acks = Counter(conn.execute("SELECT alert, comment FROM acks").fetchall())
        silences = dict(conn.execute("SELECT id, ends FROM silences").fetchall())
    assert sorted(key(e) for e in rows if e["rule"] != DRILL_RULE) == expected  # none lost
    made_acks = Counter(a for o in officers for a in o.acks)
    assert len(made_acks) > 20 and max(made_acks.values()) == 1
    assert acks == made_acks  # each acknowledgement stored once, none lost
    ended = {sid: at for o in officers for sid, at in o.silences.items()}
    assert len(ended) > 20 and set(silences) == set(ended)
    assert all(silences[sid] <= at + 1 for sid, at in ended.items())  # ended when asked
    drills = [d for o in officers for d in o.drills]
    assert len(drills) > 20 and len(set(drills)) == len(drills)
    by_drill = Counter(e["id"] for e in rows if e["rule"] == DRILL_RULE)
    assert by_drill == Counter({d: 2 for d in drills})  # started and ended, once each
    assert_announced_at_most_once(log, sorted(key(e) for e in rows))


def engine_rows(db: Path) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            rows = conn.execute("SELECT rule FROM transitions").fetchall()
    except sqlite3.OperationalError:  # the schema is still being made
        return []
    return [r[0] for r in rows if r[0] != DRILL_RULE]
