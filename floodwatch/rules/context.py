"""How a rule instance speaks: its `RuleContext` built from its binding, and
the threshold arguments every `ThresholdCore` kind takes. Shared by the kinds'
`attach` (see `rules/kind.py`)."""

from __future__ import annotations

import sys

from floodwatch.alerts.messages import MEASURES
from floodwatch.alerts.state import Severity
from floodwatch.rules.base import RuleContext
from floodwatch.rules.compile import Binding, CompiledConfig, unit_of
from floodwatch.rules.thresholds import Threshold


def context(
    compiled: CompiledConfig,
    binding: Binding,
    measure_kind: str,
    suffix: str = "",
    levels: tuple[Severity, ...] | None = None,
    own_advice: tuple[Severity, tuple[str, str]] | None = None,
) -> RuleContext:
    """`own_advice`: a rule's advice for its one severity (a compound rule's
    `advice:`), beside its levels' advice."""
    rule = binding.rule
    kind = getattr(rule, "kind", "?")
    advice = {lb.severity: lb.advice for lb in binding.levels if lb.advice is not None}
    if own_advice is not None:
        advice[own_advice[0]] = own_advice[1]
    if levels is None:
        levels = tuple(lb.severity for lb in binding.levels)
    # Thousands of stations share a rule: share its strings, tuples and dicts too.
    return RuleContext(
        rule=sys.intern(getattr(rule, "id", "?") + suffix),
        kind=kind,
        station=binding.station.id,
        place=binding.station.place,
        measure=MEASURES[measure_kind],
        unit=unit_of(measure_kind, kind),
        levels=_shared(levels),
        exercise=compiled.exercise,
        advice=_shared_dict(advice),
    )


_SHARED: dict[object, object] = {}


def _shared(value: tuple[Severity, ...]) -> tuple[Severity, ...]:
    return _SHARED.setdefault(value, value)  # type: ignore[return-value]


def _shared_dict(
    value: dict[Severity, tuple[str, str]],
) -> dict[Severity, tuple[str, str]]:
    key = ("dict", *sorted(value.items()))
    return _SHARED.setdefault(key, value)  # type: ignore[return-value]


def threshold_args(
    binding: Binding, rising: bool
) -> tuple[list[Threshold], list[Threshold], list[int], list[int], bool]:
    """(enter, exit, for_ms, clear_ms, rising) of a threshold binding's levels."""
    return (
        [lb.enter for lb in binding.levels],
        [lb.exit for lb in binding.levels],
        [lb.for_ms for lb in binding.levels],
        [lb.clear_ms for lb in binding.levels],
        rising,
    )
