"""`floodwatch.cli.options`: loading a config for a command — compiled, or exit
2 with every problem listed (load and compile errors alike) — and the shared
options. Importing a command module first works (no import cycle with app)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from floodwatch.cli.options import (
    EXAMPLE_CONFIG,
    config_option,
    load,
    load_or_exit,
    scenario_option,
    store_of,
)
from floodwatch.sim import SCENARIOS


@click.command()
@config_option
@scenario_option
@click.option("--compiled", is_flag=True)
def probe(config_dir: Path, scenario: str, compiled: bool) -> None:
    if compiled:
        click.echo(f"{len(load(config_dir).bindings)} bindings, {scenario}")
    else:
        click.echo(f"{len(load_or_exit(config_dir).config.stations)} stations, {scenario}")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    target.mkdir()
    for file in EXAMPLE_CONFIG.glob("*.yaml"):
        shutil.copy(file, target / file.name)
    return target


def test_the_example_is_the_default_config_and_blocked_the_default_scenario() -> None:
    assert (EXAMPLE_CONFIG / "stations.yaml").is_file()
    result = CliRunner().invoke(probe, [])
    assert result.exit_code == 0, result.output
    assert result.output == "4 stations, blocked\n"
    result = CliRunner().invoke(probe, ["--compiled", "--scenario", "flash"])
    assert result.output == "14 bindings, flash\n"


def test_an_unknown_scenario_is_refused_naming_the_choices() -> None:
    result = CliRunner().invoke(probe, ["--scenario", "tsunami"])
    assert result.exit_code == 2
    assert "'tsunami' is not one of" in result.output
    assert all(name in result.output for name in SCENARIOS)


@pytest.mark.parametrize("compiled", [False, True])
def test_a_missing_directory_exits_2_naming_it(tmp_path: Path, compiled: bool) -> None:
    args = ["--config", str(tmp_path / "nowhere"), *(["--compiled"] if compiled else [])]
    result = CliRunner().invoke(probe, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"1 problem in the configuration:\n  {tmp_path / 'nowhere'}: not a directory\n"
    )


@pytest.mark.parametrize("compiled", [False, True])
def test_a_problem_found_only_when_compiling_also_exits_2(copy: Path, compiled: bool) -> None:
    """A rule naming an unknown station loads as YAML; only the compile step
    finds it, and both loaders report it with its file, line and key."""
    rules = copy / "rules.yaml"
    text = rules.read_text("utf-8")
    rules.write_text(text.replace("stations: [maokeng-pond]", "stations: [maokeng]", 1), "utf-8")
    args = ["--config", str(copy), *(["--compiled"] if compiled else [])]
    result = CliRunner().invoke(probe, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "rules.yaml:" in result.stderr and "unknown station 'maokeng'" in result.stderr


def test_every_problem_is_listed_not_only_the_first(copy: Path) -> None:
    stations = copy / "stations.yaml"
    text = stations.read_text("utf-8")
    stations.write_text(text.replace("type: pond", "type: lake"), "utf-8")  # both ponds
    result = CliRunner().invoke(probe, ["--config", str(copy)])
    assert result.exit_code == 2
    assert result.stderr.startswith("2 problems in the configuration:")
    assert result.stderr.count("got 'lake'") == 2


@pytest.mark.parametrize("module", ["messages", "demo"])
def test_a_command_module_can_be_imported_first(module: str) -> None:
    """Before options.py, importing `floodwatch.cli.messages` (or demo) before
    `floodwatch.cli.app` failed: each imported the other half-initialised."""
    done = subprocess.run(
        [sys.executable, "-c", f"import floodwatch.cli.{module}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@click.command()
@click.argument("store", type=click.Path(path_type=Path))
def count(store: Path) -> None:
    with store_of(store) as db:
        click.echo(f"{len(db.transitions())} transitions")


def test_store_of_opens_a_store_and_leaves_any_other_file_as_it_was(tmp_path: Path) -> None:
    from floodwatch.store import Store

    Store(tmp_path / "fw.db").close()
    result = CliRunner().invoke(count, [str(tmp_path / "fw.db")])
    assert result.exit_code == 0, result.output
    assert result.output == "0 transitions\n"
    empty = tmp_path / "empty.db"  # e.g. made by `touch`
    empty.touch()
    result = CliRunner().invoke(count, [str(empty)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{empty}: not usable as the service's store (no such table")
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db", "fw.db"]


def test_store_of_leaves_a_store_of_a_newer_release_as_it_was(tmp_path: Path) -> None:
    """The service moves such a store aside at start; a command beside it must not."""
    from floodwatch.store import Store

    Store(tmp_path / "fw.db").close()
    with sqlite3.connect(tmp_path / "fw.db") as db:
        db.execute("UPDATE schema_version SET version = 999")
    db.close()
    result = CliRunner().invoke(count, [str(tmp_path / "fw.db")])
    assert result.exit_code == 1
    assert (
        result.stderr
        == (
            f"{tmp_path / 'fw.db'}: not usable as the service's store (store schema version 999 "
            "is newer than this floodwatch knows"
        )
        + result.stderr.split("knows", 1)[1]
    )
    assert result.stderr.endswith("); left as it is\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fw.db"]
