"""`floodwatch import sl323`: stations from the provincial SL 323 database."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import yaml

from floodwatch.config import ConfigError
from floodwatch.ingest.sl323.convert import Imported, convert
from floodwatch.ingest.sl323.tables import SourceError, Tables, read_csv_dir, read_postgres
from floodwatch.notify.sinks import load_config_files


@click.group("import")
def import_group() -> None:
    """Write station YAML from what engineers already keep elsewhere."""


@import_group.command("sl323")
@click.option("--dsn", help="PostgreSQL URL of the SL 323 database, e.g. postgresql://u@host/rwdb")
@click.option(
    "--csv-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="a directory of CSV exports: ST_STBPRP_B.csv, ST_RSVRFCCH_B.csv, ...",
)
@click.option("--encoding", help="of the CSV files (default: UTF-8, else GBK/GB 18030)")
@click.option(
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="directory to write stations.yaml into (created if missing)",
)
@click.option("--force", is_flag=True, help="replace an existing stations.yaml")
def sl323(
    dsn: str | None, csv_dir: Path | None, encoding: str | None, output: Path, force: bool
) -> None:
    """Stations, characteristic levels, seasonal flood limits and storage curves
    from SL 323 tables (ST_STBPRP_B, ST_RSVRFCCH_B, ST_RSVRFSR_B, ST_ZVARL_B,
    ST_RVFCCH_B) into OUTPUT/stations.yaml. Rows that cannot be taken are listed
    with their STCD; exit 1 when a station was left out (the file is written)."""
    if (dsn is None) == (csv_dir is None):
        raise click.UsageError("give --dsn URL or --csv-dir DIR (one of them)")
    target = output / "stations.yaml"
    if target.exists() and not force:
        raise click.UsageError(f"{target} exists; give --force to replace it")
    try:
        if csv_dir is not None:
            tables = read_csv_dir(csv_dir, encoding)
        else:
            assert dsn is not None
            tables = read_postgres(dsn)
    except SourceError as exc:
        click.echo(f"import sl323: {exc}", err=True)
        sys.exit(2)
    imported = convert(tables)
    for note in tables.notes:
        click.echo(f"note: {note}", err=True)
    for problem in imported.problems:
        click.echo(f"{'left out' if problem.skipped else 'note'}: {problem}", err=True)
    if not imported.stations:
        click.echo("import sl323: no station could be imported; nothing written", err=True)
        sys.exit(2)
    output.mkdir(parents=True, exist_ok=True)
    target.write_text(render(imported, tables), "utf-8")
    try:
        load_config_files([target])
    except ConfigError as exc:  # a bug here: every station was validated on its own
        click.echo(exc.report(), err=True)
        sys.exit(3)
    left_out = len({p.stcd for p in imported.skipped})
    click.echo(
        f"{target}: {len(imported.stations)} stations written"
        + (f", {left_out} left out (see above)" if left_out else "")
    )
    if left_out:
        sys.exit(1)


def render(imported: Imported, tables: Tables) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        f"# Imported from SL 323 tables ({tables.source}) by `floodwatch import sl323`, {when}.\n"
        "# Village and town names are the stations' addresses (STLC): shorten them\n"
        "# to the names people know before the texts go out.\n"
    )
    body: dict[str, Any] = {"stations": imported.stations}
    return header + yaml.safe_dump(
        body, allow_unicode=True, sort_keys=False, default_flow_style=None, width=100
    )
