"""Incidents (what people are told, per station group): `GET /api/incidents`
(active, or all), `GET /api/incidents/{id}`, `POST /api/incidents/{id}/ack`
(the incident and every alert in it). What an incident shows: `web/incidents.py`."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from floodwatch.web.incidents import urgency, view
from floodwatch.web.routes.alerts import Ack, publish_acks
from floodwatch.web.routes.context import Context, Who

log = logging.getLogger(__name__)


def router(ctx: Context) -> APIRouter:
    service, store, ledger, recent = ctx.service, ctx.store, ctx.ledger, ctx.recent
    api = APIRouter()

    @api.get("/api/incidents")
    async def incidents_(
        all: bool = False, limit: Annotated[int, Query(ge=1, le=5000)] = 200
    ) -> list[dict[str, Any]]:
        """Active incidents, most urgent first (or all, newest first), with their
        active alerts and the live condition of their station."""
        found = store.incidents.list(active=not all, limit=limit)
        made = service.forecasts()
        shown = [view(i, store, service.compiled, recent, made) for i in found]
        return shown if all else sorted(shown, key=urgency)

    @api.get("/api/incidents/{incident_id:path}")
    async def incident(incident_id: str) -> dict[str, Any]:
        found = store.incidents.get(incident_id)
        if found is None:
            raise HTTPException(404, f"no incident {incident_id!r}")
        return view(found, store, service.compiled, recent, service.forecasts())

    @api.post("/api/incidents/{incident_id:path}/ack")
    async def ack_incident(incident_id: str, body: Ack, who: Who) -> dict[str, Any]:
        incidents = store.incidents
        if incidents.get(incident_id) is None:
            raise HTTPException(404, f"no incident {incident_id!r}")
        now = time.time()
        done = incidents.covered(incident_id)
        with store.transaction():
            for one in done:
                ledger.acknowledge(one, who.name, "web", body.comment, now)
        log.info("incident %s acknowledged by %s: %s", incident_id, who.name, body.comment)
        publish_acks(ctx, done, who.name)
        return {"acknowledged": done, "by": who.name, "at": now}

    return api
