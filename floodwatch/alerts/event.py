"""The alert event: what `replay` writes, one per line, and what sinks receive.

An event is emitted once per transition of an alert (firing, escalated,
downgraded, resolved), never once per reading. `id` names the episode: the same
rule, station and episode start always give the same id, so replaying the same
input twice gives identical ids and a sink can use (id, transition, severity)
as an idempotency key.

`incident` names the incident the alert belongs to (the flood alerts of a
station and its linked stations, told to people as one); people-facing
destinations receive incident notifications (`kind` "incident", `id` the
incident id), machine destinations every alert transition.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import msgspec

from floodwatch.alerts.state import EvacuationStage, Severity, Status, Transition
from floodwatch.readings import format_ts, ms_to_dt


class AlertEvent(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    rule: str
    kind: str
    station: str
    station_name: str
    severity: Severity
    previous_severity: Severity | None
    transition: Transition
    ts: datetime
    episode_start: datetime
    value: float | None
    threshold: float | None
    unit: str
    forecast: dict[str, float | bool] | None = None  # minutes_to_crest, overtopping …
    stage: EvacuationStage | None = None
    status: Status = Status.ACTUAL
    message_zh: str
    message_en: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)
    # The incident the alert is part of (`floodwatch.rules.incidents.tracker`); None for
    # a sensor or operations notice outside any incident.
    incident: str | None = None
    # Only on deliveries to machine destinations: a silence held it back from people.
    silenced: bool = False

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON object (ISO 8601 UTC times)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        out["ts"] = format_ts(self.ts)
        out["episode_start"] = format_ts(self.episode_start)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertEvent:
        return msgspec.convert(data, cls, strict=False)


def episode_id(rule: str, station: str, start_ms: int) -> str:
    """Stable id of one alert episode: same rule + station + start → same id."""
    digest = hashlib.sha256(f"{rule}\x1f{station}\x1f{start_ms}".encode()).hexdigest()
    return f"{station}:{rule}:{digest[:12]}"


def info_notice(  # noqa: PLR0913 — keyword-only fields of the AlertEvent it builds
    *,
    alert_id: str,
    rule: str,
    kind: str,
    station: str,
    station_name: str,
    start_ms: int,
    now_ms: int,
    transition: Transition,
    zh: str,
    en: str,
    details: dict[str, object],
) -> AlertEvent:
    """An `info` notice (a sensor's clock, the service's own operations): no
    value or threshold, raised at `start_ms`, this transition at `now_ms`."""
    return AlertEvent(
        id=alert_id,
        rule=rule,
        kind=kind,
        station=station,
        station_name=station_name,
        severity=Severity.INFO,
        previous_severity=Severity.INFO if transition is Transition.RESOLVED else None,
        transition=transition,
        ts=ms_to_dt(now_ms),
        episode_start=ms_to_dt(start_ms),
        value=None,
        threshold=None,
        unit="",
        message_zh=zh,
        message_en=en,
        details=details,
    )
