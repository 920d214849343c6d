"""deploy/systemd/: `systemd-analyze verify` finds nothing to say about the
units, their hardening scores ≤ 2.0 in `systemd-analyze security`, the
service's command line is one `floodwatch run` accepts and the backup unit's
command makes a backup."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from floodwatch.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "deploy" / "systemd"
UNIT = SYSTEMD / "floodwatch.service"
UNITS = ("floodwatch.service", "floodwatch-backup.service", "floodwatch-backup.timer")
PREFIX = "/opt/floodwatch/venv"  # where docs/operations.md installs floodwatch


def installed_here(tmp_path: Path, name: str = "floodwatch.service") -> Path:
    """The unit as if floodwatch were installed in this test's environment (the
    only change: the install prefix; verify checks ExecStart exists)."""
    unit = tmp_path / name
    unit.write_text((SYSTEMD / name).read_text().replace(PREFIX, sys.prefix))
    return unit


def settings(unit: Path = UNIT) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_analyze_verify_is_silent(tmp_path: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", *(str(installed_here(tmp_path, n)) for n in UNITS)],
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
         str(installed_here(tmp_path)), str(installed_here(tmp_path, UNITS[1]))],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # e.g. "→ Overall exposure level for floodwatch.service: 1.3 OK 🙂" (0 best, 10 worst)
    levels = [line for line in done.stdout.splitlines() if "Overall exposure level" in line]
    assert len(levels) == 2
    for line in levels:
        assert float(line.split(": ")[1].split()[0]) <= 2.0, line


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


def test_the_backup_unit_backs_up_a_store(tmp_path: Path) -> None:
    from floodwatch.store import Store

    state = tmp_path / "floodwatch"
    Store(state / "floodwatch.db").close()
    (state / "backup").mkdir()
    command = settings(SYSTEMD / "floodwatch-backup.service")["ExecStart"][0]
    argv = shlex.split(command.replace("$$", "$").replace("%%", "%"))  # systemd's escapes
    assert argv[:2] == ["/bin/sh", "-c"]
    script = argv[2].replace(PREFIX, sys.prefix).replace("/var/lib", str(tmp_path))
    subprocess.run(["/bin/sh", "-c", script], check=True, capture_output=True, timeout=60)
    copies = sorted(p.name for p in (state / "backup").iterdir())
    assert len(copies) == 1 and re.fullmatch(r"floodwatch-[0-2][0-9]\.db", copies[0]), copies
