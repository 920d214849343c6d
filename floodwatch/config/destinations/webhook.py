"""`type: webhook` — the alert JSON POSTed to `url` (channel: notify/webhook.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from floodwatch.config.base import Problems
from floodwatch.config.destinations.base import DestinationBase


class WebhookDestination(DestinationBase):
    type: Literal["webhook"]
    url: str | None = Field(None, description="where to POST the alert JSON")
    headers: dict[str, str] = Field(default_factory=dict)

    def problems(self) -> Problems:
        yield from super().problems()
        if not self.url:
            yield ("url",), "a webhook destination needs a url"
