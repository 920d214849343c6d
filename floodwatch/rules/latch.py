"""Multi-level hysteresis with dwell: one independent latch per warning level.

A level's latch switches on when its enter condition has held continuously for
its `for` dwell, and off when its exit (reset) condition has held continuously
for its `clear_for` dwell. The alert's severity is the highest level whose
latch is on. An unknown condition (stale or incomplete data) neither raises nor
clears: it restarts both dwell timers.
"""

from __future__ import annotations

from collections.abc import Sequence


class Latch:
    __slots__ = ("busy", "clear_ms", "enter_since", "exit_since", "for_ms", "n", "on", "top")

    def __init__(self, for_ms: Sequence[int], clear_ms: Sequence[int]) -> None:
        self.n = len(for_ms)
        self.for_ms = list(for_ms)
        self.clear_ms = list(clear_ms)
        self.on = [False] * self.n
        self.enter_since: list[int | None] = [None] * self.n
        self.exit_since: list[int | None] = [None] * self.n
        self.top = 0  # 1 + index of the highest level that is on; 0 when none
        self.busy = False  # some level on or some dwell running

    @property
    def pending(self) -> int:
        """1 + index of the highest level whose enter dwell is running (0 when none)."""
        for i in range(self.n - 1, -1, -1):
            if not self.on[i] and self.enter_since[i] is not None:
                return i + 1
        return 0

    def update(self, ts: int, enter: Sequence[bool], exit_: Sequence[bool]) -> int:
        """Apply one evaluation at event time `ts`; return the new `top`."""
        on = self.on
        for i in range(self.n):
            if on[i]:
                self.enter_since[i] = None
                if exit_[i]:
                    since = self.exit_since[i]
                    if since is None:
                        since = self.exit_since[i] = ts
                    if ts - since >= self.clear_ms[i]:
                        on[i] = False
                        self.exit_since[i] = None
                else:
                    self.exit_since[i] = None
            else:
                self.exit_since[i] = None
                if enter[i]:
                    since = self.enter_since[i]
                    if since is None:
                        since = self.enter_since[i] = ts
                    if ts - since >= self.for_ms[i]:
                        on[i] = True
                        self.enter_since[i] = None
                else:
                    self.enter_since[i] = None
        top = 0
        for i in range(self.n - 1, -1, -1):
            if on[i]:
                top = i + 1
                break
        self.top = top
        self.busy = top > 0 or any(s is not None for s in self.enter_since)
        return top

    def update_measure(
        self,
        ts: int,
        measure: float | None,
        enters: Sequence[float],
        exits: Sequence[float],
        rising: bool,
    ) -> int:
        """`update` for a single measured quantity against enter/exit thresholds."""
        if measure is None:
            none = [False] * self.n
            return self.update(ts, none, none)
        if rising:
            return self.update(ts, [measure >= e for e in enters], [measure < x for x in exits])
        return self.update(ts, [measure <= e for e in enters], [measure > x for x in exits])

    def state(self) -> dict[str, object]:
        return {
            "on": list(self.on),
            "enter_since": list(self.enter_since),
            "exit_since": list(self.exit_since),
        }

    def restore(self, state: dict[str, list[object]]) -> None:
        self.on = [bool(v) for v in state["on"]]
        self.enter_since = [None if v is None else int(str(v)) for v in state["enter_since"]]
        self.exit_since = [None if v is None else int(str(v)) for v in state["exit_since"]]
        self.top = max((i + 1 for i in range(self.n) if self.on[i]), default=0)
        self.busy = self.top > 0 or any(s is not None for s in self.enter_since)
