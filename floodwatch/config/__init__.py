"""Threshold configuration: pydantic models of the YAML, loading with positions,
validation with file:line errors, JSON Schema export."""

from floodwatch.config.errors import ConfigError, ConfigIssue
from floodwatch.config.loader import load_config_dir

__all__ = ["ConfigError", "ConfigIssue", "load_config_dir"]
