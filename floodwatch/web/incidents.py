"""What the command center shows of incidents: each with its active alerts
(worst first, those the inhibition rules hold back now marked `inhibited`),
`worst_now` (the condition a notice would lead with now), its current notice
(`worst`: what people were last told), acknowledgement and unanswered calls,
and `live`: the condition of its station from the latest readings (level,
freeboard to the crest, rain, flow, each with its time).

`GET /api/incidents` (active, or `?all=true` for the history, newest first),
`GET /api/incidents/{id}` (with every change), `POST /api/incidents/{id}/ack`
(the incident and every alert in it).
"""

from __future__ import annotations

from typing import Any

from floodwatch.alerts.event import AlertEvent
from floodwatch.rules.compile import CompiledConfig
from floodwatch.rules.incidents.inhibit import inhibited
from floodwatch.rules.incidents.text import condition, rule_names
from floodwatch.rules.incidents.tracker import is_flood, worst_first
from floodwatch.store.ledger import Ledger
from floodwatch.web.board import Recent


def live(station: str, compiled: CompiledConfig, recent: Recent) -> dict[str, Any]:
    """The station's condition now, from the latest readings held in memory."""
    info = compiled.stations.get(station)
    out: dict[str, Any] = {}
    if info is None:
        return out
    for kind in info.model.kinds:
        latest = recent.latest(station, kind)
        if latest is not None:
            out[kind] = {"value": latest[1], "at": latest[0]}
    levels = info.model.levels
    level = out.get("level")
    if levels is not None and levels.crest is not None:
        out["crest"] = levels.crest
        if level is not None:
            out["freeboard"] = round(levels.crest - float(level["value"]), 3)
    return out


def worst_now(incident: dict[str, Any], compiled: CompiledConfig) -> dict[str, Any] | None:
    """Marks the active alerts the inhibition rules hold back now, and returns
    the worst condition now (the alert a notice would lead with)."""
    config = compiled.config
    events = [AlertEvent.from_json(a) for a in incident["alerts"]]
    held = inhibited(events, config.engine.incidents.inhibit)
    for alert in incident["alerts"]:
        alert["inhibited"] = alert["id"] in held
    shown = sorted((e for e in events if is_flood(e) and e.id not in held), key=worst_first)
    if not shown:
        return None
    lead = shown[0]
    zh, en = condition(lead, rule_names(config.rules))
    return {"alert": lead.id, "rule": lead.rule, "severity": lead.severity.value,
            "zh": zh, "en": en}  # fmt: skip


def view(
    incident: dict[str, Any], ledger: Ledger, compiled: CompiledConfig, recent: Recent
) -> dict[str, Any]:
    ident = str(incident["id"])
    return {
        **incident,
        "worst_now": worst_now(incident, compiled),
        "acknowledged": ledger.current_ack(ident),
        "unanswered": [r.name for r in ledger.unanswered(ident)],
        "live": live(str(incident["station"]), compiled, recent),
    }
