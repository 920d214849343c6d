"""`floodwatch run` stops in order on SIGTERM at any moment after it starts,
including the seconds of imports and config loading before its event loop runs
(systemd may stop a service that is still starting). Without that, Python's
default for SIGTERM ends the process by the signal: exit -15, no "stopped"."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.services import Floodwatch, Mosquitto, service_config

pytestmark = pytest.mark.integration


def _caught_and_mapped(pid: int) -> tuple[bool, str]:
    """Whether the process catches SIGTERM, and its mapped files, as one snapshot
    (taken while it is stopped, so neither can change in between)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        caught = int(status.split("SigCgt:")[1].split()[0], 16)
        return bool(caught & (1 << (signal.SIGTERM - 1))), Path(f"/proc/{pid}/maps").read_text()
    finally:
        os.kill(pid, signal.SIGCONT)


def test_sigterm_while_the_program_is_still_importing_is_an_orderly_stop(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """SIGTERM is caught before the heavy modules (numpy, pydantic) are loaded,
    and a SIGTERM sent at that moment ends the service with exit 0 before it
    starts its sources."""
    fw = Floodwatch(service_config(tmp_path, mosquitto.port), tmp_path)
    fw.start()
    assert fw.proc is not None
    try:
        deadline = time.monotonic() + 60
        while not (snapshot := _caught_and_mapped(fw.proc.pid))[0]:
            assert time.monotonic() < deadline, "SIGTERM never caught"
            time.sleep(0.002)
        assert "numpy" not in snapshot[1] and "pydantic_core" not in snapshot[1], (
            "SIGTERM was caught only after the imports: a stop while starting kills it"
        )
        assert fw.stop(timeout=60) == 0
    finally:
        fw.kill()
    log = fw.log.read_text()
    assert "SIGTERM received: stopping" in log
    assert "floodwatch running" not in log  # stopped before its sources started
