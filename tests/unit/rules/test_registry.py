"""Every rule kind of the config has one `RuleKind` in the registry, and back."""

from __future__ import annotations

from floodwatch.config.models import RULE_MODELS
from floodwatch.rules.registry import KINDS


def test_every_config_kind_has_its_rule_kind_and_back() -> None:
    assert set(KINDS) == set(RULE_MODELS)
    for name, kind in KINDS.items():
        assert kind.name == name
        assert kind.model is RULE_MODELS[name]
