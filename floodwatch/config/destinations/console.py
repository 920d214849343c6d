"""`type: console` — every transition logged (channel: notify/console.py)."""

from __future__ import annotations

from typing import Literal

from floodwatch.config.destinations.base import DestinationBase


class ConsoleDestination(DestinationBase):
    type: Literal["console"]
