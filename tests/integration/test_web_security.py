"""The command center's defences against a real `floodwatch run` (uvicorn on a
loopback port): streamed bodies over the limit, login timing, forwarded
addresses, private files and the session-signing key."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from floodwatch.store import Store
from floodwatch.web.auth import hash_password
from tests.integration.services import (
    Floodwatch,
    Mosquitto,
    free_port,
    service_config,
    wait_for,
    wait_port,
)

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-duty"
USERS = [{"name": "duty", "role": "operator", "password_hash": hash_password(PASSWORD)}]


def start(tmp_path: Path, mqtt_port: int | None = None, **http: object) -> tuple[Floodwatch, str]:
    port = free_port()
    cfg = service_config(
        tmp_path, mqtt_port, idle_advance_after=None, http={"port": port, "users": USERS, **http}
    )
    fw = Floodwatch(cfg, tmp_path)
    fw.start()
    wait_port(port, timeout=30)
    return fw, f"http://127.0.0.1:{port}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Floodwatch, str]]:
    fw, url = start(tmp_path)
    yield fw, url
    fw.kill()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def chunked_request(port: int, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    return sock


def send_chunk(sock: socket.socket, data: bytes) -> None:
    sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def answer(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    got = b""
    while b"\r\n\r\n" not in got:
        part = sock.recv(65536)
        if not part:
            break
        got += part
    return got


@pytest.mark.parametrize("path", ["/api/login", "/api/silences", "/api/sms/reply"])
def test_a_chunked_body_over_the_limit_is_refused_as_it_streams_in(
    server: tuple[Floodwatch, str], path: str
) -> None:
    _, url = server
    port = int(url.rsplit(":", 1)[1])
    sock = chunked_request(port, path)
    with sock:
        for _ in range(5):  # 80 KiB, no end: the old code waited for the rest
            send_chunk(sock, b"x" * 16_384)
        head = answer(sock)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert b'"body larger than 65536 bytes"' in head or b"content-length" in head.lower()


def test_a_300_mb_chunked_login_leaves_the_memory_of_the_service_alone(
    server: tuple[Floodwatch, str],
) -> None:
    fw, url = server
    assert fw.proc is not None
    port = int(url.rsplit(":", 1)[1])
    httpx.get(f"{url}/healthz").raise_for_status()
    before = rss_kib(fw.proc.pid)
    peak = before
    sent = 0
    chunk = b'{"name": "' + b"x" * (1 << 20) + b'"}'
    sock = chunked_request(port, "/api/login")
    done = threading.Event()

    def flood() -> None:
        nonlocal sent
        try:
            while sent < 300 << 20:
                send_chunk(sock, chunk)
                sent += len(chunk)
        except OSError:
            pass  # the service closed the connection: what it should do
        finally:
            done.set()

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    while not done.wait(0.05):
        peak = max(peak, rss_kib(fw.proc.pid))
    thread.join()
    sock.close()
    peak = max(peak, rss_kib(fw.proc.pid))
    print(f"RSS {before // 1024} MiB before, {peak // 1024} MiB at most; {sent >> 20} MiB sent")
    assert peak - before < 20 * 1024, f"RSS grew from {before} KiB to {peak} KiB"
    assert sent < 100 << 20, f"the service read {sent >> 20} MiB before closing"
    assert httpx.get(f"{url}/healthz").status_code == 200


def test_login_timing_does_not_tell_whether_an_account_exists(tmp_path: Path) -> None:
    fw, url = start(tmp_path, login_limit=1000)  # no 429 or slow-down in the way
    try:
        with httpx.Client(base_url=url, timeout=30) as client:

            def took(name: str) -> float:
                started = time.perf_counter()
                answer = client.post("/api/login", json={"name": name, "password": "guess"})
                assert answer.status_code == 401, answer.text
                return time.perf_counter() - started

            took("duty")  # warm up
            known, unknown = [], []
            for i in range(9):
                known.append(took("duty"))
                unknown.append(took(f"nobody-{i}"))
    finally:
        fw.kill()
    k, u = statistics.median(known), statistics.median(unknown)
    print(f"median login: known account {k * 1000:.1f} ms, unknown {u * 1000:.1f} ms")
    assert 0.5 < u / k < 2.0, (known, unknown)


def test_x_forwarded_for_is_not_believed_without_a_configured_proxy(
    server: tuple[Floodwatch, str],
) -> None:
    fw, url = server
    with httpx.Client(base_url=url, timeout=30) as client:
        codes = [
            client.post(
                "/api/login",
                json={"name": f"guess-{i}", "password": "x"},
                headers={"X-Forwarded-For": f"10.9.8.{i}"},
            ).status_code
            for i in range(6)
        ]
    assert codes == [401] * 5 + [429]  # all from 127.0.0.1, whatever the header says
    assert "10.9.8." not in fw.log.read_text()


def test_a_burst_of_concurrent_guesses_from_one_address_is_limited_too(
    server: tuple[Floodwatch, str],
) -> None:
    _, url = server

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            answers = await asyncio.gather(
                *(
                    client.post("/api/login", json={"name": f"guess-{i}", "password": "x"})
                    for i in range(30)
                )
            )
        return sorted(a.status_code for a in answers)

    codes = asyncio.run(burst())
    assert codes == [401] * 5 + [429] * 25, codes


def test_a_configured_proxy_passes_the_client_address(tmp_path: Path) -> None:
    fw, url = start(tmp_path, trusted_proxies=["127.0.0.1"])
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            codes = [
                client.post(
                    "/api/login",
                    json={"name": f"guess-{i}", "password": "x"},
                    headers={"X-Forwarded-For": f"10.9.8.{i}"},
                ).status_code
                for i in range(6)
            ]
    finally:
        fw.kill()
    assert codes == [401] * 6  # six clients behind the proxy, one failure each
    assert "from 10.9.8.5" in fw.log.read_text()


def _legacy_token(secret: bytes, name: str, role: str, expires: float) -> str:
    """A session token as versions that kept the key in the store made them."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    payload = b64(json.dumps({"n": name, "r": role, "e": expires}).encode())
    return f"{payload}.{b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())}"


def test_files_are_private_and_the_signing_key_leaves_the_store(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    # a store as older versions left it: world-readable, the signing key inside
    db = tmp_path / "var" / "floodwatch.db"
    db.parent.mkdir(parents=True)
    old = os.umask(0o022)
    try:
        store = Store(db)
        with store.transaction():
            store.set_meta("http_secret", "ab" * 32)
        store.close()
    finally:
        os.umask(old)
    assert db.stat().st_mode & 0o777 == 0o644
    legacy = _legacy_token(bytes.fromhex("ab" * 32), "duty", "operator", time.time() + 3600)
    fw, url = start(tmp_path, mosquitto.port)
    try:
        fw.wait_log("mqtt connected")
        mosquitto.publish("hydro/maokeng-pond/level", ["{not json"], user="maokeng-pond")
        dead = tmp_path / "var" / "dead-letter.jsonl"
        snap = Path(f"{db}.snapshot")
        wait_for(lambda: dead.exists() and snap.exists(), 20, "dead-letter and snapshot")
        keys = tmp_path / "var" / "session-keys"
        with httpx.Client(base_url=url, timeout=30) as client:
            # sessions signed with the key from the store keep working
            me = client.get("/api/me", headers={"Authorization": f"Bearer {legacy}"})
            assert me.status_code == 200 and me.json()["name"] == "duty"
            login = client.post("/api/login", json={"name": "duty", "password": PASSWORD})
            token = login.json()["token"]
            claims = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
            assert set(claims) == {"n", "r", "k", "iat", "exp"}
            assert claims["exp"] - claims["iat"] == 12 * 3600
            assert abs(claims["iat"] - time.time()) < 60
            # rotation: the previous key still verifies; with --retire-all it does not
            rotate = [sys.executable, "-m", "floodwatch", "rotate-session-key"]
            subprocess.run([*rotate, "--config", str(fw.config)], check=True, timeout=60)
            time.sleep(1.2)  # the service looks at the file every second
            bearer = {"Authorization": f"Bearer {token}"}
            assert client.get("/api/me", headers=bearer).status_code == 200
            again = client.post("/api/login", json={"name": "duty", "password": PASSWORD})
            newer = json.loads(base64.urlsafe_b64decode(again.json()["token"].split(".")[0] + "=="))
            assert newer["k"] != claims["k"]
            subprocess.run(
                [*rotate, "--config", str(fw.config), "--retire-all"], check=True, timeout=60
            )
            time.sleep(1.2)
            assert client.get("/api/me", headers=bearer).status_code == 401
            assert (
                client.get("/api/me", headers={"Authorization": f"Bearer {legacy}"}).status_code
                == 401
            )
    finally:
        fw.stop()
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), snap, dead, keys):
        if path.exists():
            assert path.stat().st_mode & 0o777 == 0o600, f"{path}: {path.stat().st_mode:o}"
    assert keys.exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'http_secret'").fetchone() is None
    for part in (db, Path(f"{db}-wal")):
        if part.exists():
            assert b"ab" * 32 not in part.read_bytes(), f"the old key is still in {part}"
