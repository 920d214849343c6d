"""SIGTERM and SIGINT from the program's first line to the event loop's handlers.

Python leaves SIGTERM at the operating system's default — end the process at
once — until `floodwatch run` installs its own handler on the event loop, and
under load the imports and config loading before that take seconds. systemd
(or an operator) stopping the service in that window would see it die by the
signal, without its "stopped" line. So the program's entry point
(`floodwatch.cli.entry`) calls `hold()` before it imports anything heavy: a stop
signal that arrives then is remembered, not acted on.

- The long-running commands (`run`, `bridge`, `sl651-gateway`) call
  `take_held()` right after installing their loop handlers; a held signal
  becomes an orderly stop at once (the service stops before it starts its
  sources, and exits 0).
- Every other command calls `release()` first: the previous handlers come back,
  and a signal held meanwhile is delivered again, so `floodwatch replay`
  still ends on SIGTERM as any program does.

Neither function does anything in a process that never called `hold()` (tests
that call the click group in-process keep pytest's handlers).
"""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_held: list[signal.Signals] = []
_previous: dict[signal.Signals, Any] = {}


def _remember(signum: int, frame: FrameType | None) -> None:
    _held.append(signal.Signals(signum))


def hold() -> None:
    """Called once, first thing in the main thread: from now on a stop signal is
    remembered until `take_held()` or `release()`."""
    for sig in STOP_SIGNALS:
        _previous[sig] = signal.signal(sig, _remember)


def take_held() -> signal.Signals | None:
    """Called by a long-running command once its event loop handles the stop
    signals itself: the first signal that arrived before (None if none)."""
    _previous.clear()
    return _held[0] if _held else None


def release() -> None:
    """Called by the commands that do not handle stop signals: the handlers from
    before `hold()` come back and a held signal is delivered again."""
    for sig, previous in _previous.items():
        signal.signal(sig, previous)
    _previous.clear()
    if _held:
        os.kill(os.getpid(), _held[0])
