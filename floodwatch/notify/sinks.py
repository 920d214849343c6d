"""The sinks: the one list of them, and a config loaded with them.

Each sink is one module, `notify/<type>.py`: its destination model (what
`type: <type>` in `service.notify.destinations` may say) and its channel
(`notify/channel.py` states the contract), joined as its `SINK`. `SINKS` lists
them by type: the `Deliverer` builds each destination's channel from it, and
`DESTINATION_TYPES` gives their models to the config layer, which sits below
notify and so cannot import them: the loader validates `destinations:`
against the models it is given. Load a config here (`load_config_dir`), or
pass `DESTINATION_TYPES` to `floodwatch.config.loader` yourself.

Adding a sink is one module and one entry in `SINKS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from floodwatch.config import loader, schema
from floodwatch.config.destination_types import DestinationTypes
from floodwatch.config.loader import LoadedConfig
from floodwatch.config.notify import NotifySettings
from floodwatch.notify import broadcast, console, influx, kafka, sms, webhook
from floodwatch.notify.channel import Sink

SINKS: dict[str, Sink[Any]] = {
    sink.type: sink
    for sink in (
        webhook.SINK,
        console.SINK,
        kafka.SINK,
        influx.SINK,
        sms.SINK,
        broadcast.SINK,
    )
}
DESTINATION_TYPES = DestinationTypes(sink.model for sink in SINKS.values())


def load_config_dir(directory: Path | str) -> LoadedConfig:
    """Every YAML file in `directory`, validated, its destinations with the
    sinks' models; raises `ConfigError` with every problem (file, line, key)."""
    return loader.load_config_dir(directory, DESTINATION_TYPES)


def load_config_files(files: Iterable[Path]) -> LoadedConfig:
    """These YAML files, joined and validated (as `load_config_dir`)."""
    return loader.load_config_files(files, DESTINATION_TYPES)


def notify_settings(data: object) -> NotifySettings:
    """`service.notify` on its own (tests, benchmarks), its destinations with
    the sinks' models; raises pydantic's `ValidationError`."""
    return DESTINATION_TYPES.notify_model.model_validate(data)


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, each sink's destination in it."""
    return schema.config_schema(DESTINATION_TYPES)
