"""Destination models, one module per sink, each validating its own fields.

`Destination` is their union, told apart by `type`; `DESTINATION_MODELS`
maps each type to its model (the loader uses it to name the keys valid for a
destination). Adding a sink is one module here beside its channel's module in
`floodwatch/notify/`, and one entry in the union and in the map.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from floodwatch.config.destinations.base import PEOPLE_DESTINATIONS, DestinationBase
from floodwatch.config.destinations.broadcast import BroadcastDestination
from floodwatch.config.destinations.console import ConsoleDestination
from floodwatch.config.destinations.influx import InfluxDestination
from floodwatch.config.destinations.kafka import KafkaDestination
from floodwatch.config.destinations.sms import RateLimit, SmsDestination, SmsProvider
from floodwatch.config.destinations.webhook import WebhookDestination

Destination = Annotated[
    WebhookDestination
    | ConsoleDestination
    | KafkaDestination
    | InfluxDestination
    | SmsDestination
    | BroadcastDestination,
    Field(discriminator="type"),
]
DESTINATION_MODELS: dict[str, type[DestinationBase]] = {
    "webhook": WebhookDestination,
    "console": ConsoleDestination,
    "kafka": KafkaDestination,
    "influx": InfluxDestination,
    "sms": SmsDestination,
    "broadcast": BroadcastDestination,
}

__all__ = [
    "DESTINATION_MODELS",
    "PEOPLE_DESTINATIONS",
    "BroadcastDestination",
    "ConsoleDestination",
    "Destination",
    "DestinationBase",
    "InfluxDestination",
    "KafkaDestination",
    "RateLimit",
    "SmsDestination",
    "SmsProvider",
    "WebhookDestination",
]
