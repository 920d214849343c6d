"""deploy/systemd/floodwatch.service: `systemd-analyze verify` finds nothing to
say, its hardening scores as `systemd-analyze security` "OK", and its command
line is one `floodwatch run` accepts."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from floodwatch.cli import main

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "floodwatch.service"
PREFIX = "/opt/floodwatch/venv"  # where docs/operations.md installs floodwatch


def installed_here(tmp_path: Path) -> Path:
    """The unit as if floodwatch were installed in this test's environment (the
    only change: the install prefix; verify checks ExecStart exists)."""
    unit = tmp_path / "floodwatch.service"
    unit.write_text(UNIT.read_text().replace(PREFIX, sys.prefix))
    return unit


def settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_analyze_verify_is_silent(tmp_path: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", str(installed_here(tmp_path))],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and done.stdout == ""  # an unknown key is only a warning


def test_the_unit_is_hardened(tmp_path: Path) -> None:
    unit = settings()
    for key, value in {
        "User": "floodwatch",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "StateDirectory": "floodwatch",
        "ConfigurationDirectory": "floodwatch",
        "Restart": "on-failure",
        "CapabilityBoundingSet": "",
    }.items():
        assert unit[key] == [value], key
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20",
         str(installed_here(tmp_path))],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # e.g. "→ Overall exposure level for floodwatch.service: 1.3 OK 🙂" (0 best, 10 worst)
    last = done.stdout.strip().splitlines()[-1]
    assert float(last.split(": ")[1].split()[0]) <= 2.0, last


def test_exec_start_is_a_command_line_floodwatch_run_accepts(tmp_path: Path) -> None:
    argv = shlex.split(settings()["ExecStart"][0])
    assert argv[0] == f"{PREFIX}/bin/floodwatch" and argv[1] == "run"
    args = [
        str(ROOT / "config") if a == "/etc/floodwatch" else a.replace("/var/lib", str(tmp_path))
        for a in argv[2:]
    ]
    context = main.commands["run"].make_context("run", args)
    assert context.params["store"] == tmp_path / "floodwatch" / "floodwatch.db"
    assert context.params["log_format"] == "json"
