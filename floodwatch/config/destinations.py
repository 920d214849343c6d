"""What every destination has, whatever its sink: its `type`, the status it
may receive, recording, the per-attempt timeout and when failing raises an
alert.

Each sink's own model subclasses `DestinationBase` in the sink's module,
beside its channel (`floodwatch/notify/<type>.py`); the config layer does not
know the sinks: the loader is given them (`config/config_types.py`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, get_args

from pydantic import Field

from floodwatch.alerts.state import Status
from floodwatch.config.base import Model, Problems
from floodwatch.config.values import Duration


class DestinationBase(Model):
    """The fields every destination has. A sink's model narrows `type` to its
    name (`type: Literal["webhook"]`) and adds its own fields and checks."""

    # Read or heard by people (sms, broadcast): routed per incident, silenced,
    # never sent info alerts of villages. The others are machine records and
    # receive every alert transition, silenced or not.
    people: ClassVar[bool] = False
    # May be `record: true` (the demo): recorded in the process instead of sent.
    recordable: ClassVar[bool] = False

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
        if self.record and not self.recordable:
            yield ("record",), "only sms and broadcast destinations can be recorded"


def type_name(model: type[DestinationBase]) -> str:
    """The `type:` a sink's model answers to (its `Literal` type field)."""
    names = get_args(model.model_fields["type"].annotation)
    if len(names) != 1 or not isinstance(names[0], str):
        raise TypeError(f"{model.__name__}.type must be one Literal name, e.g. Literal['webhook']")
    return names[0]
