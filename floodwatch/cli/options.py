"""What the commands share: the example config, loading a config or exiting 2
with every problem listed, and the `--config` / `--scenario` options.

Its own module so that a command module (`messages.py`, `demo.py`) imports it,
not `app.py`: `app.py` imports the command modules to register them, and a
command module importing `app.py` back could not be imported first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from floodwatch.config import ConfigError, load_config_dir
from floodwatch.config.loader import LoadedConfig
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.sim import SCENARIOS

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config"


def load(config_dir: Path) -> CompiledConfig:
    """Load and compile, or exit 2 with every problem listed."""
    try:
        return compile_config(load_config_dir(config_dir))
    except ConfigError as exc:
        click.echo(exc.report(), err=True)
        sys.exit(2)


def load_or_exit(config_dir: Path) -> LoadedConfig:
    """Load (and check that it compiles), or exit 2 with every problem listed."""
    try:
        loaded = load_config_dir(config_dir)
        compile_config(loaded)
        return loaded
    except ConfigError as exc:
        click.echo(exc.report(), err=True)
        sys.exit(2)


config_option = click.option(
    "--config",
    "config_dir",
    type=click.Path(path_type=Path),
    default=EXAMPLE_CONFIG,
    show_default=True,
    help="config directory",
)
scenario_option = click.option(
    "--scenario", type=click.Choice(sorted(SCENARIOS)), default="blocked", show_default=True
)
