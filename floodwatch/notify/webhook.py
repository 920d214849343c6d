"""Webhook: the alert JSON POSTed to a URL, with the idempotency key as the
`Idempotency-Key` header; the answer classified as HTTP (`outcome.classify_http`)."""

from __future__ import annotations

from typing import Literal

import httpx
from pydantic import Field

from floodwatch.config.base import Problems
from floodwatch.config.destinations import DestinationBase
from floodwatch.notify.channel import Channel, OneByOne, Sink, Wiring
from floodwatch.notify.outcome import Outcome, classify_http, http_failure
from floodwatch.notify.records import Delivery


class WebhookDestination(DestinationBase):
    type: Literal["webhook"]
    url: str | None = Field(None, description="where to POST the alert JSON")
    headers: dict[str, str] = Field(default_factory=dict)

    def problems(self) -> Problems:
        yield from super().problems()
        if not self.url:
            yield ("url",), "a webhook destination needs a url"


def channel(wiring: Wiring[WebhookDestination]) -> Channel:
    dest, client = wiring.dest, wiring.client
    assert dest.url is not None  # its model's problems() require it
    url = dest.url
    timeout = dest.timeout.total_seconds()

    async def send(delivery: Delivery) -> Outcome:
        headers = {
            **dest.headers,
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.key,
        }
        try:
            response = await client.post(
                url, content=delivery.event.encode(), headers=headers, timeout=timeout
            )
        except httpx.HTTPError as exc:
            return http_failure(exc, timeout)
        return classify_http(response)

    return OneByOne(send)


SINK = Sink(WebhookDestination, channel)
