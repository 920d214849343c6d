"""Webhook: the alert JSON POSTed to a URL, with the idempotency key as the
`Idempotency-Key` header; the answer classified as HTTP (`outcome.classify_http`)."""

from __future__ import annotations

import httpx

from floodwatch.config.destinations import WebhookDestination
from floodwatch.notify.channel import Channel, OneByOne, Wiring
from floodwatch.notify.outcome import Outcome, classify_http, http_failure
from floodwatch.notify.records import Delivery


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
