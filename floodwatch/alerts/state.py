"""Severity order and the one pure transition function of an alert.

The Chinese four-colour scale, ordered once here: blue (IV) < yellow (III) <
orange (II) < red (I). `info` is for sensor-health notices and ranks below all
warning colours.
"""

from __future__ import annotations

import enum


class Severity(enum.StrEnum):
    INFO = "info"
    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def roman(self) -> str:
        """The grade used in Chinese warning texts (IV … I); empty for info."""
        return _ROMAN[self]


_RANK = {
    Severity.INFO: 0,
    Severity.BLUE: 1,
    Severity.YELLOW: 2,
    Severity.ORANGE: 3,
    Severity.RED: 4,
}
_ROMAN = {
    Severity.INFO: "",
    Severity.BLUE: "IV",
    Severity.YELLOW: "III",
    Severity.ORANGE: "II",
    Severity.RED: "I",
}
WARNING_LEVELS: tuple[Severity, ...] = (
    Severity.BLUE,
    Severity.YELLOW,
    Severity.ORANGE,
    Severity.RED,
)


class Transition(enum.StrEnum):
    FIRING = "firing"
    ESCALATED = "escalated"
    DOWNGRADED = "downgraded"
    RESOLVED = "resolved"


class Status(enum.StrEnum):
    """CAP-style status: real warnings vs drills (演练)."""

    ACTUAL = "actual"
    EXERCISE = "exercise"


class EvacuationStage(enum.StrEnum):
    """Rainfall-driven evacuation stages: 准备转移 / 立即转移."""

    PREPARE = "prepare"
    EVACUATE = "evacuate"


def transition(before: Severity | None, after: Severity | None) -> Transition | None:
    """The transition from one alert severity to another; None when nothing changed.

    `None` as a severity means "no alert". This is the only place that decides
    which event a change of severity is.
    """
    if before == after:
        return None
    if before is None:
        return Transition.FIRING
    if after is None:
        return Transition.RESOLVED
    return Transition.ESCALATED if after.rank > before.rank else Transition.DOWNGRADED
