"""Whether a destination works, and when to tell the duty officers it does not.

One `Health` per destination (and per dead-letter topic). The delivery worker
and the destination's supervised connection (`notify.connection`) both feed
it: a failed attempt, a lost connection or a failed reconnect is `failed`; a
confirmed delivery or a connection that is back with nothing waiting is
`works`. The `floodwatch/delivery` operations alert (`service/operations.py`)
is raised once the destination has been failing for `failing_after` (a timer:
the alert comes even when nothing is attempted meanwhile), or at once when it
refuses a delivery for good, and resolved when it works again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

# Called with (destination, failing since, error) when a destination has been
# failing for longer than its `failing_after`, or refused a delivery; and with
# (destination, None, "") when it works again.
Trouble = Callable[[str, float | None, str], None]

log = logging.getLogger(__name__)


class Health:
    def __init__(
        self,
        name: str,
        failing_after: float,
        on_trouble: Trouble | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.failing_after = failing_after
        self.on_trouble = on_trouble
        self.clock = clock
        self.since: float | None = None  # failing since (wall clock), None while it works
        self.error = ""
        self.reported = False  # an operations alert is open
        self._timer: asyncio.TimerHandle | None = None

    def failed(self, error: str) -> None:
        """An attempt, a connection or a reconnect failed."""
        now = self.clock()
        self.error = error
        if self.since is None:
            self.since = now
            self._arm(now)
        if now - self.since >= self.failing_after:
            self.report(error)

    def _arm(self, since: float) -> None:
        """Report at `since + failing_after` if it is still failing then, even if
        nothing is attempted meanwhile (a client closing, a long backoff)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a test of the bookkeeping)
            return
        self._timer = loop.call_later(self.failing_after, self._expired, since)

    def _expired(self, since: float) -> None:
        if self.since == since:
            self.report(self.error)

    def report(self, error: str) -> None:
        """Raise the operations alert now (once until it works again)."""
        if self.since is None:
            self.since = self.clock()
        if self.reported:
            return
        self.reported = True
        log.error("destination %s failing since %s: %s", self.name, time.ctime(self.since), error)
        if self.on_trouble is not None:
            self.on_trouble(self.name, self.since, error)

    def carried(self, since: float, error: str) -> None:
        """Its operations alert was open when floodwatch stopped (stored, taken
        back at start): failing since `since` and reported, so the next `works`
        resolves that alert and another failure raises nothing new."""
        self.since, self.error, self.reported = since, error, True

    def works(self) -> bool:
        """It works (again). True if it was failing."""
        if self.since is None:
            return False
        self.since = None
        self.error = ""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.reported:
            self.reported = False
            log.info("destination %s works again", self.name)
            if self.on_trouble is not None:
                self.on_trouble(self.name, None, "")
        return True
