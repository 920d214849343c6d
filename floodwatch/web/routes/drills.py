"""Drills (演练: an alert with status exercise end to end):
`POST /api/drills`, `DELETE /api/drills/{alert_id}`."""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import Field

from floodwatch.alerts.state import Severity
from floodwatch.service import operations
from floodwatch.web.routes.context import Body, Context, Who

log = logging.getLogger(__name__)


class NewDrill(Body):
    station: str = Field(min_length=1, max_length=64)
    severity: Literal["blue", "yellow", "orange", "red"]


def router(ctx: Context) -> APIRouter:
    service = ctx.service
    api = APIRouter()

    @api.post("/api/drills", status_code=201)
    async def start_drill(body: NewDrill, who: Who) -> dict[str, Any]:
        """Start a drill (演练) alert at a station: status exercise end to end."""
        if body.station not in service.compiled.stations:
            raise HTTPException(404, f"no station {body.station!r}")
        event = operations.start_drill(service, body.station, Severity(body.severity), who.name)
        log.info("drill %s started by %s", event.id, who.name)
        return event.to_json()

    @api.delete("/api/drills/{alert_id:path}")
    async def end_drill(alert_id: str, who: Who) -> dict[str, Any]:
        event = operations.end_drill(service, alert_id)
        if event is None:
            raise HTTPException(404, f"no drill {alert_id!r} running")
        log.info("drill %s ended by %s", alert_id, who.name)
        return event.to_json()

    return api
