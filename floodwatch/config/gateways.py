"""The stations a telemetry gateway lists (`service.mqtt.gateways`) exist.

What a gateway may send is screened by `floodwatch.ingest.gateways`; this is
the cross-reference `floodwatch check` and the compile step run.
"""

from __future__ import annotations

from floodwatch.config.base import Problems
from floodwatch.config.models import Config


def check(config: Config) -> Problems:
    """Every station a gateway lists exists."""
    mqtt = config.service.mqtt
    if mqtt is None:
        return
    stations = {s.id for s in config.stations}
    for name, listed in mqtt.gateways.items():
        for i, station in enumerate(listed):
            if station not in stations:
                yield (
                    ("service", "mqtt", "gateways", name, i),
                    f"no station {station!r} for gateway {name!r}",
                )
