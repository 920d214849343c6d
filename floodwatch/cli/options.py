"""What the commands share: the example config, loading a config or exiting 2
with every problem listed, the `--config` / `--scenario` options, and opening
the service's store for a duty command (`store_of`).

Its own module so that a command module (`messages.py`, `demo.py`) imports it,
not `app.py`: `app.py` imports the command modules to register them, and a
command module importing `app.py` back could not be imported first.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from floodwatch.config import ConfigError
from floodwatch.config.loader import LoadedConfig
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.sim import SCENARIOS

if TYPE_CHECKING:
    from floodwatch.store import Store

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


@contextmanager
def store_of(path: Path) -> Iterator[Store]:
    """The service's store as it is, for a command that reads or writes it
    beside the running service; closed afterwards. Exit 1 naming the file when
    it is not a floodwatch store or is damaged — never moved aside and replaced
    by a new one, as the service does with its own store at start (a silence
    written to a new file would never be seen) — or when another program holds
    a write lock on it past SQLite's busy timeout."""
    from floodwatch.store import Store

    try:
        store = Store.existing(path)
    except sqlite3.DatabaseError as exc:
        if _busy(exc):
            _locked(path, exc)
        click.echo(f"{path}: not usable as the service's store ({exc}); left as it is", err=True)
        sys.exit(1)
    try:
        yield store
    except sqlite3.OperationalError as exc:
        if not _busy(exc):
            raise
        _locked(path, exc)
    finally:
        store.close()


def _busy(exc: sqlite3.DatabaseError) -> bool:
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED")


def _locked(path: Path, exc: sqlite3.DatabaseError) -> NoReturn:
    click.echo(
        f"{path}: {exc}: another program holds a write lock on the store "
        "(the service's own writes take milliseconds); nothing was changed, try again",
        err=True,
    )
    sys.exit(1)
