"""What every fault scenario checks, and the means to inject the faults.

The truth is `floodwatch replay` of the same readings (one replay per Kafka
partition: each partition is its own stream with its own engine, for its own
stations). A live
service never ends its input, so the readings within the allowed lateness of
the last one are still held: every storm here ends with a *closing sweep*
(each gauge's last value again, one interval later) that moves the watermark
past every real reading, and the truth is replay's events before that sweep
(replay must not have any at or after it, else the comparison would hide one).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import paho.mqtt.client as paho

from floodwatch.ingest.partition import station_keys, stations_of
from floodwatch.notify.cap import CAP_NS
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.rules.compile import compile_config
from tests.capcheck import validate
from tests.integration.services import (
    PASSWORD,
    ROOT,
    Floodwatch,
    Key,
    Mosquitto,
    Subscriber,
    assert_announced_at_most_once,
    key,
    stored_transitions,
    wait_for,
)

VILLAGE = "330182104201"  # 毛坑村: maokeng-pond, its culvert and rain gauge
BROADCAST_TOPIC = f"floodwatch/broadcast/{VILLAGE}"
VILLAGE_STATIONS = {"maokeng-pond", "maokeng-culvert", "maokeng-rain"}
# The village hears the pond's overtopping warning from orange on (test config).
BROADCAST_ROUTE = {"to": ["village"], "min_severity": "orange", "rules": ["pond-overtop"]}
VILLAGE_BROADCAST = {
    "destinations": {"village": {"type": "broadcast", "sender": "floodwatch@330182"}},
    "routes": [BROADCAST_ROUTE],
}
RSS_LIMIT_MB = 256  # the service's resident memory, at every sample, in every scenario


def closed(readings: list[Reading], interval: timedelta = timedelta(minutes=5)) -> list[Reading]:
    """`readings` and a closing sweep: each (station, kind)'s last value again,
    one interval after the last reading."""
    last: dict[tuple[str, str], Reading] = {}
    for r in readings:
        last[(r.station, r.kind)] = r
    at = max(r.ts for r in readings) + interval
    return [*readings, *(Reading(r.station, r.kind, r.value, at) for r in last.values())]


@dataclass
class Truth:
    """`floodwatch replay` of the readings: every event (JSON) before the closing sweep."""

    events: list[dict[str, Any]]

    @property
    def keys(self) -> list[Key]:
        return sorted(key(e) for e in self.events)

    def village(self) -> list[dict[str, Any]]:
        """The notices the village hears, in order: those of the pond's incident
        from the first change that shows its overtopping warning at orange or
        above (BROADCAST_ROUTE), then every later change of it (followers)."""
        from floodwatch.alerts.event import AlertEvent
        from floodwatch.rules.incidents.tracker import Change, IncidentTracker

        config = load_config_dir(ROOT / "config").config
        tracker = IncidentTracker(config.stations, config.engine.incidents)
        alerts = [AlertEvent.from_json(e) for e in sorted(self.events, key=_ts)]
        heard: set[str] = set()
        out = []
        for c in tracker.apply(alerts).changes:
            if c.change is Change.LOST_OBSERVATION:
                continue
            about = [c.cause] if c.change is Change.ALL_CLEAR else c.alerts
            routed = any(
                a.rule == "pond-overtop"
                and a.station in VILLAGE_STATIONS
                and a.severity.value in ("orange", "red")
                and a.id not in c.inhibited
                for a in about
            )
            told = c.incident in heard
            if (routed and not told) or (told and c.change is not Change.UPDATED):
                heard.add(c.incident)
                transition = "resolved" if c.change is Change.ALL_CLEAR else c.change.value
                out.append({"transition": transition, "severity": c.severity.value})
        return out

    def retained(self) -> tuple[str, str] | None:
        """What the village's retained broadcast must say at the end: (msgType
        class, CAP severity) of the last transition the village heard, or None."""
        from floodwatch.alerts.state import Severity
        from floodwatch.notify.cap import CAP_SEVERITY

        heard = self.village()
        if not heard:
            return None
        last = heard[-1]
        if last["transition"] == "resolved":
            return ("Cancel", "")
        return ("Warning", CAP_SEVERITY[Severity(last["severity"])])


def replay(
    config: Path, readings: list[Reading], workdir: Path, partitions: int | None = None
) -> Truth:
    """`floodwatch replay` as a subprocess, per partition when over Kafka."""
    workdir.mkdir(parents=True, exist_ok=True)
    close = max(r.ts for r in readings)
    groups: list[tuple[set[str] | None, list[Reading]]] = [(None, readings)]
    if partitions is not None:
        keys = station_keys(compile_config(load_config_dir(config)))
        groups = []
        for p in range(partitions):
            mine = set(stations_of(keys, partitions, p))
            groups.append((mine, [r for r in readings if r.station in mine]))
    events: list[dict[str, Any]] = []
    for n, (mine, group) in enumerate(g for g in groups if g[1]):
        source, out = workdir / f"truth-{n}.jsonl", workdir / f"truth-{n}.events.jsonl"
        source.write_text("".join(json.dumps(r.to_json()) + "\n" for r in group))
        subprocess.run(
            [sys.executable, "-m", "floodwatch", "replay", "--config", str(config),
             "--input", str(source), "--output", str(out)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        found = [json.loads(line) for line in out.read_text().splitlines() if line]
        # A partition's shard knows only its stations: the others never report
        # there (replay, with the whole config, would call them stale).
        events.extend(e for e in found if mine is None or e["station"] in mine)
    late = [e for e in events if _ts(e) >= close]
    assert not late, f"replay has events at the closing sweep: {late}"
    return Truth(events)


def _ts(event: dict[str, Any]) -> Any:
    from floodwatch.readings import parse_ts

    return parse_ts(event["ts"])


class RssWatch:
    """Samples the resident memory of the service's current process (across
    restarts) every 0.2 s; `peak_mb` is the largest sample."""

    def __init__(self, fw: Floodwatch) -> None:
        self.fw = fw
        self.peak_mb = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            proc = self.fw.proc
            if proc is None:
                continue
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
                    self.samples += 1


@dataclass
class Report:
    """Figures of one scenario run, printed for docs/reliability.md."""

    name: str
    figures: dict[str, object] = field(default_factory=dict)

    def show(self) -> None:
        print(f"\n[faults] {self.name}: " + ", ".join(f"{k} {v}" for k, v in self.figures.items()))


def readings_transitions(db: Path, aside: frozenset[str] = frozenset()) -> list[Key]:
    """The stored transitions of alerts about the readings: not the operations
    alerts floodwatch raises about itself (rule `floodwatch/...`), nor those of
    the rules in `aside` (checked by the scenario itself)."""
    return [
        k
        for k in stored_transitions(db)
        if not k[0].startswith("floodwatch/") and k[0] not in aside
    ]


def operations_transitions(db: Path) -> list[tuple[str, str]]:
    """(rule, transition) of the operations alerts, in order."""
    with sqlite3.connect(db) as conn:
        found = conn.execute(
            "SELECT event FROM transitions WHERE rule LIKE 'floodwatch/%' ORDER BY rowid"
        ).fetchall()
    return [(json.loads(e)["rule"], json.loads(e)["transition"]) for (e,) in found]


def check_transitions(
    fw: Floodwatch,
    db: Path,
    truth: Truth,
    timeout: float = 60,
    kills: int = 0,
    aside: frozenset[str] = frozenset(),
) -> None:
    """0 lost, 0 duplicated, 0 extra: the store holds exactly replay's transitions,
    and the service announced none twice (across every restart). Transitions
    of the rules in `aside` are left to the scenario."""
    try:
        wait_for(lambda: readings_transitions(db, aside) == truth.keys, timeout, "the truth")
    except TimeoutError:
        stored, want = Counter(readings_transitions(db, aside)), Counter(truth.keys)
        lost, extra = sorted((want - stored).elements()), sorted((stored - want).elements())
        raise AssertionError(
            f"{len(lost)} lost, {len(extra)} extra or repeated of {len(truth.keys)}:\n"
            f"lost {lost[:10]}\nextra {extra[:10]}"
        ) from None
    log = "\n".join(
        line
        for line in fw.log.read_text().splitlines()
        if _announced_rule(line) not in {*aside, "floodwatch/"}
    )
    assert_announced_at_most_once(log, truth.keys, kills=kills)


def _announced_rule(line: str) -> str | None:
    """The rule of an alert's log line ("… floodwatch.service: alert info firing
    RULE station: text"); "floodwatch/" for an operations alert (not in the truth)."""
    marker = " floodwatch.service: alert "
    if marker not in line:
        return None
    rule = line.split(marker, 1)[1].split(" ")[2]
    return "floodwatch/" if rule.startswith("floodwatch/") else rule


def check_broadcasts(messages: list[bytes], broker: Mosquitto, truth: Truth, workdir: Path) -> int:
    """The village box heard each transition the truth routes to the village
    exactly once (a repeat after a crash carries the same identifier), every
    message valid CAP 1.2; the message retained at the end says what the truth
    says. Returns how many distinct messages were heard."""
    ns = {"cap": CAP_NS}
    identifiers = set()
    for payload in set(messages):
        validate(payload, workdir)
        identifiers.add(ElementTree.fromstring(payload).findtext("cap:identifier", namespaces=ns))
    assert len(identifiers) == len(truth.village()), (len(identifiers), len(truth.village()))
    retained = Subscriber.retained(broker, BROADCAST_TOPIC)
    want = truth.retained()
    if want is None:
        assert retained == []
        return len(identifiers)
    assert len(retained) == 1
    root = ElementTree.fromstring(retained[0])
    msg_type = root.findtext("cap:msgType", namespaces=ns)
    if want[0] == "Cancel":
        assert msg_type == "Cancel"
    else:
        assert msg_type in ("Alert", "Update")
        assert root.findtext("cap:info/cap:severity", namespaces=ns) == want[1]
    return len(identifiers)


def wait_delivered(db: Path, timeout: float = 30) -> None:
    """Until every outbox row is delivered (the broadcasts reached the broker)."""

    def done() -> bool:
        with sqlite3.connect(db) as conn:
            return not conn.execute("SELECT 1 FROM outbox WHERE state != 'done'").fetchall()

    wait_for(done, timeout, "every delivery done")


def received(box: Subscriber) -> list[bytes]:
    return [payload for _, _, payload in box.messages()]


def dead_letters(workdir: Path) -> list[dict[str, Any]]:
    path = workdir / "var" / "dead-letter.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def check_redeliveries(workdir: Path, readings: list[Reading]) -> int:
    """After kill -9, only repeats are dead-lettered: a message processed but not
    yet acknowledged when killed comes again (QoS 1) and the engine sets it
    aside (`duplicate`, or `too_late` when a later reading of its gauge is in
    already). Returns how many."""
    published = {json.dumps(r.to_json(), sort_keys=True) for r in readings}
    dead = dead_letters(workdir)
    assert {d["reason"] for d in dead} <= {"duplicate", "too_late"}, dead[:3]
    assert all(json.dumps(d["reading"], sort_keys=True) in published for d in dead)
    return len(dead)


class Gauges:
    """Gauges publishing on their own topics, `hydro/{station}/{kind}`, each with
    its own account (the shipped ACL), a payload carrying only value and time.
    A sweep (one reading per gauge) is acknowledged by the broker before the
    next is sent, so the stream arrives in event-time order."""

    def __init__(self, broker: Mosquitto, stations: set[str]) -> None:
        self.clients: dict[str, paho.Client] = {}
        for station in sorted(stations):
            client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"gauge-{station}")
            client.username_pw_set(station, PASSWORD)
            client.connect("127.0.0.1", broker.port)
            client.loop_start()
            self.clients[station] = client

    def publish(
        self, readings: list[Reading], stamp: Callable[[Reading], str] | None = None
    ) -> None:
        """In event-time order; `stamp` gives the time a gauge writes (its clock)."""
        by_ts: dict[object, list[Reading]] = {}
        for r in readings:
            by_ts.setdefault(r.ts, []).append(r)
        for ts in sorted(by_ts):  # type: ignore[type-var]
            sent = [
                self.clients[r.station].publish(
                    f"hydro/{r.station}/{r.kind}",
                    json.dumps({"value": r.value, "ts": (stamp or _ts_text)(r)}),
                    qos=1,
                )
                for r in by_ts[ts]
            ]
            for info in sent:
                info.wait_for_publish(timeout=30)

    def send(self, station: str, kind: str, payload: bytes) -> None:
        """One raw payload on the gauge's topic, acknowledged by the broker."""
        topic = f"hydro/{station}/{kind}"
        self.clients[station].publish(topic, payload, qos=1).wait_for_publish(timeout=30)

    def close(self) -> None:
        for client in self.clients.values():
            client.loop_stop()
            client.disconnect()


def _ts_text(r: Reading) -> str:
    return str(r.to_json()["ts"])
