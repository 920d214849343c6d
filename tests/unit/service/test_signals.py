"""Stop signals held from the program's first line until the event loop handles
them (service/signals.py). Each case runs in a child process: the module holds
process-wide state and replaces signal handlers, which pytest's own process
must keep."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

PRELUDE = """
import os, signal, time
from floodwatch.service import signals
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_stop_signal_while_starting_is_held_and_handed_to_the_loop() -> None:
    done = _run("""
        signals.hold()
        os.kill(os.getpid(), signal.SIGTERM)   # systemd stops us during the imports
        time.sleep(0.05)
        print("alive", signals.take_held().name)
        print("handlers stay", signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["alive SIGTERM", "handlers stay True"]


def test_the_first_of_several_held_signals_is_the_one_handed_over() -> None:
    done = _run("""
        signals.hold()
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        print(signals.take_held().name)
    """)
    assert done.stdout.strip() == "SIGINT", done.stderr


def test_no_signal_held_hands_over_nothing() -> None:
    done = _run("""
        signals.hold()
        print(signals.take_held())
    """)
    assert done.stdout.strip() == "None", done.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_command_that_releases_ends_on_the_signal_it_held(sig: signal.Signals) -> None:
    done = _run(f"""
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signals.hold()
        os.kill(os.getpid(), signal.{sig.name})
        time.sleep(0.05)
        print("held", flush=True)
        signals.release()
        time.sleep(2)
        print("should have ended")
    """)
    assert done.stdout.strip() == "held", done.stderr
    assert done.returncode == -sig


def test_release_with_nothing_held_brings_the_previous_handlers_back() -> None:
    done = _run("""
        def mine(signum, frame): print("mine", signum, flush=True)
        signal.signal(signal.SIGTERM, mine)
        signals.hold()
        signals.release()
        print(signal.getsignal(signal.SIGTERM) is mine, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "mine", str(int(signal.SIGTERM))]


def test_without_hold_neither_call_does_anything() -> None:
    done = _run("""
        before = signal.getsignal(signal.SIGTERM)
        print(signals.take_held())
        signals.release()
        print(signal.getsignal(signal.SIGTERM) is before)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "True"]
