"""Alerts (per rule and station, for engineers): `GET /api/alerts` (active or
the history, filtered), `GET /api/alerts/{id}` (its timeline),
`POST /api/alerts/{id}/ack`."""

from __future__ import annotations

import json
import logging
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import AwareDatetime, Field

from floodwatch.alerts.state import Severity
from floodwatch.readings import parse_ts, ts_to_ms
from floodwatch.web import board
from floodwatch.web.routes.context import Body, Context, Who, known_parameters

log = logging.getLogger(__name__)

ALERT_FILTERS = (
    "active",
    "severity",
    "station",
    "town",
    "rule",
    "status",
    "since",
    "until",
    "limit",
)


class Ack(Body):
    comment: str = Field("", max_length=500)


def router(ctx: Context) -> APIRouter:
    service, store, ledger = ctx.service, ctx.store, ctx.ledger
    api = APIRouter()

    @api.get("/api/alerts")
    async def alerts(  # noqa: PLR0913 — one parameter per query filter (FastAPI)
        request: Request,
        active: bool = False,
        severity: Annotated[list[Severity] | None, Query()] = None,
        station: str | None = None,
        town: str | None = None,
        rule: str | None = None,
        status: Literal["actual", "exercise"] | None = None,
        since: AwareDatetime | None = None,
        until: AwareDatetime | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> list[dict[str, Any]]:
        """Active alerts (most severe first, then oldest) or the transition history
        (newest first). A filter that cannot match (an unknown parameter or value, a
        time without a zone, `since` after `until`) is 422 naming the valid values,
        never an empty list."""
        known_parameters(request, ALERT_FILTERS)
        if since is not None and until is not None and since > until:
            raise HTTPException(
                422, f"since ({since.isoformat()}) is after until ({until.isoformat()})"
            )
        stations = None if station is None else [station]
        if town is not None:
            in_town = [
                sid
                for sid, info in service.compiled.stations.items()
                if info.model.town is not None and info.model.town.code == town
            ]
            stations = in_town if stations is None else [s for s in stations if s in in_town]
        since_ms = None if since is None else int(since.timestamp() * 1000)
        until_ms = None if until is None else int(until.timestamp() * 1000)
        if not active:
            return store.history(
                stations=stations,
                rule=rule,
                status=status,
                severities=None if severity is None else [s.value for s in severity],
                since_ms=since_ms,
                until_ms=until_ms,
                limit=limit,
            )
        out = []
        for event in store.active():
            ts = _ms(event["ts"])
            if (
                (severity and event["severity"] not in severity)
                or (stations is not None and event["station"] not in stations)
                or (rule and event["rule"] != rule)
                or (status and event["status"] != status)
                or (since_ms is not None and ts < since_ms)
                or (until_ms is not None and ts > until_ms)
            ):
                continue
            out.append(board.alert_summary(event, ledger, store))
        out.sort(key=lambda e: (-Severity(str(e["severity"])).rank, str(e["episode_start"])))
        return out[:limit]

    @api.get("/api/alerts/{alert_id:path}")
    async def alert(alert_id: str) -> dict[str, Any]:
        found = board.timeline(alert_id, ledger, store)
        if found is None:
            raise HTTPException(404, f"no alert {alert_id!r}")
        return found

    @api.post("/api/alerts/{alert_id:path}/ack")
    async def ack(alert_id: str, body: Ack, who: Who) -> dict[str, Any]:
        if board.timeline(alert_id, ledger, store) is None:
            raise HTTPException(404, f"no alert {alert_id!r}")
        now = time.time()
        done = store.incidents.covered(alert_id)  # the alert and its incident
        with store.transaction():
            for one in done:
                ledger.acknowledge(one, who.name, "web", body.comment, now)
        log.info("alert %s acknowledged by %s: %s", alert_id, who.name, body.comment)
        publish_acks(ctx, done, who.name)
        return {"acknowledged": alert_id, "by": who.name, "at": now, "covers": done}

    return api


def publish_acks(ctx: Context, ids: list[str], by: str) -> None:
    """Tell the live pages: each alert or incident acknowledged."""
    for one in ids:
        ctx.hub.publish(
            {"event": "ack", "data": json.dumps({"id": one, "by": by}, ensure_ascii=False)}
        )


def _ms(ts: object) -> int:
    return ts_to_ms(parse_ts(str(ts)))
