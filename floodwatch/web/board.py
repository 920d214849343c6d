"""What the command center shows, assembled from the service: stations with
their latest readings, alerts with their timelines, recent series.

`Recent` keeps the last 24 h (event time) of every station's readings in
memory, fed after each stored step, and in the store (so charts survive a
restart).
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import TYPE_CHECKING, Any

from floodwatch.alerts.state import Severity
from floodwatch.config.values import Expr
from floodwatch.notify.records import Person, Village, recipient_id
from floodwatch.readings import Reading, format_ts, ms_to_dt, parse_ts, ts_to_ms
from floodwatch.rules.compile import CompiledConfig, resolve
from floodwatch.store.ledger import Ledger

if TYPE_CHECKING:
    from floodwatch.store import Store

DAY_MS = 24 * 3600 * 1000
SPARK_MS = 6 * 3600 * 1000  # the stations table's sparkline: the last 6 h
HEALTH_RULE = "sensor-health"


class Recent:
    """Per (station, kind): (event time ms, value), the last 24 h, in time order.

    Kept in memory for the charts and written to the store every few seconds
    (`flush`), so the charts survive a restart (`load`)."""

    def __init__(self, horizon_ms: int = DAY_MS) -> None:
        self.horizon_ms = horizon_ms
        self.series: dict[tuple[str, str], deque[tuple[int, float]]] = {}
        self.unsaved: list[tuple[str, str, int, float]] = []

    def add(self, readings: list[Reading]) -> None:
        for r in readings:
            ts = ts_to_ms(r.ts)
            self.unsaved.append((r.station, r.kind, ts, r.value))
            self._add(r.station, r.kind, ts, r.value)

    def load(self, store: Store) -> None:
        for station, kind, ts, value in store.recent_readings():
            self._add(station, kind, ts, value)

    def flush(self, store: Store) -> None:
        """Write what arrived since the last flush; forget what left the window."""
        if not self.unsaved:
            return
        rows, self.unsaved = self.unsaved, []
        newest = max(points[-1][0] for points in self.series.values() if points)
        store.keep_recent(rows, newest - self.horizon_ms)

    def _add(self, station: str, kind: str, ts: int, value: float) -> None:
        points = self.series.setdefault((station, kind), deque())
        if not points or ts >= points[-1][0]:
            points.append((ts, value))
        else:  # late reading: keep the order
            items = list(points)
            bisect.insort(items, (ts, value))
            points.clear()
            points.extend(items)
        while points and points[0][0] < points[-1][0] - self.horizon_ms:
            points.popleft()

    def latest(self, station: str, kind: str) -> tuple[int, float] | None:
        points = self.series.get((station, kind))
        return points[-1] if points else None

    def since(self, station: str, kind: str, start_ms: int) -> list[tuple[int, float]]:
        return [p for p in self.series.get((station, kind), ()) if p[0] >= start_ms]


def alert_summary(event: dict[str, Any], ledger: Ledger, store: Store) -> dict[str, Any]:
    """An active alert as the board lists it: the event plus acknowledgement
    (its own or its incident's), the unanswered calls of its incident and
    delivery status."""
    alert = str(event["id"])
    incident = event.get("incident")  # people are called per incident
    deliveries = store.states_of(alert)
    acked = ledger.current_ack(alert) or (ledger.current_ack(incident) if incident else None)
    return {
        **event,
        "acknowledged": acked,
        "unanswered": [r.name for r in ledger.unanswered(incident or alert)] if not acked else [],
        "deliveries": deliveries,
    }


def timeline(alert: str, ledger: Ledger, store: Store) -> dict[str, Any] | None:
    """One alert with every transition, delivery attempt, acknowledgement,
    call and escalation."""
    transitions = store.of_alert(alert)
    if not transitions:
        return None
    deliveries = store.deliveries_of(alert)
    deliveries += _incident_deliveries(transitions, store)
    deliveries.sort(key=lambda d: (float(d["created"]), str(d["key"])))  # type: ignore[arg-type]
    for d in deliveries:  # a person by name (and id), a village by its code
        who = d["recipient"]
        d["recipient_id"] = recipient_id(who) if isinstance(who, Person | Village) else ""
        d["recipient"] = who.name if isinstance(who, Person) else d["recipient_id"]
    follow = ledger.follow(alert)
    return {
        "id": alert,
        "active": store.is_active(alert),
        "current": transitions[-1],
        "transitions": transitions,
        "deliveries": deliveries,
        "acknowledgements": ledger.acks(alert),
        "calls": [
            {
                "name": c.recipient.name,
                "role": c.recipient.role,
                "tier": c.tier,
                "called_at": c.called_at,
                "answered_at": c.answered_at,
            }
            for c in ledger.calls(alert)
        ],
        "call_state": follow[3] if follow else None,
        "unanswered": [r.name for r in ledger.unanswered(alert)],
    }


def _incident_deliveries(
    transitions: list[dict[str, Any]], store: Store
) -> list[dict[str, object]]:
    """The notices to people (SMS, broadcast) about the alert's incident made
    while the alert was in it (from its first transition to its all-clear),
    each marked with the incident's id: people are told per incident."""
    incident = next((t["incident"] for t in reversed(transitions) if t.get("incident")), None)
    if incident is None:
        return []
    start = str(transitions[0]["ts"])
    end = str(transitions[-1]["ts"]) if transitions[-1]["transition"] == "resolved" else None
    out = []
    for d in store.deliveries_of(str(incident)):
        ts = str(d["ts"])
        if parse_ts(ts) >= parse_ts(start) and (end is None or parse_ts(ts) <= parse_ts(end)):
            out.append({**d, "incident": incident})
    return out


def station_rows(
    compiled: CompiledConfig,
    recent: Recent,
    active: list[dict[str, Any]],
    clock_ms: int | None,
    only: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Every station (or those in `only`): type, place, latest readings and
    their age (by the event clock), current alert level, sensor health."""
    by_station: dict[str, list[dict[str, Any]]] = {}
    for event in active:
        by_station.setdefault(str(event["station"]), []).append(event)
    out = []
    for sid, info in compiled.stations.items():
        if only is not None and sid not in only:
            continue
        model = info.model
        alerts = by_station.get(sid, [])
        warnings = [Severity(a["severity"]) for a in alerts if a["severity"] != "info"]
        level = max(warnings, key=lambda s: s.rank) if warnings else None
        latest = {}
        for kind in model.kinds:
            point = recent.latest(sid, kind)
            if point is not None:
                latest[kind] = {
                    "value": point[1],
                    "ts": format_ts(ms_to_dt(point[0])),
                    "age_s": None if clock_ms is None else (clock_ms - point[0]) / 1000,
                }
        main = model.kinds[0]
        spark = recent.since(sid, main, (clock_ms or 0) - SPARK_MS)
        step = max(1, len(spark) // 72)
        lines = [
            line
            for line in thresholds(compiled, sid, clock_ms or 0)
            if line["kind"] == "level" and "severity" in line
        ]
        out.append(
            {
                "id": sid,
                "spark": [[ms, v] for ms, v in spark[::step]],
                "spark_kind": main,
                "lines": lines if main == "level" else [],
                "name": model.name,
                "name_en": model.name_en or sid,
                "type": model.type,
                "village": model.village.name if model.village else None,
                "village_en": model.village.name_en if model.village else None,
                "location": model.location.model_dump() if model.location else None,
                "town": model.town.name if model.town else None,
                "latest": latest,
                "level": level.value if level else None,
                "health": sorted(
                    str(a.get("details", {}).get("check", a["rule"]))
                    for a in alerts
                    if a["severity"] == "info"
                ),
            }
        )
    return out


# A pond's or river's characteristic levels, as the charts label them.
STRUCTURE = (
    ("crest", "坝顶", "dam crest"),
    ("check_flood", "校核洪水位", "check flood level"),
    ("design_flood", "设计洪水位", "design flood level"),
    ("spillway_crest", "溢洪道堰顶", "spillway crest"),
    ("flood_limit", "汛限水位", "flood-limit level"),
    ("warning", "警戒水位", "warning level"),
    ("guarantee", "保证水位", "guaranteed level"),
)
SEVERITY_WORDS = {"blue": ("蓝色", "blue"), "yellow": ("黄色", "yellow"),
                  "orange": ("橙色", "orange"), "red": ("红色", "red")}  # fmt: skip


def thresholds(compiled: CompiledConfig, station: str, at_ms: int) -> list[dict[str, Any]]:
    """The lines to draw on a station's chart, each labelled in Chinese
    (`label`) and English (`label_en`): its characteristic levels (crest,
    spillway crest, the flood limit of the season at `at_ms`…), the warning
    levels of its level rules, the lines of its rainfall rules (per window)."""
    lines: list[dict[str, Any]] = []
    info = compiled.stations.get(station)
    if info is None:
        return lines
    if info.model.levels is not None:
        for attribute, zh, en in STRUCTURE:
            value = resolve(Expr(attribute, 0.0), info, compiled.zone)
            if value is not None:
                lines.append(
                    {"kind": "level", "structure": attribute, "label": zh, "label_en": en,
                     "value": round(value.at(at_ms), 3)}
                )  # fmt: skip
    for binding in compiled.bindings:
        if binding.station.id != station:
            continue
        rule: Any = binding.rule
        name, name_en = rule.name or rule.id, rule.name_en or rule.name or rule.id
        if rule.kind == "level":
            for level in binding.levels:
                zh, en = SEVERITY_WORDS[level.severity.value]
                lines.append(
                    {
                        "kind": "level",
                        "rule": rule.id,
                        "severity": level.severity.value,
                        "value": level.enter.at(at_ms),
                        "label": f"{name}{zh}",
                        "label_en": f"{name_en} {en}",
                    }
                )
        elif rule.kind == "rainfall":
            for severity, spec in rule.levels.items():
                zh, en = SEVERITY_WORDS[severity]
                for window, mm in spec.within.items():
                    lines.append(
                        {
                            "kind": "rain",
                            "rule": rule.id,
                            "severity": severity,
                            "window": window,
                            "value": mm,
                            "label": f"{zh}",
                            "label_en": en,
                        }
                    )
    return lines
