"""The service's own state: `/healthz`, `/readyz` (for probes, public),
`/api/status` (event clock, exercise, zone; the names the page shows for
rule ids and the type of each destination) and `/metrics` (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from floodwatch.readings import format_ts, ms_to_dt
from floodwatch.web.metrics import registry_for
from floodwatch.web.routes.context import Context


def router(ctx: Context) -> APIRouter:
    service, store = ctx.service, ctx.store
    registry = registry_for(service)
    api = APIRouter()

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz")
    async def readyz() -> JSONResponse:
        problems = service.not_ready()
        if problems:
            return JSONResponse({"ready": False, "problems": problems}, status_code=503)
        return JSONResponse({"ready": True})

    @api.get("/api/status")
    async def status() -> dict[str, Any]:
        clock = service.clock_ms()
        drilling = any(e["status"] == "exercise" for e in store.active())
        config = service.compiled.config
        notify = config.service.notify
        return {
            "exercise": service.compiled.exercise or drilling,
            "event_clock": format_ts(ms_to_dt(clock)) if clock is not None else None,
            "timezone": service.compiled.zone.key,
            "ready": not service.not_ready(),
            # what the page shows for ids: rule names, destination types
            "rules": {r.id: {"name": r.name or r.id, "name_en": r.name_en or r.name or r.id}
                      for r in config.rules},
            "destinations": {n: d.type for n, d in notify.destinations.items()} if notify else {},
        }  # fmt: skip

    @api.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return api
