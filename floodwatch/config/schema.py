"""The JSON Schema of a config file, from the models the loader validates with.

`floodwatch schema` prints it for editors (YAML language servers underline
what does not match). It is generated from `ConfigFile` with the sinks'
destination models and the rule kinds' models (`ConfigTypes.file_model`),
the model the loader validates each file with, so the two cannot drift
apart; what the loader
accepts beyond a field's type is declared on the field itself — a
`BeforeValidator` that widens the input (one person id for a list of them)
carries `json_schema_input_type`, a parsed value type (durations, threshold
expressions) carries `WithJsonSchema`. The tests hold every config the test
suite loads, and the example, to this schema (`tests/conftest.py`).
"""

from __future__ import annotations

from typing import Any

from floodwatch.config.config_types import ConfigTypes

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_schema(types: ConfigTypes) -> dict[str, Any]:
    """The schema of one config file (any of `engine`, `service`, `stations`,
    `rules`, `people`, `rosters`), draft 2020-12, with each destination type and
    rule kind of `types` (the registries': `floodwatch.notify.sinks.config_schema()`)."""
    document = types.file_model.model_json_schema(by_alias=True, mode="validation")
    document["$schema"] = DIALECT
    document["title"] = "floodwatch config file"
    return document
