"""Config models of SL 651-2014 telemetry: a station's address and element
mapping (`stations[].sl651`) and the receiver (`service.sl651`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from floodwatch.config.base import Model, Problems
from floodwatch.config.values import Duration, described
from floodwatch.readings import Kind

Address = Annotated[
    str,
    StringConstraints(
        pattern=described(
            r"^[0-9A-Fa-f]{10}$", 'a station address: 10 hex digits, e.g. "0033018201"'
        ),
        to_upper=True,
    ),
]
Password = Annotated[
    str,
    StringConstraints(
        pattern=described(r"^[0-9A-Fa-f]{4}$", 'a password: 4 hex digits, e.g. "1234"'),
        to_upper=True,
    ),
]
StationClass = Literal["P", "H", "K", "Z", "D", "T", "M", "G", "Q", "I", "O"]

# Elements read by default, by station class, first present wins per kind.
DEFAULT_ELEMENTS: dict[str, dict[str, Kind]] = {
    "K": {"ZU": "level", "Z": "level", "PJ": "rain", "PN05": "rain", "Q": "flow"},
    "P": {"PJ": "rain", "PN05": "rain", "P1": "rain"},
    "H": {"Z": "level", "Q": "flow", "PJ": "rain", "PN05": "rain"},
    "Z": {"ZU": "level", "Z": "level", "Q": "flow", "QA": "flow"},
}
DEFAULT_ELEMENTS_ANY: dict[str, Kind] = {"Z": "level", "Q": "flow", "PJ": "rain"}


class Sl651Station(Model):
    """How a station's RTU speaks SL 651: its address, password and elements."""

    address: Address = Field(description="station address, 10 hex digits (as the RTU sends it)")
    password: Password = Field(description="password, 4 hex digits; a mismatch is refused")
    station_class: StationClass | None = Field(
        None,
        alias="class",
        description="station class (K reservoir, P rain, H river, …); default: as the RTU sends",
    )
    elements: dict[str, Kind] | None = Field(
        None,
        description="element identifier -> kind (Z: level, PJ: rain, Q: flow, DRP: rain, "
        "DRZ1: level, PT: rain); default by station class",
    )
    timezone: str = Field("Asia/Shanghai", description="zone of the RTU's clock (Beijing time)")

    def mapping(self, sent_class: str | None) -> dict[str, Kind]:
        """Element -> kind for a report (series DRP/DRZ1 follow their kinds)."""
        if self.elements is not None:
            return dict(self.elements)
        klass = self.station_class or sent_class or ""
        out = dict(DEFAULT_ELEMENTS.get(klass, DEFAULT_ELEMENTS_ANY))
        kinds = set(out.values())
        if "rain" in kinds:
            out["DRP"] = "rain"
            out["PT"] = "rain"  # differenced, only when nothing else gives rain
        if "level" in kinds:
            out["DRZ1"] = "level"
        return out


class Sl651Settings(Model):
    """The SL 651 TCP receiver."""

    listen: str = Field("0.0.0.0:5005", description="HOST:PORT the RTUs connect to")
    idle_timeout: Duration = Field(
        timedelta(minutes=5),
        description="a connection silent this long (no report, no keep-alive) is closed",
    )
    packet_timeout: Duration = Field(
        timedelta(seconds=60),
        description="multi-packet (M3): wait this long for a missing packet, then NAK it",
    )
    stay_online: bool = Field(
        True, description="confirm with ESC (stay online) rather than EOT (may go offline)"
    )
    max_connections: int = Field(10_000, ge=1, description="connections held at once")
    pictures: str | None = Field(
        None,
        description="directory picture reports (36H) are stored in, one file each; "
        "default: sl651-pictures beside the store",
    )
    mqtt_topic: str = Field(
        "gateway/sl651",
        description="sl651-gateway without Kafka: the MQTT topic of the readings (format batch)",
    )

    def problems(self) -> Problems:
        host, _, port = self.listen.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) < 65536:
            yield ("listen",), f"HOST:PORT, got {self.listen!r}"
