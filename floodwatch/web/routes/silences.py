"""Silences (no notification while in force; an incident never clears on
one): `GET /api/silences`, `POST /api/silences`, `DELETE /api/silences/{id}`.

`starts` and `ends` must name their zone (`Z` or `+08:00`), as the alert
filters' times do: a time without one is 422, not read in whatever zone the
server's clock is set to."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException
from pydantic import AwareDatetime, Field

from floodwatch.web.routes.context import Body, Context, Who


class NewSilence(Body):
    stations: list[str] = Field(default_factory=list, max_length=100)
    rules: list[str] = Field(default_factory=list, max_length=100)
    villages: list[str] = Field(default_factory=list, max_length=100)
    towns: list[str] = Field(default_factory=list, max_length=100)
    starts: AwareDatetime | None = None
    ends: AwareDatetime
    reason: str = Field(min_length=1, max_length=500)


def router(ctx: Context) -> APIRouter:
    store, ledger = ctx.store, ctx.ledger
    api = APIRouter()

    @api.get("/api/silences")
    async def silences(all: bool = False) -> list[dict[str, object]]:
        return [s.to_json() for s in ledger.silences(None if all else time.time())]

    @api.post("/api/silences", status_code=201)
    async def new_silence(body: NewSilence, who: Who) -> dict[str, object]:
        try:
            made = store.create_silence(
                starts=body.starts.timestamp() if body.starts else None,
                ends=body.ends.timestamp(),
                author=who.name,
                reason=body.reason,
                stations=body.stations,
                rules=body.rules,
                villages=body.villages,
                towns=body.towns,
            )
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return made.to_json()

    @api.delete("/api/silences/{silence_id}")
    async def end_silence(silence_id: str) -> dict[str, str]:
        with store.transaction():
            ended = ledger.end_silence(silence_id, time.time())
        if not ended:
            raise HTTPException(404, f"no silence {silence_id!r} in force")
        return {"ended": silence_id}

    return api
