"""What the command center shows of incidents: each with its active alerts
(worst first, those the inhibition rules hold back now marked `inhibited`),
`worst_now` (the condition a notice would lead with now), its current notice
(`worst`: what people were last told), acknowledgement and unanswered calls,
and `live`: the condition of its station now, from the latest readings and the
engine's latest forecasts (level, freeboard to the crest, rise per hour, the
outlet's flow, rain totals of the linked gauge over 1/3/6/24 h, each time-to-
crest rule's forecast; on each rainfall alert `rain`: the window that fired,
its total now and its peak since the alert was raised), so a card never
shows the value of the moment an alert fired as if it were the value now.
Active incidents come most urgent first (`urgency`): severity, overtopping,
fewest minutes to crest, oldest.

`GET /api/incidents` (active, or `?all=true` for the history, newest first),
`GET /api/incidents/{id}` (with every change), `POST /api/incidents/{id}/ack`
(the incident and every alert in it).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity
from floodwatch.rules.compile import CompiledConfig
from floodwatch.rules.incidents.inhibit import inhibited
from floodwatch.rules.incidents.text import condition, rule_names
from floodwatch.rules.incidents.tracker import is_flood, worst_first
from floodwatch.store import Store
from floodwatch.web.board import Recent

HOUR_MS = 3_600_000


RAIN_WINDOWS = {"1h": HOUR_MS, "3h": 3 * HOUR_MS, "6h": 6 * HOUR_MS, "24h": 24 * HOUR_MS}
WINDOW_NAMES = {"1d": "24h"}  # a rule's window as the engine writes it -> RAIN_WINDOWS
Forecasts = dict[tuple[str, str], tuple[int, dict[str, float]]]


def live(
    station: str, compiled: CompiledConfig, recent: Recent, forecasts: Forecasts | None = None
) -> dict[str, Any]:
    """The station's condition now, from the latest readings held in memory
    and the engine's latest forecasts."""
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
            out["overtopping"] = float(level["value"]) >= levels.crest
    if level is not None:
        hour_ago = recent.since(station, "level", int(level["at"]) - HOUR_MS)
        if len(hour_ago) >= 2 and hour_ago[-1][0] > hour_ago[0][0]:
            (t0, v0), (t1, v1) = hour_ago[0], hour_ago[-1]
            out["rise_per_hour"] = round((v1 - v0) / (t1 - t0) * HOUR_MS, 3)
    outlet = info.model.links.get("outlet")
    if outlet is not None:
        flow = recent.latest(outlet, "flow")
        if flow is not None:
            out["outlet"] = {"station": outlet, "flow": flow[1], "at": flow[0]}
    gauge = info.model.links.get("rain_gauge") or (station if "rain" in info.model.kinds else None)
    if gauge is not None:
        last = recent.latest(gauge, "rain")
        if last is not None:
            out["rain_totals"] = {
                "station": gauge,
                "at": last[0],
                **{
                    name: round(
                        sum(v for t, v in recent.since(gauge, "rain", last[0] - span + 1)), 1
                    )
                    for name, span in RAIN_WINDOWS.items()
                },
            }
    shown = {rule: {"at": at, **made} for (sid, rule), (at, made) in (forecasts or {}).items()
             if sid == station}  # fmt: skip
    if shown:
        out["forecasts"] = shown
    return out


def rain_since_raise(alert: dict[str, Any], recent: Recent) -> dict[str, Any] | None:
    """A rainfall alert's window that fired, its running total now and its
    peak since the alert was raised (episode start): a red from a burst stays
    explained after the burst has left the window."""
    named = str(alert.get("details", {}).get("window"))
    window = WINDOW_NAMES.get(named, named)
    span = RAIN_WINDOWS.get(window)
    if span is None:
        return None
    start = int(datetime.fromisoformat(str(alert["episode_start"])).timestamp() * 1000)
    points = recent.since(str(alert["station"]), "rain", start - span + 1)
    if not points:
        return None
    peak, peak_at, total, first = 0.0, start, 0.0, 0
    for ts, value in points:  # running total over (ts - span, ts]
        total += value
        while points[first][0] <= ts - span:
            total -= points[first][1]
            first += 1
        if ts >= start and total >= peak:
            peak, peak_at = total, ts
    return {"window": window, "now": round(total, 1), "peak": round(peak, 1), "peak_at": peak_at}


def urgency(incident: dict[str, Any]) -> tuple[int, int, float, str]:
    """Sort key, most urgent first: severity, overtopping now, fewest minutes
    to crest (live forecast, else the alerts'), oldest."""
    rank = Severity(str(incident["severity"])).rank if incident["severity"] != "info" else 0
    now = incident.get("live", {})
    minutes = [
        float(f["minutes_to_crest"])
        for f in now.get("forecasts", {}).values()
        if f.get("minutes_to_crest") is not None
    ] or [
        float(a["forecast"]["minutes_to_crest"])
        for a in incident.get("alerts", [])
        if a.get("forecast") and a["forecast"].get("minutes_to_crest") is not None
    ]
    return (-rank, 0 if now.get("overtopping") else 1, min(minutes, default=math.inf),
            str(incident["started"]))  # fmt: skip


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
    incident: dict[str, Any],
    store: Store,
    compiled: CompiledConfig,
    recent: Recent,
    forecasts: Forecasts | None = None,
) -> dict[str, Any]:
    """An incident as the command center shows it; its alerts carry their
    rule's names (`rule_name`, `rule_name_en`, from the config's `name:`)."""
    ident = str(incident["id"])
    ledger = store.people
    names = {r.id: (r.name or r.id, r.name_en or r.name or r.id) for r in compiled.config.rules}
    for alert in incident.get("alerts", []):
        alert["rule_name"], alert["rule_name_en"] = names.get(
            str(alert["rule"]), (str(alert["rule"]), str(alert["rule"]))
        )
        if alert.get("kind") == "rainfall":
            alert["rain"] = rain_since_raise(alert, recent)
    return {
        **incident,
        "worst_now": worst_now(incident, compiled),
        "acknowledged": ledger.current_ack(ident),
        "unanswered": [r.name for r in ledger.unanswered(ident)],
        "calls": [
            {
                "name": c.recipient.name,
                "role": c.recipient.role,
                "tier": c.tier,
                "called_at": c.called_at,
                "answered_at": c.answered_at,
            }
            for c in ledger.calls(ident)
        ],
        "deliveries": deliveries(store, compiled, ident),
        "live": live(str(incident["station"]), compiled, recent, forecasts),
    }


def deliveries(store: Store, compiled: CompiledConfig, ident: str) -> list[dict[str, Any]]:
    """The incident's notices per destination: its type (sms, broadcast…) and
    how many deliveries are in each state."""
    notify = compiled.config.service.notify
    kinds = {name: d.type for name, d in notify.destinations.items()} if notify else {}
    out: dict[str, dict[str, Any]] = {}
    for d in store.deliveries_of(ident):
        name = str(d["destination"])
        row = out.setdefault(
            name, {"destination": name, "type": kinds.get(name, name), "states": {}}
        )
        row["states"][str(d["state"])] = row["states"].get(str(d["state"]), 0) + 1
    return list(out.values())
