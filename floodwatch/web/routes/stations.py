"""Stations: `GET /api/stations` (each with its latest values and worst
active alert), `GET /api/stations/{id}` (plus the last day's readings, the
lines that apply now, labelled, the latest time-to-crest forecasts and the
alerts, for its charts)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException

from floodwatch.web import board
from floodwatch.web.routes.context import Context


def router(ctx: Context) -> APIRouter:
    service, store, recent = ctx.service, ctx.store, ctx.recent
    api = APIRouter()

    @api.get("/api/stations")
    async def stations() -> list[dict[str, Any]]:
        return board.station_rows(service.compiled, recent, store.active(), service.clock_ms())

    @api.get("/api/stations/{station_id}")
    async def station(station_id: str) -> dict[str, Any]:
        info = service.compiled.stations.get(station_id)
        if info is None:
            raise HTTPException(404, f"no station {station_id!r}")
        [row] = board.station_rows(
            service.compiled, recent, store.active(), service.clock_ms(), only={station_id}
        )
        clock = service.clock_ms() or int(time.time() * 1000)
        start = clock - board.DAY_MS
        series = {
            kind: [[ms, v] for ms, v in recent.since(station_id, kind, start)]
            for kind in info.model.kinds
        }
        history = store.history(stations=[station_id], since_ms=start, limit=5000)[::-1]
        forecasts = {
            rule: {"at": at, **made}
            for (sid, rule), (at, made) in service.forecasts().items()
            if sid == station_id
        }
        return {
            **row,
            "forecasts": forecasts,
            "series": series,
            "thresholds": board.thresholds(service.compiled, station_id, clock),
            "alerts": history,
            "from": start,
            "to": clock,
        }

    return api
