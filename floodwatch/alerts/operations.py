"""Operations alerts: `info` alerts about floodwatch itself (a config that does
not load, a destination failing). Pure: the caller gives the time.

They are alert events like any other (stored, shown, routed), on the pseudo
station `floodwatch`, with a rule under `floodwatch/` and a subject (what is
wrong: the config, a destination's name) in `details`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from floodwatch.alerts.event import AlertEvent, episode_id, info_notice
from floodwatch.alerts.state import Transition
from floodwatch.readings import ts_to_ms

STATION = "floodwatch"


@dataclass
class OperationsAlerts:
    """The open operations alerts, by (rule, subject)."""

    open: dict[tuple[str, str], AlertEvent] = field(default_factory=dict)

    def raise_(
        self,
        rule: str,
        subject: str,
        now_ms: int,
        zh: str,
        en: str,
        details: dict[str, object] | None = None,
    ) -> AlertEvent | None:
        """The firing event, or None if this problem is up already."""
        if (rule, subject) in self.open:
            return None
        event = _event(rule, subject, now_ms, now_ms, Transition.FIRING, zh, en, details or {})
        self.open[(rule, subject)] = event
        return event

    def restore(self, active: Iterable[AlertEvent]) -> None:
        """Take back the operations alerts still open in the store after a
        restart (the others in `active` are not ours), so that the problem's
        end resolves them and a problem still there raises nothing twice."""
        for event in active:
            subject = event.details.get("subject")
            if event.station == STATION and isinstance(subject, str):
                self.open[(event.rule, subject)] = event

    def resolve(self, rule: str, subject: str, now_ms: int, zh: str, en: str) -> AlertEvent | None:
        """The resolving event, or None if nothing was open."""
        opened = self.open.pop((rule, subject), None)
        if opened is None:
            return None
        start = ts_to_ms(opened.episode_start)
        return _event(rule, subject, start, now_ms, Transition.RESOLVED, zh, en, {})


def _event(
    rule: str,
    subject: str,
    start_ms: int,
    now_ms: int,
    transition: Transition,
    zh: str,
    en: str,
    details: dict[str, object],
) -> AlertEvent:
    return info_notice(
        alert_id=episode_id(rule, f"{STATION}/{subject}", start_ms),
        rule=rule,
        kind="operations",
        station=STATION,
        station_name=STATION,
        start_ms=start_ms,
        now_ms=now_ms,
        transition=transition,
        zh=zh,
        en=en,
        details={"subject": subject, **details},
    )
