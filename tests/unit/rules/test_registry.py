"""`rules.registry`: `KINDS` is the one list of rule kinds. Each kind is one
module holding its config model beside its behaviour; the config is loaded
with the registry's models (`notify.sinks.config_types`), so a new kind's
YAML is validated — with file, line and key — from its registry entry alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import Field

from floodwatch.config import loader
from floodwatch.config.config_types import kind_name
from floodwatch.config.errors import ConfigError
from floodwatch.config.models import RuleBase
from floodwatch.notify.sinks import CONFIG_TYPES, config_schema, config_types
from floodwatch.rules.kinds.threshold import LEVEL
from floodwatch.rules.registry import KINDS

MODULES = {
    "level": "threshold",
    "freeboard": "threshold",
    "rate_of_rise": "threshold",
    "time_to_crest": "time_to_crest",
    "rainfall": "rainfall",
    "compound": "compound",
    "sensor_health": "health",
}


def test_each_kind_is_listed_once_under_its_model_s_kind_in_its_own_module() -> None:
    assert list(KINDS) == list(MODULES)
    for name, kind in KINDS.items():
        assert kind.name == kind_name(kind.model) == name
        assert issubclass(kind.model, RuleBase)
        assert kind.model.__module__ == f"floodwatch.rules.kinds.{MODULES[name]}"


def test_the_config_is_validated_with_the_registry_s_models() -> None:
    assert CONFIG_TYPES.rules == {name: kind.model for name, kind in KINDS.items()}
    [listed] = [b for b in config_schema()["properties"]["rules"]["anyOf"] if "items" in b]
    assert listed["items"]["discriminator"]["mapping"] == {
        name: f"#/$defs/{kind.model.__name__}" for name, kind in KINDS.items()
    }


class GateRule(RuleBase):
    """A kind that is not registered: what a new kind module adds."""

    kind: Literal["gate"]
    opening: float = Field(gt=0, description="m")


class GateKind:
    """Its `RuleKind` (only its name and model matter to the loader)."""

    name = "gate"
    model = GateRule

    def __getattr__(self, name: str) -> Any:
        return getattr(LEVEL, name)


STATIONS = "stations:\n  - {id: p1, name: 塘, type: pond}\n"


def _load(tmp_path: Path, rules: str, kinds: dict[str, Any]) -> Any:
    (tmp_path / "c.yaml").write_text(STATIONS + "rules:\n" + rules, "utf-8")
    return loader.load_config_dir(tmp_path, config_types(kinds=kinds))


def _issues(tmp_path: Path, rules: str, kinds: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, rules, kinds)
    return [str(i).replace(f"{tmp_path}/", "") for i in caught.value.issues]


GATE = "  - {id: g, kind: gate, stations: [p1], opening: 0.5}\n"


def test_a_new_kind_s_model_is_picked_up_from_the_registry(tmp_path: Path) -> None:
    assert _issues(tmp_path, GATE, KINDS) == [
        "c.yaml:4:5: rules[0]: unknown rule kind 'gate'; valid: level, freeboard, "
        "rate_of_rise, time_to_crest, rainfall, compound, sensor_health"
    ]
    kinds = {**KINDS, "gate": GateKind()}
    [rule] = _load(tmp_path, GATE, kinds).config.rules
    assert rule == GateRule(id="g", kind="gate", stations=["p1"], opening=0.5)
    assert _issues(tmp_path, "  - {id: g, kind: flood, stations: [p1]}\n", kinds) == [
        "c.yaml:4:5: rules[0]: unknown rule kind 'flood'; valid: level, freeboard, "
        "rate_of_rise, time_to_crest, rainfall, compound, sensor_health, gate"
    ]


def test_a_new_kind_is_validated_with_its_own_keys_at_their_lines(tmp_path: Path) -> None:
    kinds = {**KINDS, "gate": GateKind()}
    assert _issues(
        tmp_path, "  - {id: g, kind: gate, stations: [p1], opening: 0, open: 1}\n", kinds
    ) == [
        "c.yaml:4:41: rules[0].opening: Input should be greater than 0, got 0",
        "c.yaml:4:53: rules[0].open: unknown key 'open' — did you mean 'opening'?; valid keys "
        "here: id, name, name_en, description, stations, station_types, enabled, for, "
        "clear_for, kind, opening",
    ]
    # what every rule has is checked for it too, named by the rule
    assert _issues(tmp_path, "  - {id: g, kind: gate, opening: 1}\n", kinds) == [
        "c.yaml:4:5: rules[0]: name the stations it watches: 'stations: [...]' or "
        "'station_types: [...]' (rule 'g')"
    ]
