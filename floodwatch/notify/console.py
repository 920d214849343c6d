"""Console: every alert transition logged (`floodwatch.notify.console`, INFO)."""

from __future__ import annotations

import logging
from typing import Literal

from floodwatch.config.destinations import DestinationBase
from floodwatch.notify.channel import Channel, OneByOne, Sink, Wiring
from floodwatch.notify.outcome import Outcome
from floodwatch.notify.records import Delivery


class ConsoleDestination(DestinationBase):
    type: Literal["console"]


log = logging.getLogger(__name__)


def channel(wiring: Wiring[ConsoleDestination]) -> Channel:
    name = wiring.name

    async def send(delivery: Delivery) -> Outcome:
        log.info("notify %s: %s", name, delivery.event)
        return Outcome(True)

    return OneByOne(send)


SINK = Sink(ConsoleDestination, channel)
