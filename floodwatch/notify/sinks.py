"""The sinks: the one list of them, and a config loaded with them and with
the rule kinds.

Each sink is one module, `notify/<type>.py`: its destination model (what
`type: <type>` in `service.notify.destinations` may say) and its channel
(`notify/channel.py` states the contract), joined as its `SINK`. `SINKS` lists
them by type: the `Deliverer` builds each destination's channel from it.
`CONFIG_TYPES` gives their models, and the rule kinds' models (the rules'
registry, `floodwatch.rules.registry.KINDS`), to the config layer, which sits
below notify and rules and so cannot import them: the loader validates
`destinations:` and `rules:` against the models it is given. Load a config
here (`load_config_dir`), or pass `CONFIG_TYPES` to `floodwatch.config.loader`
yourself.

Adding a sink is one module and one entry in `SINKS`; adding a rule kind is
one module in `rules/kinds/` and one entry in `KINDS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from floodwatch.config import loader, schema
from floodwatch.config.config_types import ConfigTypes
from floodwatch.config.loader import LoadedConfig
from floodwatch.config.notify import NotifySettings
from floodwatch.notify import broadcast, console, influx, kafka, sms, webhook
from floodwatch.notify.channel import Sink
from floodwatch.rules.kind import RuleKind
from floodwatch.rules.registry import KINDS

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


def config_types(
    sinks: Mapping[str, Sink[Any]] = SINKS, kinds: Mapping[str, RuleKind] = KINDS
) -> ConfigTypes:
    """The models a config is validated with: each sink's destination model
    and each rule kind's model, in registry order."""
    return ConfigTypes(
        destinations=(sink.model for sink in sinks.values()),
        rules=(kind.model for kind in kinds.values()),
    )


CONFIG_TYPES = config_types()


def load_config_dir(directory: Path | str) -> LoadedConfig:
    """Every YAML file in `directory`, validated, its destinations with the
    sinks' models and its rules with the kinds' models; raises `ConfigError`
    with every problem (file, line, key)."""
    return loader.load_config_dir(directory, CONFIG_TYPES)


def load_config_files(files: Iterable[Path]) -> LoadedConfig:
    """These YAML files, joined and validated (as `load_config_dir`)."""
    return loader.load_config_files(files, CONFIG_TYPES)


def notify_settings(data: object) -> NotifySettings:
    """`service.notify` on its own (tests, benchmarks), its destinations with
    the sinks' models; raises pydantic's `ValidationError`."""
    return CONFIG_TYPES.notify_model.model_validate(data)


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, each sink's destination and each
    rule kind in it."""
    return schema.config_schema(CONFIG_TYPES)
