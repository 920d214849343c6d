"""Console: every alert transition logged (`floodwatch.notify.console`, INFO)."""

from __future__ import annotations

import logging

from floodwatch.config.destinations import ConsoleDestination
from floodwatch.notify.channel import Channel, OneByOne, Wiring
from floodwatch.notify.outcome import Outcome
from floodwatch.notify.records import Delivery

log = logging.getLogger(__name__)


def channel(wiring: Wiring[ConsoleDestination]) -> Channel:
    name = wiring.name

    async def send(delivery: Delivery) -> Outcome:
        log.info("notify %s: %s", name, delivery.event)
        return Outcome(True)

    return OneByOne(send)
