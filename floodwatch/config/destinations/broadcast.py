"""`type: broadcast` — village boxes over MQTT, CAP 1.2 and its JSON twin,
retained (channel: notify/broadcast.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from floodwatch.config.base import Problems
from floodwatch.config.destinations.base import DestinationBase
from floodwatch.config.values import Duration


class BroadcastDestination(DestinationBase):
    type: Literal["broadcast"]
    topic: str | None = Field(
        None,
        description="the CAP topic with {village_code} "
        "(default floodwatch/broadcast/{village_code})",
    )
    json_topic: str = Field(
        "floodwatch/broadcast/{village_code}/json",
        description="the JSON twin with the sentence to speak",
    )
    expiry: Duration = Field(
        timedelta(hours=6),
        description="MQTT message expiry and CAP <expires>; a warning still "
        "active is published again after half of it",
    )
    sender: str = Field("floodwatch@example.gov.cn", description="CAP <sender>")

    def problems(self) -> Problems:
        yield from super().problems()
        for key, topic in (("topic", self.topic), ("json_topic", self.json_topic)):
            if topic is not None and (
                "{village_code}" not in topic or any(c in topic for c in "+#")
            ):
                yield (key,), "a topic with {village_code} and no wildcards"
