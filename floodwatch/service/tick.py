"""Ticks: event time moved on with no reading.

A tick is not a message from a source: nothing decodes it, acknowledges it or
commits it. The service makes one per shard when its input has been quiet for
`idle_advance_after` (so a silent network still raises stale alerts), and the
processing step hands it to that shard's engine (`Engine.advance`) after the
step's readings. The inbox logs the ticks of the local shard with its MQTT
messages (`service/inbox.py`), so a restart repeats them where they happened.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tick:
    """Move the shard `shard`'s event clock to `target_ms` (epoch ms; live, never
    past the wall clock)."""

    shard: str
    target_ms: int
