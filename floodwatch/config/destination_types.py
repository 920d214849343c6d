"""The destination types a config is validated with, given to the loader.

The sinks (one module each in `floodwatch/notify/`, its destination model
beside its channel) sit above the config layer, so the config layer cannot
import their models. It is given them instead: `DestinationTypes(models)`
takes each sink's model (a `DestinationBase` subclass whose `type` is one
`Literal` name) and builds the models the loader validates a file with —
`ConfigFile` (and the joined `Config`), `ServiceSettings` and
`NotifySettings` with `service.notify.destinations` as the union of the
given models, told apart by `type` (pydantic's discriminated union). They
are subclasses that change that one field, under the same names, so errors,
key paths and the JSON schema are those of one model tree.
`floodwatch.notify.sinks` holds the registry and loads a config with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, TypeVar, Union

from pydantic import Field, create_model

from floodwatch.config.base import Model
from floodwatch.config.destinations import DestinationBase, type_name
from floodwatch.config.models import Config, ConfigFile, ServiceSettings
from floodwatch.config.notify import NotifySettings
from floodwatch.config.values import Identifier

M = TypeVar("M", bound=Model)


class DestinationTypes:
    """The sinks' destination models by `type`, and the config models over them."""

    def __init__(self, models: Iterable[type[DestinationBase]]) -> None:
        self.models: dict[str, type[DestinationBase]] = {}
        for model in models:
            name = type_name(model)
            if name in self.models:
                raise ValueError(f"two destination models for type {name!r}")
            self.models[name] = model
        if not self.models:
            raise ValueError("no destination models")
        union: Any = Annotated[
            Union[tuple(self.models.values())],  # noqa: UP007 — a union built at run time
            Field(discriminator="type"),
        ]
        self.notify_model: type[NotifySettings] = _with(
            NotifySettings, destinations=dict[Identifier, union]
        )
        self.service_model: type[ServiceSettings] = _with(
            ServiceSettings, notify=self.notify_model | None
        )
        self.file_model: type[ConfigFile] = _with(ConfigFile, service=self.service_model | None)
        # the joined config, for a whole config given as data (tests)
        self.config_model: type[Config] = _with(Config, service=self.service_model)

    def names(self) -> list[str]:
        """The known `type:` names, in registry order."""
        return list(self.models)

    def model(self, name: object) -> type[DestinationBase]:
        """The model of a `type:` (the shared base for an unknown one)."""
        return self.models.get(str(name), DestinationBase)


def _with(base: type[M], **fields: Any) -> type[M]:
    """`base` with the annotations of `fields` changed (defaults, descriptions kept)."""
    changed: dict[str, Any] = {
        name: (annotation, base.model_fields[name]) for name, annotation in fields.items()
    }
    return create_model(
        base.__name__,
        __base__=base,
        __module__=base.__module__,
        __doc__=base.__doc__,
        **changed,
    )
