"""`config.config_types`: given the sinks' destination models and the rule
kinds' models, the config models with `service.notify.destinations` as the
union of the first told apart by `type` and `rules` as the union of the
second told apart by `kind` — the same model names, defaults and
descriptions, so errors and the schema read as one model tree — for whichever
sinks and kinds it is given."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import Field, ValidationError

from floodwatch.config.config_types import ConfigTypes, kind_name
from floodwatch.config.destinations import DestinationBase
from floodwatch.config.models import Config, ConfigFile, RuleBase, ServiceSettings
from floodwatch.config.notify import NotifySettings


class Pager(DestinationBase):
    type: Literal["pager"]
    number: str = Field(description="the pager's number")


class Siren(DestinationBase):
    people = True
    type: Literal["siren"]
    zone: int = 1


class GateRule(RuleBase):
    kind: Literal["gate"]
    opening: float = Field(description="m")


class BellRule(RuleBase):
    kind: Literal["bell"]
    rings: int = 3


TYPES = ConfigTypes(destinations=[Pager, Siren], rules=[GateRule, BellRule])


def test_the_types_are_known_by_name_in_the_order_given() -> None:
    assert TYPES.destination_names() == ["pager", "siren"]
    assert TYPES.kind_names() == ["gate", "bell"]
    swapped = ConfigTypes(destinations=[Siren, Pager], rules=[BellRule, GateRule])
    assert swapped.destination_names() == ["siren", "pager"]
    assert swapped.kind_names() == ["bell", "gate"]
    assert TYPES.destination("siren") is Siren
    assert TYPES.rule("bell") is BellRule
    assert kind_name(GateRule) == "gate"


@pytest.mark.parametrize("name", ["webhook", None, 3])
def test_an_unknown_type_s_model_is_the_shared_base(name: object) -> None:
    """What the loader lists the valid keys of for a destination of no known type."""
    assert TYPES.destination(name) is DestinationBase


@pytest.mark.parametrize("kind", ["level", None, 3])
def test_an_unknown_kind_s_model_is_the_shared_base(kind: object) -> None:
    """What the loader lists the valid keys of for a rule of no known kind."""
    assert TYPES.rule(kind) is RuleBase


def test_each_rule_is_read_as_its_kind_s_model_in_a_file_and_a_whole_config() -> None:
    data = {
        "rules": [
            {"id": "g", "kind": "gate", "stations": ["p1"], "opening": 0.5},
            {"id": "b", "kind": "bell", "station_types": ["pond"]},
        ]
    }
    for model in (TYPES.file_model, TYPES.config_model):
        loaded = model.model_validate(data)
        assert loaded.rules == [
            GateRule(id="g", kind="gate", stations=["p1"], opening=0.5),
            BellRule(id="b", kind="bell", station_types=["pond"]),
        ]
    assert TYPES.file_model.model_validate({"rules": None}).rules == []  # left empty


def test_a_rule_is_checked_against_its_own_kind_only() -> None:
    with pytest.raises(ValidationError) as caught:
        TYPES.file_model.model_validate(
            {
                "rules": [
                    {"id": "g", "kind": "gate", "stations": ["p1"], "rings": 2},
                    {"id": "x", "kind": "level", "stations": ["p1"]},
                    {"id": "y", "stations": ["p1"]},
                ]
            }
        )
    errors = {(e["loc"], e["type"]) for e in caught.value.errors()}
    assert errors == {
        (("rules", 0, "gate", "opening"), "missing"),
        (("rules", 0, "gate", "rings"), "extra_forbidden"),
        (("rules", 1), "union_tag_invalid"),
        (("rules", 2), "union_tag_not_found"),
    }


def test_each_destination_is_read_as_its_type_s_model() -> None:
    notify = TYPES.notify_model.model_validate(
        {
            "destinations": {
                "duty": {"type": "pager", "number": "1234"},
                "horn": {"type": "siren", "zone": 2},
            }
        }
    )
    assert notify.destinations == {
        "duty": Pager(type="pager", number="1234"),
        "horn": Siren(type="siren", zone=2),
    }
    assert notify.people("horn") and not notify.people("duty")


def test_a_destination_is_checked_against_its_own_type_only() -> None:
    with pytest.raises(ValidationError) as caught:
        TYPES.notify_model.model_validate(
            {"destinations": {"duty": {"type": "pager", "zone": 2}, "x": {"type": "webhook"}}}
        )
    errors = {(e["loc"], e["type"]) for e in caught.value.errors()}
    assert errors == {
        (("destinations", "duty", "pager", "number"), "missing"),
        (("destinations", "duty", "pager", "zone"), "extra_forbidden"),
        (("destinations", "x"), "union_tag_invalid"),
    }


def test_the_models_keep_their_names_and_stand_in_for_the_plain_ones() -> None:
    for model, base in (
        (TYPES.notify_model, NotifySettings),
        (TYPES.service_model, ServiceSettings),
        (TYPES.file_model, ConfigFile),
        (TYPES.config_model, Config),
    ):
        assert issubclass(model, base)
        assert (model.__name__, model.__module__, model.__doc__) == (
            base.__name__,
            base.__module__,
            base.__doc__,
        )
        assert set(model.model_fields) == set(base.model_fields)


def test_a_changed_field_keeps_its_default_and_description() -> None:
    field = TYPES.service_model.model_fields["notify"]
    assert field.default is None
    assert field.description == ServiceSettings.model_fields["notify"].description
    assert TYPES.service_model().notify is None
    assert TYPES.notify_model().destinations == {}


def test_a_whole_file_and_a_whole_config_read_destinations_through_the_union() -> None:
    data = {"service": {"notify": {"destinations": {"duty": {"type": "pager", "number": "9"}}}}}
    for model in (TYPES.file_model, TYPES.config_model):
        loaded = model.model_validate(data)
        assert loaded.service is not None and loaded.service.notify is not None
        assert loaded.service.notify.destinations["duty"] == Pager(type="pager", number="9")
    with pytest.raises(ValidationError):
        TYPES.file_model.model_validate(
            {"service": {"notify": {"destinations": {"d": {"type": "siren", "number": "9"}}}}}
        )


def test_the_schema_has_one_definition_per_model_under_its_own_name() -> None:
    schema = TYPES.file_model.model_json_schema(by_alias=True)
    assert schema["title"] == "ConfigFile"
    assert {"ServiceSettings", "NotifySettings", "Pager", "Siren"} <= set(schema["$defs"])
    [union] = schema["$defs"]["NotifySettings"]["properties"]["destinations"][
        "patternProperties"
    ].values()
    assert union["discriminator"]["mapping"] == {
        "pager": "#/$defs/Pager",
        "siren": "#/$defs/Siren",
    }
    rules = schema["properties"]["rules"]
    [listed] = [branch for branch in rules["anyOf"] if branch.get("type") == "array"]
    assert listed["items"]["discriminator"]["mapping"] == {
        "gate": "#/$defs/GateRule",
        "bell": "#/$defs/BellRule",
    }
    assert {"GateRule", "BellRule"} <= set(schema["$defs"])


def test_two_models_of_one_type_or_none_at_all_are_refused() -> None:
    with pytest.raises(ValueError, match="two destination models for type 'pager'"):
        ConfigTypes(destinations=[Pager, Siren, Pager], rules=[GateRule])
    with pytest.raises(ValueError, match="no destination models"):
        ConfigTypes(destinations=iter([]), rules=[GateRule])
    with pytest.raises(ValueError, match="two rule models for kind 'gate'"):
        ConfigTypes(destinations=[Pager], rules=[GateRule, BellRule, GateRule])
    with pytest.raises(ValueError, match="no rule models"):
        ConfigTypes(destinations=[Pager], rules=[])


def test_a_model_without_one_literal_type_or_kind_is_refused() -> None:
    with pytest.raises(TypeError, match=r"DestinationBase\.type must be one Literal name"):
        ConfigTypes(destinations=[Pager, DestinationBase], rules=[GateRule])
    with pytest.raises(TypeError, match=r"RuleBase\.kind must be one Literal name"):
        ConfigTypes(destinations=[Pager], rules=[GateRule, RuleBase])
