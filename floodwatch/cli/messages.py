"""`floodwatch messages`: the catalogue of every text a config can produce."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from floodwatch.cli.options import config_option, load


@click.command("messages")
@config_option
@click.option(
    "--output",
    "output_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Markdown file (default: stdout)",
)
@click.option(
    "--check", is_flag=True, help="also check every text against the rules; exit 1 on a problem"
)
def messages(config_dir: Path, output_path: Path | None, check: bool) -> None:
    """Write every text the config can produce (alerts of each rule by level and
    transition in Chinese and English, the loudspeaker's words, sensor notices,
    incident messages) to a Markdown catalogue."""
    from floodwatch.notify.catalogue.check import problems
    from floodwatch.notify.catalogue.entries import entries
    from floodwatch.notify.catalogue.markdown import markdown

    compiled = load(config_dir)
    found = entries(compiled)
    text = markdown(found, _shown(config_dir))
    if output_path is None:
        sys.stdout.write(text)
    else:
        try:
            output_path.write_text(text, encoding="utf-8")
        except OSError as exc:
            click.echo(f"messages: cannot write {output_path}: {exc.strerror}", err=True)
            sys.exit(1)
        click.echo(f"{output_path}: {len(found)} texts", err=True)
    if check:
        trouble = problems(compiled, found)
        for line in trouble:
            click.echo(line, err=True)
        if trouble:
            click.echo(f"{len(trouble)} problems in {len(found)} texts", err=True)
            sys.exit(1)
        click.echo(f"all {len(found)} texts keep the rules", err=True)


def _shown(config_dir: Path) -> str:
    """The config directory as the catalogue names it (relative when it can)."""
    try:
        return str(config_dir.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(config_dir)
