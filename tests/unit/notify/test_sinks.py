"""`notify.sinks`: the registry, the one list of sinks. Each sink is one
module (its destination model beside its channel); the config layer is given
their models (`config.config_types`) and validates `destinations:`
against them, with file, line and key, and the JSON schema names each."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from pydantic import Field

from floodwatch.config import loader
from floodwatch.config.config_types import ConfigTypes
from floodwatch.config.destinations import DestinationBase, type_name
from floodwatch.config.errors import ConfigError
from floodwatch.notify.console import ConsoleDestination
from floodwatch.notify.sinks import (
    CONFIG_TYPES,
    SINKS,
    config_schema,
    load_config_dir,
    notify_settings,
)
from floodwatch.notify.webhook import WebhookDestination

ROOT = Path(__file__).resolve().parents[3]


def _examples() -> list[tuple[str, str, dict[str, Any]]]:
    """Every destination in the example configs (config/) and in the YAML
    blocks of docs/: (where, name, its mapping)."""
    texts = [
        (str(p.relative_to(ROOT)), p.read_text("utf-8")) for p in ROOT.glob("config/**/*.yaml")
    ]
    for doc in sorted(ROOT.glob("docs/*.md")):
        for n, block in enumerate(re.findall(r"```yaml\n(.*?)```", doc.read_text("utf-8"), re.S)):
            if "destinations:" in block:
                texts.append((f"{doc.relative_to(ROOT)} block {n}", block))
    found = []
    for where, text in texts:
        data = yaml.safe_load(text)
        notify = (
            ((data or {}).get("service") or {}).get("notify") if isinstance(data, dict) else None
        )
        for name, dest in ((notify or {}).get("destinations") or {}).items():
            found.append((where, name, dest))
    return found


EXAMPLES = _examples()


def test_the_registry_lists_each_sink_once_under_its_model_s_type() -> None:
    assert list(SINKS) == ["webhook", "console", "kafka", "influx", "sms", "broadcast"]
    for name, sink in SINKS.items():
        assert sink.type == type_name(sink.model) == name
        assert issubclass(sink.model, DestinationBase)
        # one module per sink: its model beside its channel
        assert sink.model.__module__ == sink.channel.__module__ == f"floodwatch.notify.{name}"
    assert CONFIG_TYPES.destinations == {n: s.model for n, s in SINKS.items()}
    assert {n for n, s in SINKS.items() if s.model.people} == {"sms", "broadcast"}
    assert {n for n, s in SINKS.items() if s.model.recordable} == {"sms", "broadcast"}


@pytest.mark.parametrize(
    ("where", "name", "dest"), EXAMPLES, ids=[f"{w}:{n}" for w, n, _ in EXAMPLES]
)
def test_every_example_destination_is_valid_under_its_sink_s_model(
    where: str, name: str, dest: dict[str, Any]
) -> None:
    model = SINKS[dest["type"]].model.model_validate(dest)
    assert list(model.problems()) == [], f"{where}: {name}"
    assert notify_settings({"destinations": {name: dest}}).destinations[name] == model


def test_every_sink_has_an_example_in_the_docs_or_the_example_config() -> None:
    assert {dest["type"] for _, _, dest in EXAMPLES} == set(SINKS)


def test_the_schema_has_each_sink_s_model_told_apart_by_type() -> None:
    schema = config_schema()
    destinations = schema["$defs"]["NotifySettings"]["properties"]["destinations"]
    [union] = destinations["patternProperties"].values()  # by destination name
    mapping = union["discriminator"]["mapping"]
    assert union["discriminator"]["propertyName"] == "type"
    assert set(mapping) == set(SINKS)
    assert [ref["$ref"] for ref in union["oneOf"]] == [
        f"#/$defs/{sink.model.__name__}" for sink in SINKS.values()
    ]
    for name, ref in mapping.items():
        model = schema["$defs"][ref.removeprefix("#/$defs/")]
        assert model["title"] == SINKS[name].model.__name__
        assert model["properties"]["type"]["const"] == name
        assert set(model["properties"]) == set(SINKS[name].model.model_fields)


def _issues(tmp_path: Path, text: str, types: ConfigTypes | None = None) -> list[str]:
    (tmp_path / "service.yaml").write_text(text, "utf-8")
    with pytest.raises(ConfigError) as caught:
        if types is None:
            load_config_dir(tmp_path)
        else:
            loader.load_config_dir(tmp_path, types)
    return [str(i).replace(f"{tmp_path}/", "") for i in caught.value.issues]


UNKNOWN = "service:\n  notify:\n    destinations:\n      pager: {type: pager}\n"


def test_an_unknown_type_is_placed_at_its_key_and_names_every_registered_sink(
    tmp_path: Path,
) -> None:
    assert _issues(tmp_path, UNKNOWN) == [
        "service.yaml:4:15: service.notify.destinations.pager.type: must be 'webhook', "
        "'console', 'kafka', 'influx', 'sms' or 'broadcast'; got 'pager'"
    ]


def test_the_loader_knows_only_the_sinks_it_is_given(tmp_path: Path) -> None:
    two = _types(ConsoleDestination, WebhookDestination)
    assert _issues(tmp_path, UNKNOWN, two) == [
        "service.yaml:4:15: service.notify.destinations.pager.type: must be 'console' or "
        "'webhook'; got 'pager'"
    ]
    one = _types(ConsoleDestination)
    assert _issues(tmp_path, UNKNOWN, one)[0].endswith("must be 'console'; got 'pager'")
    kafka = "service:\n  notify:\n    destinations:\n      bus: {type: kafka, topic: t}\n"
    assert "got 'kafka'" in _issues(tmp_path, kafka, two)[0]


def _types(*destinations: type[DestinationBase]) -> ConfigTypes:
    """These destination models, with the registry's rule kinds."""
    return ConfigTypes(destinations=destinations, rules=CONFIG_TYPES.rules.values())


class PagerDestination(DestinationBase):
    """A sink that is not registered: what a new sink module adds."""

    type: Literal["pager"]
    number: str = Field(description="the pager")


def test_a_new_sink_s_model_is_validated_with_its_own_keys(tmp_path: Path) -> None:
    types = _types(*CONFIG_TYPES.destinations.values(), PagerDestination)
    (tmp_path / "service.yaml").write_text(
        "service:\n  notify:\n    destinations:\n      pager: {type: pager, number: '1234'}\n",
        "utf-8",
    )
    dest = loader.load_config_dir(tmp_path, types).config.service.notify
    assert dest is not None and dest.destinations["pager"] == PagerDestination(
        type="pager", number="1234"
    )
    assert _issues(
        tmp_path,
        "service:\n  notify:\n    destinations:\n      pager: {type: pager, url: x}\n",
        types,
    ) == [
        "service.yaml:4:7: service.notify.destinations.pager.number: required key 'number' "
        "is missing",
        "service.yaml:4:28: service.notify.destinations.pager.url: unknown key 'url'; valid "
        "keys here: type, status, record, timeout, failing_after, number",
    ]


def test_destination_types_refuse_two_models_of_one_type_and_a_model_without_one() -> None:
    with pytest.raises(ValueError, match="two destination models for type 'console'"):
        _types(ConsoleDestination, ConsoleDestination)
    with pytest.raises(ValueError, match="no destination models"):
        _types()

    class Untyped(DestinationBase):
        pass

    with pytest.raises(TypeError, match="one Literal name"):
        _types(Untyped)


def test_a_reload_with_an_unknown_sink_keeps_the_config_in_force(tmp_path: Path) -> None:
    """The service reloads through the registry too: a destination of no
    registered sink is a config error at its file, line and key, and the
    config in force stays."""
    from floodwatch.service.run import Service
    from tests.integration.services import service_config

    cfg = service_config(tmp_path, notify={"destinations": {"log": {"type": "console"}}})
    service = Service(load_config_dir(cfg), config_dir=cfg)
    service.open()
    try:
        text = (cfg / "service.yaml").read_text("utf-8")
        (cfg / "service.yaml").write_text(text.replace("type: console", "type: pager"), "utf-8")
        assert not service.reload()
        problem = service.reload_problem
        assert problem is not None
        assert "service.yaml:" in problem.message_en
        assert "service.notify.destinations.log.type: must be 'webhook'" in problem.message_en
        notify = service.loaded.config.service.notify
        assert notify is not None and isinstance(notify.destinations["log"], ConsoleDestination)
    finally:
        service.close()
