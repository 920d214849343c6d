"""`type: influx` — alert transitions and readings as points (channel: notify/influx.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from floodwatch.config.base import Problems
from floodwatch.config.destinations.base import DestinationBase


class InfluxDestination(DestinationBase):
    type: Literal["influx"]
    url: str | None = Field(None, description="the server (InfluxDB 2 write API)")
    bucket: str = Field("floodwatch", description="bucket (InfluxDB 2 API)")
    org: str = Field("floodwatch", description="organisation")
    token_file: str | None = Field(None, description="file holding the API token")

    def problems(self) -> Problems:
        yield from super().problems()
        if not self.url:
            yield ("url",), "a influx destination needs a url"
