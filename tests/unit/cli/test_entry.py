"""`floodwatch.cli.entry` (the console script, and `python -m floodwatch`
through `floodwatch/__main__.py`): stop signals are held from its first line,
before the command line's heavy imports. A long-running command turns a
SIGTERM that came while it was starting into an orderly stop (exit 0); any
other command ends by the signal as a program does. Real processes: the
window is the seconds of imports a process spends before it can act."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from floodwatch.cli import entry
from tests.integration.services import Mosquitto, free_port, service_config

ROOT = Path(__file__).resolve().parents[3]


def _catches_sigterm(pid: int) -> tuple[bool, str]:
    """Whether the process catches SIGTERM, and its mapped files, as one
    snapshot (taken while it is stopped)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        caught = int(status.split("SigCgt:")[1].split()[0], 16)
        return bool(caught & (1 << (signal.SIGTERM - 1))), Path(f"/proc/{pid}/maps").read_text()
    finally:
        os.kill(pid, signal.SIGCONT)


def _sigterm_while_starting(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Start `python -m floodwatch ARGS`, send SIGTERM as soon as it catches
    it (its first line ran: the command line is still importing), and wait."""
    with subprocess.Popen(
        [sys.executable, "-m", "floodwatch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    ) as proc:
        try:
            deadline = time.monotonic() + 30
            while not (snapshot := _catches_sigterm(proc.pid))[0]:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "SIGTERM never caught"
                time.sleep(0.002)
            assert "numpy" not in snapshot[1] and "pydantic_core" not in snapshot[1], (
                "SIGTERM is caught only after the heavy imports"
            )
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_python_m_floodwatch_runs_the_command_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "floodwatch", "check", str(ROOT / "config")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"checked {ROOT / 'config'}: OK — 4 stations")


def test_a_short_command_signalled_while_starting_ends_by_the_signal(tmp_path: Path) -> None:
    """`release()`: the held SIGTERM is delivered again with the default action."""
    done = _sigterm_while_starting(["check", str(ROOT / "config")], tmp_path)
    assert done.returncode == -signal.SIGTERM, (done.returncode, done.stderr)
    assert "OK" not in done.stdout


def test_the_sl651_gateway_signalled_while_starting_stops_in_order(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """Before `sl651-gateway` was one of the long-running commands, the group
    released the held SIGTERM and the gateway died by it (exit -15) — under
    systemd, a gateway stopped while it started."""
    cfg = service_config(
        tmp_path, mosquitto.port, sl651={"listen": f"127.0.0.1:{free_port()}", "mqtt_topic": "x"}
    )
    done = _sigterm_while_starting(["sl651-gateway", "--config", str(cfg)], tmp_path)
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert "SIGTERM received: stopping" in done.stderr
    assert "floodwatch sl651-gateway stopped: 0 frames" in done.stderr


def test_main_holds_the_stop_signals_before_it_runs_the_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In-process: `main()` installs the holding handler, and the command line
    (here `--help`, which exits before any command releases it) finds it."""
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    monkeypatch.setattr(sys, "argv", ["floodwatch", "--help"])
    try:
        with pytest.raises(SystemExit) as exited:
            entry.main()
        assert exited.value.code == 0
        held = signal.getsignal(signal.SIGTERM)
        assert held is not before[signal.SIGTERM] and getattr(held, "__name__", "") == "_remember"
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        from floodwatch.service import signals

        signals._previous.clear()
