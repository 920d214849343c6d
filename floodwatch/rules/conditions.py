"""Conditions on series, three-valued: true, false or unknown.

`LastValue` (the latest good value of a series), a `BoundCondition` on it or
on a rate or accumulation probe, and `ConditionGroup` (all / any). Read by
compound rules (`kinds/compound.py`) and the fast path (`LastValue`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from floodwatch.alerts.messages import ConditionText
from floodwatch.rules.bound import Watch
from floodwatch.rules.store import Column
from floodwatch.rules.thresholds import Threshold
from floodwatch.rules.windows import AccumProbe, RateProbe


class LastValue:
    """The latest good value of a series (shared by the series and its readers)."""

    __slots__ = ("_cols", "_i")

    ts: Column[int] = Column("lv_ts")
    value: Column[float] = Column("lv_value")


@dataclass
class BoundCondition:
    label: str
    source: LastValue | RateProbe | AccumProbe
    above: Threshold | None
    below: Threshold | None
    max_age_ms: int
    text: ConditionText

    def bound(self, ts: int) -> float:
        threshold = self.above if self.above is not None else self.below
        assert threshold is not None
        return threshold.at(ts)

    def say(self, ts: int) -> tuple[str, str]:
        """The condition as people read it, with its value and bound now."""
        text = self.text
        bound = self.bound(ts)
        if bound != text.bound:
            text = replace(text, bound=bound)
        return text.say(self.metric(ts)[0])

    def watch(self) -> Watch:
        """The fast path's view: the lowest (highest) value the bound can take."""
        if self.above is not None:
            return Watch(self.source, "above", min(self.above.values()))
        assert self.below is not None
        return Watch(self.source, "below", max(self.below.values()))

    def metric(self, ts: int) -> tuple[float | None, bool]:
        """(metric value or None when unknown, whether it is complete)."""
        src = self.source
        if isinstance(src, LastValue):
            if src.ts < 0 or ts - src.ts > self.max_age_ms:
                return None, False
            return src.value, True
        if src.updated < 0 or ts - src.updated > self.max_age_ms:
            return None, False
        if isinstance(src, RateProbe):
            return src.rate, True
        return src.total, src.complete

    def truth(self, ts: int) -> bool | None:
        value, complete = self.metric(ts)
        if value is None:
            return None
        if self.above is not None:
            if value >= self.above.at(ts):
                return True
            return False if complete else None
        assert self.below is not None
        if not complete:
            return None
        return value < self.below.at(ts)


@dataclass
class ConditionGroup:
    """All (or any) of some conditions, three-valued: true, false or None (unknown)."""

    conditions: list[BoundCondition]
    all_of: bool

    def truth(self, ts: int) -> bool | None:
        truths = [c.truth(ts) for c in self.conditions]
        if self.all_of:
            return False if False in truths else (None if None in truths else True)
        return True if True in truths else (None if None in truths else False)
