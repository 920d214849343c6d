"""Threshold configuration: pydantic models of the YAML, loading with positions,
validation with file:line errors, JSON Schema export.

The loader (`config.loader.load_config_dir(directory, types)`) is given the
sinks' destination models and the rule kinds' models (`ConfigTypes`), which
live above this layer; load a config with
`floodwatch.notify.sinks.load_config_dir(directory)`, which gives it the
registries'."""

from floodwatch.config.errors import ConfigError, ConfigIssue

__all__ = ["ConfigError", "ConfigIssue"]
