"""pydantic models that mirror the YAML exactly.

Local invariants live on each model (`problems()` yields (relative path,
message) pairs); cross-references between stations and rules are checked when
the config is compiled (`floodwatch.rules.compile`). The engine never sees
these models: the compile step turns them into immutable runtime rules.

Why one module over 400 lines: it is the schema of one config file (engine,
stations, rules, service), read top to bottom the way the YAML is written; each
model is small (its fields and its own `problems()`). Sections with a life of
their own are split out: notify destinations and routes (`config.notify`),
rosters, structures, SL 651, incidents, gateways. Rules here are `RuleBase`,
what every rule has: each kind's model lives beside its behaviour in
`floodwatch/rules/kinds/`, above this layer, and is given to the loader
(`config/config_types.py`), as the sinks' destination models are.
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, Strict, StringConstraints, field_validator

from floodwatch.config.base import Model, Problems
from floodwatch.config.incidents import IncidentSettings
from floodwatch.config.notify import NotifySettings, Person, Roster
from floodwatch.config.sl651 import Sl651Settings, Sl651Station
from floodwatch.config.structure import Structure
from floodwatch.config.topics import compile_topic
from floodwatch.config.values import (
    AdminCode,
    Duration,
    Identifier,
    Text,
    described,
    parse_season,
)
from floodwatch.readings import Kind

StationType = Literal["pond", "reservoir", "rain_gauge", "culvert", "river"]
LinkName = Literal["outlet", "rain_gauge", "upstream", "downstream"]
WarningSeverity = Literal["blue", "yellow", "orange", "red"]

DEFAULT_REPORTS: dict[str, list[Kind]] = {
    "pond": ["level"],
    "reservoir": ["level"],
    "river": ["level"],
    "rain_gauge": ["rain"],
    "culvert": ["flow"],
}


class Area(Model):
    """A village or town with its administrative division code."""

    name: Text
    name_en: Text | None = Field(None, description="the name in English texts")
    code: AdminCode


class Location(Model):
    """Where a station stands (WGS 84 / CGCS2000 degrees; SL 323 LGTD/LTTD), for maps."""

    lon: float = Field(ge=-180, le=180, description="longitude (°E positive)")
    lat: float = Field(ge=-90, le=90, description="latitude (°N positive)")


SeasonalValue = dict[Annotated[str, Strict()], float]


class StationLevels(Model):
    """Characteristic levels (m, same datum as the level readings)."""

    crest: float | None = Field(None, description="dam crest elevation 坝顶高程")
    spillway_crest: float | None = Field(None, description="spillway crest 溢洪道堰顶高程")
    check_flood: float | None = Field(None, description="check flood level 校核洪水位")
    design_flood: float | None = Field(None, description="design flood level 设计洪水位")
    flood_limit: float | SeasonalValue | None = Field(
        None,
        description="flood-limit level 汛限水位: a number, or seasons such as "
        "{'05-01..06-30': 310.2, '07-01..09-15': 310.5, default: 310.8}",
    )
    warning: float | None = Field(None, description="river warning level 警戒水位")
    guarantee: float | None = Field(None, description="river guaranteed level 保证水位")

    def flood_limit_values(self) -> list[float]:
        if self.flood_limit is None:
            return []
        if isinstance(self.flood_limit, dict):
            return list(self.flood_limit.values())
        return [self.flood_limit]

    def problems(self) -> Problems:
        if isinstance(self.flood_limit, dict):
            for loc, message in _season_problems(self.flood_limit):
                yield ("flood_limit", *loc), message
        order = [
            ("flood_limit", max(self.flood_limit_values(), default=None)),
            ("design_flood", self.design_flood),
            ("check_flood", self.check_flood),
            ("crest", self.crest),
        ]
        known = [(name, value) for name, value in order if value is not None]
        for (low_name, low), (high_name, high) in itertools.pairwise(known):
            if low > high:
                yield (
                    (high_name,),
                    f"must be at or above {low_name} ({low:g}), got {high:g} "
                    "(flood_limit ≤ design_flood ≤ check_flood ≤ crest)",
                )
        if (
            self.spillway_crest is not None
            and self.crest is not None
            and self.spillway_crest >= self.crest
        ):
            yield (
                ("spillway_crest",),
                f"must be below crest ({self.crest:g}), got {self.spillway_crest:g}",
            )
        if self.warning is not None and self.guarantee is not None:
            if self.warning > self.guarantee:
                yield (
                    ("guarantee",),
                    f"must be at or above warning ({self.warning:g}), got {self.guarantee:g}",
                )


def _season_problems(values: dict[str, float]) -> Problems:
    seasons = []
    if "default" not in values:
        yield (
            (),
            "a seasonal value needs a 'default' for the days outside its seasons, "
            "e.g. {'05-01..06-30': 310.2, default: 310.8}",
        )
    for key in values:
        if key == "default":
            continue
        try:
            seasons.append((key, parse_season(key)))
        except ValueError as exc:
            yield (key,), str(exc)
    for day_of_year in range(366):
        month, day = _month_day(day_of_year)
        covering = [key for key, season in seasons if season.contains(month, day)]
        if len(covering) > 1:
            yield (
                (covering[1],),
                f"overlaps season {covering[0]!r} on {month:02d}-{day:02d}; "
                "seasons must not overlap",
            )
            return


def _month_day(day_of_year: int) -> tuple[int, int]:
    lengths = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    month = 0
    while day_of_year >= lengths[month]:
        day_of_year -= lengths[month]
        month += 1
    return month + 1, day_of_year + 1


class SensorLimits(Model):
    """Plausible range and maximum change per report interval for one kind."""

    min: float | None = None
    max: float | None = None
    max_step: float | None = Field(
        None, gt=0, description="largest believable change between two reports, per interval"
    )

    def problems(self) -> Problems:
        if self.min is not None and self.max is not None and self.min >= self.max:
            yield ("max",), f"must be above min ({self.min:g}), got {self.max:g}"


class Station(Model):
    id: Identifier
    name: Text
    name_en: Text | None = None
    type: StationType
    village: Area | None = None
    town: Area | None = None
    location: Location | None = Field(
        None, description="coordinates {lon, lat} in degrees, for the wall-screen map"
    )
    interval: Duration = Field(default=timedelta(minutes=5), description="expected report interval")
    reports: list[Kind] | None = Field(
        None, description="kinds of reading this station sends (default by type)"
    )
    levels: StationLevels | None = None
    limits: dict[Kind, SensorLimits] = Field(default_factory=dict)
    links: dict[LinkName, Identifier] = Field(default_factory=dict)
    covers: list[AdminCode] = Field(
        default_factory=list, description="village codes this rain gauge covers"
    )
    structure: Structure | None = Field(
        None, description="storage curve, spillway and outlets (for the water-balance forecast)"
    )
    timezone: str | None = Field(
        None,
        description="zone of this station's time stamps that carry no offset in recorded "
        "input (replay, backtest), e.g. Asia/Shanghai",
    )
    sl651: Sl651Station | None = Field(
        None, description="its RTU's SL 651-2014 address, password and elements (docs/sl651.md)"
    )
    backfill: Duration | None = Field(
        None,
        description="readings up to this far behind the engine clock are still taken, in this "
        "station's own time order (hourly reports of 12 values, an RTU resending its stored "
        "reports after an outage); null: the engine's allowed_lateness, one watermark for all",
    )

    @property
    def kinds(self) -> list[Kind]:
        return self.reports if self.reports is not None else DEFAULT_REPORTS[self.type]

    def problems(self) -> Problems:
        if self.interval <= timedelta(0):
            yield ("interval",), "must be longer than 0s"
        if self.timezone is not None and not _known_zone(self.timezone):
            yield ("timezone",), f"unknown time zone {self.timezone!r} (e.g. Asia/Shanghai)"
        if self.backfill is not None and self.backfill <= timedelta(0):
            yield ("backfill",), "must be longer than 0s (or null)"
        yield from self._sl651_problems()
        if self.levels is not None:
            for loc, message in self.levels.problems():
                yield ("levels", *loc), message
        yield from self._limits_problems()
        if self.links.get("outlet") == self.id:
            yield ("links", "outlet"), "a station cannot be its own outlet"
        if self.structure is not None:
            for loc, message in self.structure.problems():
                yield ("structure", *loc), message

    def _sl651_problems(self) -> Problems:
        if self.sl651 is None:
            return
        if not _known_zone(self.sl651.timezone):
            yield ("sl651", "timezone"), f"unknown time zone {self.sl651.timezone!r}"
        for element, kind in (self.sl651.elements or {}).items():
            if kind not in self.kinds:
                where = ("sl651", "elements", element)
                yield where, f"{kind} is not a kind this station reports"

    def _limits_problems(self) -> Problems:
        for kind, limits in self.limits.items():
            if kind not in self.kinds:
                yield (
                    ("limits", kind),
                    f"station does not report {kind!r} (reports: {', '.join(self.kinds)})",
                )
            for loc, message in limits.problems():
                yield ("limits", kind, *loc), message


class Advice(Model):
    """What to do, in the message of a level: Chinese and English."""

    zh: Text
    en: Text


class RuleBase(Model):
    """What every rule has, whatever its kind. A kind's own model subclasses it
    in the kind's module (`floodwatch/rules/kinds/`), narrows `kind` to its
    name (`kind: Literal["level"]`) and adds its own fields and checks; the
    loader is given the kinds' models (`config/config_types.py`)."""

    id: Identifier
    name: Text | None = Field(None, description="the name people read in alert texts")
    name_en: Text | None = Field(None, description="the name in English texts")
    description: str | None = None
    stations: list[Identifier] | None = Field(None, description="station ids this rule watches")
    station_types: list[StationType] | None = Field(
        None, description="or every station of these types"
    )
    enabled: bool = True
    for_: Duration | None = Field(None, alias="for", description="default dwell before raising")
    clear_for: Duration | None = Field(None, description="default dwell before lowering")
    # last, so that each kind's `kind: Literal[...]` keeps its place among the keys
    kind: str

    def problems(self) -> Problems:
        if self.stations is None and self.station_types is None:
            yield (), "name the stations it watches: 'stations: [...]' or 'station_types: [...]'"


class EngineSettings(Model):
    allowed_lateness: Duration = Field(
        timedelta(minutes=2),
        description="how late (in event time) a reading may arrive and still count; "
        "alerts are emitted this much after the reading that causes them",
    )
    max_future: Duration = Field(
        timedelta(minutes=10),
        description="a reading further ahead of the clock is held and moves it only when "
        "readings of two stations agree (a gap in the stream); see docs/thresholds.md",
    )
    max_clock_skew: Duration = Field(
        timedelta(minutes=5),
        description="live service: readings stamped further ahead of the wall clock are "
        "refused (too_far_in_future) with a clock notice for the station; the event clock "
        "never runs ahead of the wall clock",
    )
    timezone: str = Field("Asia/Shanghai", description="local time zone for seasons")
    exercise: bool = Field(False, description="drill: every alert carries status exercise")
    incidents: IncidentSettings = Field(
        default_factory=IncidentSettings, description="alerts told to people as one incident"
    )

    def problems(self) -> Problems:
        for loc, message in self.incidents.problems():
            yield ("incidents", *loc), message


# -- the live service (`floodwatch run`) -------------------------------------------

Port = Annotated[int, Field(ge=1, le=65535)]
FormatName = Annotated[
    str,
    StringConstraints(
        pattern=described(
            r"^[a-z][a-z0-9_]*$",
            "a format name: lower-case letters, digits and '_', starting with a letter",
        )
    ),
]


class FieldMapping(Model):
    """How to read a reading out of a JSON shape other than the canonical one."""

    station: str = Field("station", description="dotted path of the station id")
    kind: str | None = Field("kind", description="dotted path of the kind (or use `fixed_kind`)")
    fixed_kind: Kind | None = Field(None, description="every message carries this kind")
    value: str = Field("value", description="dotted path of the value")
    scale: float = Field(1.0, description="value = raw × scale + offset (e.g. 0.01 for cm → m)")
    offset: float = 0.0
    ts: str = Field("ts", description="dotted path of the timestamp")
    ts_format: str = Field(
        "iso",
        description="iso (with offset), epoch_s, epoch_ms, or a strptime format in `timezone`",
    )
    timezone: str | None = Field(None, description="zone of timestamps that carry no offset")
    quality: str | None = Field(None, description="dotted path of a quality flag")

    def problems(self) -> Problems:
        if self.kind is None and self.fixed_kind is None:
            yield ("kind",), "give the kind's path or a fixed_kind"
        if self.ts_format not in ("iso", "epoch_s", "epoch_ms") and self.timezone is None:
            yield ("timezone",), f"ts_format {self.ts_format!r} is local time: give its timezone"


class Tls(Model):
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = Field(False, description="skip host name checks (testing only)")


class MqttTopic(Model):
    pattern: str = Field(
        description="topic filter; `{station}`, `{kind}` and other `{name}` segments match "
        "one level and are read from the topic (e.g. hydro/{town}/{station}/{kind})"
    )
    format: FormatName = Field("canonical", description="canonical, batch, or a mapping name")
    qos: Literal[0, 1, 2] = 1


class MqttSettings(Model):
    host: str = "127.0.0.1"
    port: Port = 1883
    client_id: Identifier = Field(
        "floodwatch", description="fixed: the broker keeps this client's session"
    )
    protocol: Literal["3.1.1", "5"] = "5"
    session_expiry: Duration = Field(
        timedelta(days=1), description="how long the broker keeps readings while we are down"
    )
    shared_group: Identifier | None = Field(
        None, description="MQTT 5 shared subscription group ($share/GROUP/...)"
    )
    username: str | None = None
    password_file: str | None = Field(None, description="file holding the password")
    tls: Tls | None = None
    keepalive: Duration = timedelta(seconds=30)
    reconnect_initial: Duration = timedelta(seconds=2)
    reconnect_max: Duration = Field(
        timedelta(seconds=5),
        description="longest wait between attempts; 5 s: back within 5 s, ≤ 12 attempts a minute",
    )
    topics: list[MqttTopic] = Field(min_length=1)
    gateways: dict[Identifier, list[Identifier]] = Field(
        default_factory=dict,
        description="telemetry gateways (the `{gateway}` field of a topic) and the stations "
        "each may report; readings for other stations, or from an unlisted gateway, are "
        "dead-lettered `not_allowed`",
    )


class KafkaSettings(Model):
    bootstrap: str = Field("127.0.0.1:9092", description="host:port[,host:port...]")
    topic: str = "floodwatch.readings"
    group: Identifier = "floodwatch"
    format: FormatName = "canonical"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    username: str | None = None
    password_file: str | None = None
    ca_file: str | None = None
    session_timeout: Duration = timedelta(seconds=10)


class DeadLetterSettings(Model):
    file: str = Field("var/dead-letter.jsonl", description="JSON Lines, one rejected message each")
    mqtt_topic: str | None = Field(
        None, description="also publish each record here (QoS 1, via service.mqtt's broker)"
    )
    kafka_topic: str | None = Field(
        None, description="also produce each record here (via service.kafka's cluster)"
    )
    failing_after: Duration = Field(
        timedelta(minutes=5),
        description="a topic failing this long raises an info operations alert",
    )


_SCRYPT_HASH = re.compile(r"scrypt\$[0-9]+\$[0-9]+\$[0-9]+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+")


class HttpUser(Model):
    name: Text
    role: Literal["viewer", "operator", "admin"]
    password_hash: str = Field(
        description="from `floodwatch hash-password`: scrypt$N$r$p$SALT$HASH"
    )

    @field_validator("password_hash")
    @classmethod
    def _scrypt(cls, value: str) -> str:
        if not _SCRYPT_HASH.fullmatch(value):
            raise ValueError(
                "must be a scrypt hash (scrypt$N$r$p$SALT$HASH) made by `floodwatch "
                "hash-password`; got something else (not shown: it may be a password)"
            )
        return value


class HttpSettings(Model):
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8080, ge=1, le=65535, description="port to listen on")
    sms_reply_token_file: str | None = Field(
        None,
        description="file holding the token an SMS gateway must send with replies "
        "(?token= or X-Token); without it the reply webhook is off",
    )
    users: list[HttpUser] = Field(default_factory=list, description="command-center accounts")
    token_file: str | None = Field(
        None, description="API tokens for machine clients: `TOKEN ROLE NAME` per line"
    )
    session_ttl: Duration = Field(
        timedelta(hours=12),
        description="how long a login lasts (also how long a rotated-out signing key verifies)",
    )
    session_keys: str | None = Field(
        None,
        description="file of session-signing keys (mode 0600, made if missing; "
        "`floodwatch rotate-session-key`); default: `session-keys` next to the store",
    )
    login_limit: int = Field(
        5,
        ge=1,
        description="failed logins a minute from one client address (then 429 until the "
        "minute passes) and for one account (then each attempt is slowed, never refused)",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto "
        "are believed (the client address for login limits and logs); none by default",
    )
    map_tiles: str | None = Field(
        None,
        pattern=described(
            r"^https?://[^/\s]+/\S*\{z\}\S*$",
            "a tile server's URL with {z}, e.g. 'http://tiles.local/{z}/{x}/{y}.png'",
        ),
        description="a map tile server of your own network, e.g. "
        "`http://tiles.local/{z}/{x}/{y}.png`; none by default (the wall-screen map "
        "draws stations and the GeoJSON layers on a blank background, for closed networks)",
    )
    map_attribution: str = Field("", max_length=200, description="credit shown for the tiles")
    map_layers: str | None = Field(
        None,
        description="folder of GeoJSON layers for the map (boundaries, rivers, evacuation "
        "routes, shelters: `*.geojson`); default: `map/` beside the stations file",
    )


class ServiceSettings(Model):
    store: str = Field("var/floodwatch.db", description="SQLite database (alerts, inbox, ledger)")
    snapshot_every: Duration = Field(
        timedelta(seconds=60), description="engine state snapshot interval (next to the store)"
    )
    queue_size: int = Field(10_000, ge=1, description="messages between sources and engine")
    batch_max: int = Field(5_000, ge=1, description="messages per engine step and commit")
    idle_advance_after: Duration | None = Field(
        timedelta(seconds=30),
        description="with no input for this long, event time moves on with the wall clock "
        "(so a silent network still raises stale alerts); null: never",
    )
    max_payload: int = Field(65_536, ge=64, description="bytes; larger payloads are refused")
    dead_letter: DeadLetterSettings = Field(default_factory=DeadLetterSettings)
    mqtt: MqttSettings | None = None
    kafka: KafkaSettings | None = None
    sl651: Sl651Settings | None = Field(
        None, description="the SL 651-2014 TCP receiver RTUs connect to (docs/sl651.md)"
    )
    mappings: dict[FormatName, FieldMapping] = Field(default_factory=dict)
    notify: NotifySettings | None = Field(None, description="where alert transitions go")
    http: HttpSettings | None = Field(
        None, description="the HTTP server (SMS replies; the command center)"
    )

    def problems(self) -> Problems:
        known = {"canonical", "batch", *self.mappings}
        yield from self._topic_problems(known)
        if self.kafka and self.kafka.format not in known:
            yield ("kafka", "format"), _unknown_format(self.kafka.format, known)
        for name, mapping in self.mappings.items():
            for loc, message in mapping.problems():
                yield ("mappings", name, *loc), message
        yield from self._notify_problems()
        if self.sl651 is not None:
            for loc, message in self.sl651.problems():
                yield ("sl651", *loc), message
        yield from self._dead_letter_problems()

    def _topic_problems(self, known: set[str]) -> Problems:
        topics = self.mqtt.topics if self.mqtt else []
        gateways = self.mqtt.gateways if self.mqtt else {}
        for i, topic in enumerate(topics):
            try:
                compile_topic(topic.pattern)
            except ValueError as exc:
                yield ("mqtt", "topics", i, "pattern"), str(exc)
            if topic.format not in known:
                yield ("mqtt", "topics", i, "format"), _unknown_format(topic.format, known)
            if "{gateway}" in topic.pattern.split("/") and not gateways:
                yield (
                    ("mqtt", "topics", i, "pattern"),
                    "a `{gateway}` topic needs service.mqtt.gateways: the stations each "
                    "gateway may report (readings from an unlisted gateway are refused)",
                )

    def _notify_problems(self) -> Problems:
        if self.notify is not None:
            for loc, message in self.notify.problems():
                yield ("notify", *loc), message
            for name, dest in self.notify.destinations.items():
                if dest.type == "kafka" and self.kafka is None:
                    yield (
                        ("notify", "destinations", name, "type"),
                        "a kafka destination needs service.kafka (the cluster)",
                    )
                if dest.type == "broadcast" and self.mqtt is None and not dest.record:
                    yield (
                        ("notify", "destinations", name, "type"),
                        "a broadcast destination needs service.mqtt (the broker)",
                    )

    def _dead_letter_problems(self) -> Problems:
        dead = self.dead_letter
        if dead.mqtt_topic is not None:
            if self.mqtt is None:
                yield ("dead_letter", "mqtt_topic"), "needs service.mqtt (the broker to publish to)"
            elif any(c in dead.mqtt_topic for c in "+#") or not dead.mqtt_topic:
                yield ("dead_letter", "mqtt_topic"), "a topic to publish to: no wildcards"
        if dead.kafka_topic is not None and self.kafka is None:
            yield ("dead_letter", "kafka_topic"), "needs service.kafka (the cluster to produce to)"


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _unknown_format(name: str, known: set[str]) -> str:
    return f"unknown format {name!r}; expected one of {', '.join(sorted(known))}"


def _none_is_empty(value: object) -> object:
    return [] if value is None else value


# A list section left empty (`stations:` with its items commented out) is an
# empty list, as an empty `engine:` is the defaults; the schema says so too.
def or_empty(input_type: object) -> BeforeValidator:
    return BeforeValidator(_none_is_empty, json_schema_input_type=input_type)


class ConfigFile(Model):
    """One YAML file of a config directory. Lists from all files are joined."""

    engine: EngineSettings | None = None
    service: ServiceSettings | None = None
    stations: Annotated[list[Station], or_empty(list[Station] | None)] = Field(default_factory=list)
    # each kind's model, told apart by `kind`, where the loader is given them
    # (`config/config_types.py`); here only what every rule has
    rules: Annotated[list[RuleBase], or_empty(list[RuleBase] | None)] = Field(default_factory=list)
    people: Annotated[list[Person], or_empty(list[Person] | None)] = Field(
        default_factory=list, description="who can be notified"
    )
    rosters: Annotated[list[Roster], or_empty(list[Roster] | None)] = Field(
        default_factory=list, description="who answers for each station, village and town"
    )


class Config(Model):
    """A whole config directory, after joining its files."""

    engine: EngineSettings = Field(default_factory=EngineSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    stations: list[Station] = Field(default_factory=list)
    rules: list[RuleBase] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list, description="who can be notified")
    rosters: list[Roster] = Field(
        default_factory=list, description="who answers for each station, village and town"
    )
