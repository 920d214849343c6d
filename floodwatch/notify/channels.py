"""The registry of channels: a destination's `type` → the factory of its
channel (`notify/channel.py` states the contract). Adding a sink is one
module with its channel and one entry here."""

from __future__ import annotations

from floodwatch.notify import broadcast, console, influx, kafka, sms, webhook
from floodwatch.notify.channel import ChannelFactory

CHANNELS: dict[str, ChannelFactory] = {
    "webhook": webhook.channel,
    "console": console.channel,
    "kafka": kafka.channel,
    "influx": influx.channel,
    "sms": sms.channel,
    "broadcast": broadcast.channel,
}
