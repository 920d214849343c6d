"""What a rule promises the fast path: the quiet region it cannot act in.

Every rule instance answers `fast_bound()`. A `FastBound` describes, with
plain numbers and the probes the rule reads, a region of input in which a
reading cannot change that rule (no latch can start, no alert can change).
The fast path (`rules.fast`) turns these into array checks; a series is
advanced in bulk only when every rule and dependent on it is inside its
region for the whole batch.

Fail closed: `None` means "no bound", and a series carrying such a rule goes
through the exact per-reading path for every reading. A new rule kind that
does not describe its quiet region is therefore slower, never silent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from floodwatch.rules.windows import AccumProbe, RateProbe

#: a readout the fast path knows how to bound (a series' last good value, a
#: rate probe, an accumulation probe); see `rules.kinds.compound.LastValue`
Source = object


def anything(_ts: int) -> float:
    """No bound on the value itself: any reading is quiet as far as its value goes."""
    return float("inf")


@dataclass(frozen=True, slots=True)
class Watch:
    """One condition of a compound rule as the fast path sees it: the rule may
    act once `source` reaches `bound` from below (`above`) or falls under it."""

    source: Source
    side: Literal["above", "below"]
    bound: float


@dataclass(frozen=True, slots=True)
class FastBound:
    """The region in which the rule cannot act; everything listed must hold.

    - `below(ts)`: readings of the rule's series under this value at event time
      `ts` cannot start it (`anything`: no limit from the value itself).
    - `seasonal`: `below` changes with the date (checked at each reading's time).
    - `rates`: each probe's rate over the batch stays under its bound.
    - `totals`: each accumulation probe's total plus the batch's rain stays under.
    - `watches` / `all_of`: for rules on linked series (compound): the rule may
      act only when all (or any) of its watches could be true.
    - `reads`: the last values of other series the rule reads when it acts
      (`LastValue`s): whenever the rule's own series goes the exact way, so do
      those, so that it reads them as of its own readings' times.
    """

    below: Callable[[int], float] = anything
    seasonal: bool = False
    rates: tuple[tuple[RateProbe, float], ...] = ()
    totals: tuple[tuple[AccumProbe, float], ...] = ()
    watches: tuple[Watch, ...] = ()
    all_of: bool = True
    reads: tuple[Source, ...] = ()
