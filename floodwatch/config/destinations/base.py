"""What every destination has, whatever its sink: the status it may receive,
recording, the per-attempt timeout and when failing raises an alert."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from floodwatch.alerts.state import Status
from floodwatch.config.base import Model, Problems
from floodwatch.config.values import Duration

# Destinations people read or hear; the others (kafka, influx, webhook, console)
# are machine records and receive every alert transition, silenced or not.
PEOPLE_DESTINATIONS = ("sms", "broadcast")


class DestinationBase(Model):
    type: str
    status: Status = Field(Status.ACTUAL, description="the only alerts it may ever receive")
    record: bool = Field(
        False,
        description="sms, broadcast: recorded in the process instead of sent (the demo): "
        "no SMS gateway or MQTT broker; outbox, grouping, parts, calls and CAP as real",
    )
    timeout: Duration = Field(timedelta(seconds=5), description="per attempt")
    failing_after: Duration = Field(
        timedelta(minutes=5),
        description="failing this long raises an info operations alert",
    )

    def problems(self) -> Problems:
        if self.record and self.type not in PEOPLE_DESTINATIONS:
            yield ("record",), "only sms and broadcast destinations can be recorded"
