"""Every destination that holds a connection, through a real broker restart.

One scenario, run for each connection-holding destination: the village
broadcast and the MQTT dead-letter topic (mosquitto restarted), the Kafka
alert topic and the Kafka dead-letter topic (tansu restarted), InfluxDB
(victoria-metrics stopped and started on the same port and data directory).
A stream of alerts — drills started and ended by a duty officer through the
API, one a second, independent of the broker being restarted — runs before,
during and after a 4 s outage. Afterwards:

- every message is delivered once, in the order it was made (the outbox rows
  of the destination confirmed oldest first; what the broker's subscribers
  received is that sequence, nothing skipped, nothing twice);
- the `floodwatch/delivery` operations alert was raised while the
  destination failed and resolved after;
- broadcast: a box connecting after the restart gets the current state of the
  village on both topics, even where the broker held a stale retained message.

tansu keeps topics in memory only: its restart loses every message produced
before it (and the topic). For Kafka the test therefore checks that the
producer reconnects and that every message made from the outage on arrives,
once and in order — not the durability of what the broker had.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.services import (
    PASSWORD,
    Floodwatch,
    Gateway,
    Mosquitto,
    Subscriber,
    Tansu,
    VictoriaMetrics,
    free_port,
    service_config,
    wait_for,
)

pytestmark = pytest.mark.integration

VILLAGE = "330182104201"  # 毛坑村, the village of maokeng-pond
STATION = "maokeng-pond"
NEXT_VILLAGE = "330182104202"  # 下坞村, the village of xiawu-pond
NEXT_STATION = "xiawu-pond"
TOKEN = "restart-test-token"
DOWN = 5.0  # seconds without a broker
DRILLS = 4  # drills 1–3 start and end; drill 4 stays active
DEAD_TOPIC = "floodwatch/dead-letter"


def rows(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


@dataclass
class Case:
    """One destination: which broker restarts and what the service is told."""

    name: str  # the destination's name in the operations alert
    broker: str  # fixture name of the broker restarted
    destinations: Callable[[Any, Gateway], dict[str, Any]]
    dead_letter: Callable[[Any], dict[str, Any]] | None = None


def drills_to(dest: dict[str, Any]) -> dict[str, Any]:
    return {"status": "exercise", "failing_after": "1s", **dest}


def refusing(gateway: Gateway) -> dict[str, Any]:
    """A webhook that refuses every drill: each refusal is a dead-letter record."""
    gateway.refuse.add("/refuse")
    return {"refuse": drills_to({"type": "webhook", "url": f"{gateway.url}/refuse"})}


CASES = [
    Case(
        "village",
        "mosquitto",
        lambda broker, gw: {"village": drills_to({"type": "broadcast", "timeout": "2s"})},
    ),
    Case(
        "dead-letter:mqtt",
        "mosquitto",
        lambda broker, gw: refusing(gw),
        lambda broker: {"mqtt_topic": DEAD_TOPIC},
    ),
    Case(
        "bus",
        "kafka",
        lambda broker, gw: {
            "bus": drills_to({"type": "kafka", "topic": "alerts", "idempotent": False})
        },
    ),
    Case(
        "dead-letter:kafka",
        "kafka",
        lambda broker, gw: refusing(gw),
        lambda broker: {"kafka_topic": "dead-letter"},
    ),
    Case(
        "tsdb",
        "victoria",
        lambda broker, gw: {"tsdb": drills_to({"type": "influx", "url": broker.url})},
    ),
]


class Duty:
    """The duty officer's drills through the command center's API."""

    def __init__(self, port: int) -> None:
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        self.active: list[str] = []
        self.made = 0  # transitions made so far

    def start(self, station: str = STATION) -> None:
        body = {"station": station, "severity": "red"}
        answer = self._send(lambda: self.client.post("/api/drills", json=body))
        assert answer.status_code == 201, answer.text
        self.active.append(answer.json()["id"])
        self.made += 1

    def end(self) -> None:
        drill = self.active.pop()
        answer = self._send(lambda: self.client.delete(f"/api/drills/{drill}"))
        assert answer.status_code == 200, answer.text
        self.made += 1

    @staticmethod
    def _send(request: Callable[[], httpx.Response]) -> httpx.Response:
        """The API's handlers share the store's connection with the event loop
        (issue 12, "one owner of persistence"): a request that met the loop's
        transaction answers 500 having done nothing, and is sent again."""
        for _ in range(5):
            answer = request()
            if answer.status_code != 500:
                return answer
            time.sleep(0.2)
        return answer

    def up(self) -> bool:
        try:
            return self.client.get("/api/alerts").status_code < 500
        except httpx.HTTPError:
            return False


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_destination_survives_a_broker_restart_during_a_stream_of_alerts(
    case: Case, request: pytest.FixtureRequest, tmp_path: Path, gateway: Gateway
) -> None:
    broker = request.getfixturevalue(case.broker)
    port = free_port()
    (tmp_path / "tokens").write_text(f"{TOKEN} operator duty-officer\n")
    destinations = case.destinations(broker, gateway)
    service: dict[str, Any] = {
        "http": {"port": port, "token_file": str(tmp_path / "tokens")},
        "notify": {
            "retry_max": "5s",
            "destinations": destinations,
            "routes": [{"to": list(destinations), "status": "exercise"}],
        },
    }
    if case.dead_letter is not None:
        service["dead_letter"] = {
            "file": str(tmp_path / "var" / "dead-letter.jsonl"),
            "failing_after": "1s",
            **case.dead_letter(broker),
        }
    if isinstance(broker, Mosquitto):
        cfg = service_config(tmp_path, broker.port, **service)
    elif isinstance(broker, Tansu):
        broker.create_topic("readings", 1)
        cfg = service_config(tmp_path, kafka=broker.bootstrap, **service)
    else:
        cfg = service_config(tmp_path, **service)
    observer = Observer.for_case(case, broker, tmp_path)
    fw = Floodwatch(cfg, tmp_path)
    db = tmp_path / "var" / "floodwatch.db"
    duty = Duty(port)
    settle = settled(db, "refuse" if case.dead_letter else case.name, duty)
    fw.start()
    try:
        fw.wait_log("command center on", timeout=30)
        wait_for(duty.up, 20, "the command center")
        observer.started(duty)
        # Before the outage: an alert and its all-clear, delivered.
        duty.start()
        duty.end()
        wait_for(settle, 30, "the first deliveries")
        observer.before_outage(duty)
        time.sleep(1.0)
        down: list[float] = []

        def during() -> None:  # an alert, its all-clear, and another alert
            down.append(time.time())
            duty.start()
            duty.end()
            time.sleep(1.0)
            duty.start()

        broker.restart(DOWN, during)
        stopped_at = down[0]
        # The destination failed while the broker was away, and works again.
        wait_for(
            lambda: raised_and_resolved(operations_alert(db, case.name)),
            30,
            f"the operations alert of {case.name} raised and resolved",
        )
        wait_for(settle, 60, f"the deliveries to {case.name} made during the outage")
        observer.after_outage()
        time.sleep(1.0)
        back_at = time.time()
        # After it: that alert ends, and a last one stays in force.
        duty.end()
        duty.start()
        wait_for(settle, 60, f"every delivery to {case.name} made")
        assert raised_and_resolved(operations_alert(db, case.name))
        observer.check(db, duty, stopped_at, back_at)
        assert fw.stop() == 0
    finally:
        fw.kill()
        observer.stop()
        duty.client.close()


def settled(db: Path, dest: str, duty: Duty) -> Callable[[], bool]:
    """Every transition made so far has its outbox row at `dest`, none pending."""

    def done() -> bool:
        if not db.exists():
            return False
        made = rows(db, "SELECT state FROM outbox WHERE destination = ?", dest)
        return len(made) >= duty.made and all(state != "pending" for (state,) in made)

    return done


def operations_alert(db: Path, subject: str) -> list[str]:
    """The transitions of the `floodwatch/delivery` operations alert of `subject`."""
    if not db.exists():
        return []
    found = []
    for (body,) in rows(db, "SELECT event FROM transitions ORDER BY rowid"):
        event = json.loads(body)
        if event["rule"] == "floodwatch/delivery" and event["details"].get("subject") == subject:
            found.append(event["transition"])
    return found


def raised_and_resolved(transitions: list[str]) -> bool:
    """Raised, and resolved last. (tansu fails the first writes to a topic it
    creates again: a second short failure after the reconnect is a second
    raise and resolve.)"""
    pairs = len(transitions) // 2
    return pairs > 0 and transitions == ["firing", "resolved"] * pairs


def in_order(db: Path, dest: str) -> list[str]:
    """The keys of a destination's outbox rows in the order they were made,
    checking that each was confirmed, once, and no later than the next one."""
    made = rows(
        db,
        "SELECT key, state, done_at FROM outbox WHERE destination = ? ORDER BY created, rowid",
        dest,
    )
    assert all(state == "done" for _, state, _ in made)
    done = [at for _, _, at in made]
    assert done == sorted(done), "confirmed out of the order they were made"
    confirmed = rows(
        db,
        "SELECT a.key FROM attempts a JOIN outbox o ON a.key = o.key "
        "WHERE o.destination = ? AND a.outcome = 'done'",
        dest,
    )
    assert sorted(k for (k,) in confirmed) == sorted(k for k, _, _ in made)
    return [key for key, _, _ in made]


class Observer:
    """What the outside world saw of one destination."""

    def started(self, duty: Duty) -> None: ...
    def before_outage(self, duty: Duty) -> None: ...
    def after_outage(self) -> None: ...
    def check(self, db: Path, duty: Duty, stopped_at: float, back_at: float) -> None: ...
    def stop(self) -> None: ...

    @staticmethod
    def for_case(case: Case, broker: Any, tmp_path: Path) -> Observer:
        if case.name == "village":
            return BroadcastObserver(broker, tmp_path)
        if case.name == "dead-letter:mqtt":
            return DeadLetterMqtt(broker, tmp_path)
        if case.name == "bus":
            return KafkaObserver(broker)
        if case.name == "dead-letter:kafka":
            return DeadLetterKafka(broker, tmp_path)
        return InfluxObserver(broker)


class BroadcastObserver(Observer):
    """A box subscribed throughout (persistent session, QoS 1); in the next
    village a warning long cleared, planted as a stale retained message just
    before the restart (what a broker restored from an old save holds); boxes
    connecting after it."""

    def __init__(self, broker: Mosquitto, tmp_path: Path) -> None:
        self.broker = broker
        self.topic = f"floodwatch/broadcast/{VILLAGE}"
        self.box = Subscriber(broker, self.topic)
        self.box.args += ["-c", "-i", "box-throughout"]
        self.next_village = f"floodwatch/broadcast/{NEXT_VILLAGE}"

    def started(self, duty: Duty) -> None:
        self.box.start()
        duty.start(NEXT_STATION)
        self.warning = self._wait_retained("Alert")
        duty.end()
        self.cleared = self._wait_retained("Cancel")

    def _wait_retained(self, kind: str) -> bytes:
        found: list[bytes] = []

        def there() -> bool:
            found[:] = Subscriber.retained(self.broker, self.next_village)
            return len(found) == 1 and msg_type(found[0]) == kind

        wait_for(there, 20, f"{kind} retained in {NEXT_VILLAGE}")
        return found[0]

    def before_outage(self, duty: Duty) -> None:
        publish_retained(self.broker, self.next_village, self.warning)

    def check(self, db: Path, duty: Duty, stopped_at: float, back_at: float) -> None:
        keys = in_order(db, "village")
        assert len(keys) == duty.made
        live = [p for _, retained, p in self.box.messages() if not retained]
        types = [msg_type(p) for p in live]
        assert types == ["Alert", "Cancel"] * 3 + ["Alert"], types
        idents = [identifier(p) for p in live]
        assert len(set(idents)) == len(idents)
        # Boxes connecting now: the last warning here, the all-clear next door.
        assert Subscriber.retained(self.broker, self.topic) == [live[-1]]
        twin = Subscriber.retained(self.broker, f"{self.topic}/json")
        assert len(twin) == 1 and json.loads(twin[0])["identifier"] == idents[-1]
        assert Subscriber.retained(self.broker, self.next_village) == [self.cleared]

    def stop(self) -> None:
        self.box.stop()


def publish_retained(broker: Mosquitto, topic: str, payload: bytes) -> None:
    subprocess.run(
        ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", "floodwatch",
         "-P", PASSWORD, "-V", "5", "-q", "1", "-r", "-t", topic, "-s"],
        input=payload, check=True, timeout=10,
    )  # fmt: skip


def msg_type(payload: bytes) -> str:
    return payload.split(b"<msgType>", 1)[1].split(b"<", 1)[0].decode()


def identifier(payload: bytes) -> str:
    return payload.split(b"<identifier>", 1)[1].split(b"<", 1)[0].decode()


def dead_letter_records(var: Path) -> list[dict[str, Any]]:
    path = var / "dead-letter.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


class DeadLetterMqtt(Observer):
    def __init__(self, broker: Mosquitto, tmp_path: Path) -> None:
        self.var = tmp_path / "var"
        self.sub = Subscriber(broker, DEAD_TOPIC, user="floodwatch")
        self.sub.args += ["-c", "-i", "dead-letter-reader"]

    def started(self, duty: Duty) -> None:
        self.sub.start()

    def check(self, db: Path, duty: Duty, stopped_at: float, back_at: float) -> None:
        written = [json.dumps(r, sort_keys=True) for r in dead_letter_records(self.var)]
        assert len(written) == duty.made
        wait_for(lambda: len(self.sub.messages()) >= len(written), 20, "the records published")
        time.sleep(1.0)  # anything more (twice) would come now
        got = [json.dumps(json.loads(p), sort_keys=True) for _, _, p in self.sub.messages()]
        assert got == written  # each once, in the order written

    def stop(self) -> None:
        self.sub.stop()


class KafkaObserver(Observer):
    """tansu lost everything produced before its restart (memory storage) and
    fails or loses the first writes to a topic it creates again
    (`Tansu.settle_topic`): the broker's side is checked for what was made once
    it was back and the topic settled; the store's side for everything."""

    def __init__(self, broker: Tansu) -> None:
        self.broker = broker

    def after_outage(self) -> None:
        self.broker.settle_topic("alerts")

    def check(self, db: Path, duty: Duty, stopped_at: float, back_at: float) -> None:
        in_order(db, "bus")  # every row confirmed once, in the order made
        later = [
            key
            for (key,) in rows(
                db,
                "SELECT key FROM outbox WHERE destination = 'bus' AND created > ? "
                "ORDER BY created, rowid",
                back_at,
            )
        ]
        assert later
        got = [
            dict(m.headers).get("idempotency-key", b"").decode()
            for m in self.broker.read_all("alerts")
        ]
        assert [k for k in got if k in later] == later  # each once, in order


class DeadLetterKafka(Observer):
    """As `KafkaObserver`: the records written once the broker was back."""

    def __init__(self, broker: Tansu, tmp_path: Path) -> None:
        self.broker = broker
        self.var = tmp_path / "var"

    def after_outage(self) -> None:
        self.broker.settle_topic("dead-letter")

    def check(self, db: Path, duty: Duty, stopped_at: float, back_at: float) -> None:
        records = dead_letter_records(self.var)
        assert len(records) == duty.made
        later = [json.dumps(r, sort_keys=True) for r in records if _epoch(r["at"]) > back_at]
        assert later
        got = [
            json.dumps(json.loads(m.value), sort_keys=True)
            for m in self.broker.read_all("dead-letter")
        ]
        seen = [r for r in got if r in later]
        assert seen == later, (_ats(seen), _ats(later), _ats(got))  # each once, in order


def _ats(records: list[str]) -> list[str]:
    return [json.loads(r).get("at", "-")[11:] for r in records]


def _epoch(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


class InfluxObserver(Observer):
    def __init__(self, broker: VictoriaMetrics) -> None:
        self.broker = broker

    def check(self, db: Path, duty: Duty, stopped_at: float, back_at: float) -> None:
        keys = in_order(db, "tsdb")
        assert len(keys) == duty.made

        def samples() -> list[int]:
            series = self.broker.export('{__name__="alert_level"}')
            return sorted(t for s in series for t in s["timestamps"])  # type: ignore[attr-defined]

        wait_for(lambda: len(samples()) >= duty.made, 20, "the points readable")
        assert len(samples()) == duty.made  # each once
