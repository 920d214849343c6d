"""What people were told: `GET /api/notifications` (the board's 通知 page) —
the SMS sent to each person, the calls (叫应) and who answered, and what each
village's broadcast box holds now. What it shows: `web/notifications.py`."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from floodwatch.web.notifications import notifications
from floodwatch.web.routes.context import Context


def router(ctx: Context) -> APIRouter:
    service, store = ctx.service, ctx.store
    api = APIRouter()

    @api.get("/api/notifications")
    async def notifications_(
        hours: Annotated[float, Query(gt=0, le=24 * 400)] = 48,
    ) -> dict[str, Any]:
        """SMS per person (messages made in the last `hours`), calls, village boxes."""
        deliverer = service.deliverer
        return notifications(
            store,
            service.settings.notify,
            service.compiled,
            deliverer.recorder if deliverer is not None else None,
            since=time.time() - hours * 3600,
        )

    return api
