"""`floodwatch check [PATH]`: validate a config directory or one file of it.

Without PATH: `./config` under the current directory, or the current
directory itself when it holds the YAML (never the example shipped with the
package: run inside a broken copy, check must see the copy). The directory
checked is always named in the output.

A single file is checked on its own for syntax and schema (every key, type
and per-item rule). When its directory holds other config files, it is then
checked in that directory's context — the cross-references (stations a rule
names, people a roster names, routes) resolve against the whole directory —
and only the problems located in the file are listed, with a count of those
elsewhere. Problems anywhere exit 2: a file is only as good as the config it
joins. A file alone in its directory is compiled on its own.

Warnings (`warning:` lines, exit 0): notes of the loader (a byte-order mark)
and gaps in who would be told (`floodwatch.notify.coverage`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from floodwatch.config import ConfigError
from floodwatch.config.errors import ConfigIssue
from floodwatch.config.loader import LoadedConfig
from floodwatch.notify.sinks import load_config_dir, load_config_files
from floodwatch.rules.compile import CompiledConfig, compile_config

SUFFIXES = (".yaml", ".yml")


def default_target(cwd: Path) -> Path | None:
    """`./config` when it is a directory, else `.` when it holds YAML, else None."""
    if (cwd / "config").is_dir():
        return Path("config")
    if any(p.suffix in SUFFIXES and p.is_file() for p in cwd.iterdir()):
        return Path(".")
    return None


@click.command("check")
@click.argument("path", type=click.Path(path_type=Path), required=False)
def check(path: Path | None) -> None:
    """Validate a config directory (default: ./config, or . when it holds the
    YAML) or a single file of one; list every problem with file:line:column."""
    if path is None:
        path = default_target(Path.cwd())
        if path is None:
            click.echo(
                f"no config here: {Path.cwd()} has no config/ directory and no *.yaml files; "
                "give a directory or a file: floodwatch check DIR|FILE",
                err=True,
            )
            sys.exit(2)
    if not path.exists():  # a typo in the name: not "not a directory"
        _fail(f"checked {path.resolve()}", [_issue(path, "no such file or directory")])
    if path.is_file():
        compiled, loaded, what = _check_file(path)
    else:
        compiled, loaded, what = _check_dir(path)
    from floodwatch.notify.coverage import gaps

    warnings = [*loaded.notes, *gaps(loaded, compiled)]
    if path.is_file():
        warnings = [w for w in warnings if w.file is None or _same(w.file, path)]
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    config = compiled.config
    tail = f", {len(warnings)} warning{'s' if len(warnings) != 1 else ''}" if warnings else ""
    click.echo(
        f"{what}: OK — {len(config.stations)} stations, {len(config.rules)} rules, "
        f"{len(compiled.bindings)} rule bindings{tail}"
    )


def _check_dir(directory: Path) -> tuple[CompiledConfig, LoadedConfig, str]:
    what = f"checked {directory.resolve()}"
    try:
        loaded = load_config_dir(directory)
        return compile_config(loaded), loaded, what
    except ConfigError as exc:
        _fail(what, exc.issues)


def _check_file(file: Path) -> tuple[CompiledConfig, LoadedConfig, str]:
    if file.suffix not in SUFFIXES:
        _fail(f"checked {file.resolve()}", [_issue(file, "not a *.yaml or *.yml file")])
    try:
        alone = load_config_files([file])
    except ConfigError as exc:
        _fail(f"checked {file.resolve()} (on its own)", exc.issues)
    directory = file.resolve().parent
    siblings = [p for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file()]
    if len(siblings) <= 1:
        what = f"checked {file.resolve()} (on its own)"
        try:
            return compile_config(alone), alone, what
        except ConfigError as exc:
            _fail(what, exc.issues)
    what = f"checked {file.resolve()} (with the {len(siblings) - 1} other files of {directory})"
    try:
        loaded = load_config_dir(directory)
        return compile_config(loaded), loaded, what
    except ConfigError as exc:
        mine = [i for i in exc.issues if i.file is not None and _same(i.file, file)]
        others = len(exc.issues) - len(mine)
        if others:
            elsewhere = (
                f"{others} problem{'s' if others != 1 else ''} in other files of this "
                f"directory: floodwatch check {directory}"
            )
            if not mine:  # the directory did not load: nothing of the file was cross-checked
                _fail(
                    what,
                    [
                        _issue(
                            directory, f"cross-references of {file.name} not checked: {elsewhere}"
                        )
                    ],
                )
            _fail(what, mine, f"  and {elsewhere}")
        _fail(what, mine)


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _issue(path: Path, message: str) -> ConfigIssue:
    return ConfigIssue(path, None, None, (), message)


def _fail(what: str, issues: list[ConfigIssue], trailer: str = "") -> NoReturn:
    click.echo(f"{what}: {ConfigError(issues).report()}", err=True)
    if trailer:
        click.echo(trailer, err=True)
    sys.exit(2)
