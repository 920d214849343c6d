"""The types a config is validated with, given to the loader: the sinks'
destination models and the rule kinds' models.

Both live above the config layer — each sink's destination model beside its
channel in `floodwatch/notify/<type>.py`, each rule kind's model beside its
behaviour in `floodwatch/rules/kinds/` — so the config layer cannot import
them. It is given them instead: `ConfigTypes(destinations=..., rules=...)`
takes each sink's model (a `DestinationBase` subclass whose `type` is one
`Literal` name) and each kind's model (a `RuleBase` subclass whose `kind` is
one `Literal` name) and builds the models the loader validates a file with —
`ConfigFile` (and the joined `Config`) with `rules` as the union of the rule
models told apart by `kind`, `ServiceSettings` and `NotifySettings` with
`service.notify.destinations` as the union of the destination models told
apart by `type` (pydantic's discriminated unions). They are subclasses that
change those fields only, under the same names, so errors, key paths and the
JSON schema are those of one model tree. `floodwatch.notify.sinks` gives the
registries' (`SINKS`, and the rules' `KINDS`) and loads a config with them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar, Union, get_args

from pydantic import Field, create_model
from pydantic.fields import FieldInfo

from floodwatch.config.base import Model
from floodwatch.config.destinations import DestinationBase, type_name
from floodwatch.config.models import Config, ConfigFile, RuleBase, ServiceSettings, or_empty
from floodwatch.config.notify import NotifySettings
from floodwatch.config.values import Identifier

M = TypeVar("M", bound=Model)
B = TypeVar("B", bound=Model)


class ConfigTypes:
    """The destination models by `type`, the rule models by `kind`, and the
    config models over them."""

    def __init__(
        self,
        *,
        destinations: Iterable[type[DestinationBase]],
        rules: Iterable[type[RuleBase]],
    ) -> None:
        self.destinations = _by_name(destinations, type_name, "destination", "type")
        self.rules = _by_name(rules, kind_name, "rule", "kind")
        destination: Any = _union(self.destinations.values(), "type")
        rule: Any = _union(self.rules.values(), "kind")
        self.notify_model: type[NotifySettings] = _with(
            NotifySettings, destinations=dict[Identifier, destination]
        )
        self.service_model: type[ServiceSettings] = _with(
            ServiceSettings, notify=self.notify_model | None
        )
        self.file_model: type[ConfigFile] = _with(
            ConfigFile,
            service=self.service_model | None,
            rules=(
                Annotated[list[rule], or_empty(list[rule] | None)],
                Field(default_factory=list),
            ),
        )
        # the joined config, for a whole config given as data (tests)
        self.config_model: type[Config] = _with(
            Config,
            service=self.service_model,
            rules=(list[rule], Field(default_factory=list)),
        )

    def destination_names(self) -> list[str]:
        """The known destination `type:` names, in the order given."""
        return list(self.destinations)

    def destination(self, name: object) -> type[DestinationBase]:
        """The model of a destination `type:` (the shared base for an unknown one)."""
        return self.destinations.get(str(name), DestinationBase)

    def kind_names(self) -> list[str]:
        """The known rule `kind:` names, in the order given."""
        return list(self.rules)

    def rule(self, kind: object) -> type[RuleBase]:
        """The model of a rule `kind:` (the shared base for an unknown one)."""
        return self.rules.get(str(kind), RuleBase)


def kind_name(model: type[RuleBase]) -> str:
    """The `kind:` a rule kind's model answers to (its `Literal` kind field)."""
    names = get_args(model.model_fields["kind"].annotation)
    if len(names) != 1 or not isinstance(names[0], str):
        raise TypeError(f"{model.__name__}.kind must be one Literal name, e.g. Literal['level']")
    return names[0]


def _by_name(
    models: Iterable[type[B]], name_of: Callable[[type[B]], str], what: str, key: str
) -> dict[str, type[B]]:
    found: dict[str, type[B]] = {}
    for model in models:
        name = name_of(model)
        if name in found:
            raise ValueError(f"two {what} models for {key} {name!r}")
        found[name] = model
    if not found:
        raise ValueError(f"no {what} models")
    return found


def _union(models: Iterable[type[Model]], discriminator: str) -> Any:
    """One of `models`, told apart by the value of `discriminator`."""
    return Annotated[
        Union[tuple(models)],  # noqa: UP007 — a union built at run time
        Field(discriminator=discriminator),
    ]


def _with(base: type[M], **fields: Any) -> type[M]:
    """`base` with the annotations of `fields` changed (defaults, descriptions
    kept), or a field given whole as (annotation, FieldInfo)."""
    changed: dict[str, Any] = {
        name: spec
        if isinstance(spec, tuple) and isinstance(spec[1], FieldInfo)
        else (spec, base.model_fields[name])
        for name, spec in fields.items()
    }
    return create_model(
        base.__name__,
        __base__=base,
        __module__=base.__module__,
        __doc__=base.__doc__,
        **changed,
    )
