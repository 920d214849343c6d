"""The live stream: `GET /api/stream` (Server-Sent Events; the token may come
as `?token=`, EventSource sends no headers). What it carries: `web/stream.py`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse

from floodwatch.web.routes.context import Context


def router(ctx: Context) -> APIRouter:
    api = APIRouter()

    @api.get("/api/stream")
    async def stream(request: Request) -> EventSourceResponse:
        last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        return EventSourceResponse(ctx.hub.events(ctx.store, last), ping=15)

    return api
