"""`floodwatch.cli.importer` on its own: what `import sl323` writes (a header
naming the source, stations as YAML a hydrologist can read, Chinese as is),
its exit codes (0 all taken, 1 some left out, 2 nothing to write or a bad
source), and what it refuses before reading anything."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from floodwatch.cli.importer import import_group, render
from floodwatch.ingest.sl323.convert import convert
from floodwatch.ingest.sl323.tables import read_csv_dir
from floodwatch.notify.sinks import load_config_files
from tests.sl323.data import COLUMNS, ROWS

GOOD = {"62903200", "62903300", "62903400"}  # a pond, a rain gauge, a river station


def exports(directory: Path, stcds: set[str], encoding: str = "utf-8") -> Path:
    """The example tables cut down to the rows of `stcds`."""
    directory.mkdir(parents=True, exist_ok=True)
    for table, columns in COLUMNS.items():
        with (directory / f"{table}.csv").open("w", encoding=encoding, newline="") as f:
            writer = csv.writer(f)
            writer.writerow([name for name, _ in columns])
            for row in ROWS[table]:
                if row[0] in stcds:
                    writer.writerow(["" if v is None else v for v in row])
    return directory


def run(*args: str) -> Result:
    return CliRunner().invoke(import_group, ["sl323", *args])


def stations(output: Path) -> dict[str, dict[str, Any]]:
    loaded = yaml.safe_load((output / "stations.yaml").read_text("utf-8"))
    return {s["id"]: s for s in loaded["stations"]}


def test_clean_tables_write_every_station_and_exit_0(tmp_path: Path) -> None:
    out = tmp_path / "county" / "config"  # created, parents too
    result = run("--csv-dir", str(exports(tmp_path / "csv", GOOD)), "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out / 'stations.yaml'}: 3 stations written\n"
    assert result.stderr == ""
    assert sorted(stations(out)) == sorted(GOOD)
    assert stations(out)["62903200"]["name"] == "下坞山塘"
    load_config_files([out / "stations.yaml"])  # valid config on its own


def test_the_file_says_where_it_came_from_and_keeps_chinese_readable(tmp_path: Path) -> None:
    source = exports(tmp_path / "csv", GOOD)
    tables = read_csv_dir(source)
    imported = convert(tables)
    text = render(imported, tables)
    lines = text.splitlines()
    assert re.fullmatch(
        rf"# Imported from SL 323 tables \({re.escape(str(source))}\) by `floodwatch import "
        r"sl323`, \d{4}-\d\d-\d\d \d\d:\d\d UTC\.",
        lines[0],
    )
    assert lines[1].startswith("# Village and town names are the stations' addresses (STLC)")
    assert "下坞山塘" in text and "\\u" not in text  # not escaped
    assert yaml.safe_load(text) == {"stations": imported.stations}
    assert all(len(line) <= 100 for line in lines if not line.startswith("#"))


def test_a_station_left_out_is_named_and_the_rest_written_with_exit_1(tmp_path: Path) -> None:
    csv_dir = exports(tmp_path / "csv", {*GOOD, "62903500"})  # crest below flood_limit
    result = run("--csv-dir", str(csv_dir), "--output", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.stdout.endswith(": 3 stations written, 1 left out (see above)\n")
    (left,) = [line for line in result.stderr.splitlines() if line.startswith("left out: ")]
    assert "STCD 62903500: levels.crest" in left and left.endswith("— station left out")
    assert sorted(stations(tmp_path / "out")) == sorted(GOOD)


def test_when_no_station_can_be_taken_nothing_is_written(tmp_path: Path) -> None:
    csv_dir = exports(tmp_path / "csv", {"62903800"})  # a soil-moisture station only
    result = run("--csv-dir", str(csv_dir), "--output", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "STCD 62903800: station type STTP 'SS' is not watched" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "import sl323: no station could be imported; nothing written"
    )
    assert not (tmp_path / "out").exists()


def test_a_wrong_encoding_given_is_a_source_error(tmp_path: Path) -> None:
    gbk = exports(tmp_path / "csv", GOOD, encoding="gbk")
    result = run("--csv-dir", str(gbk), "--encoding", "utf-8", "--output", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"import sl323: {gbk}")
    assert "not utf-8" in result.stderr
    result = run("--csv-dir", str(gbk), "--encoding", "klingon", "--output", str(tmp_path / "o"))
    assert result.exit_code == 2 and "not klingon: unknown encoding" in result.stderr
    assert not (tmp_path / "o").exists()
    result = run("--csv-dir", str(gbk), "--output", str(tmp_path / "o"))  # found by itself
    assert result.exit_code == 0, result.output
    assert "read as GBK" in result.stderr


def test_both_sources_are_refused_before_reading_either(tmp_path: Path) -> None:
    csv_dir = exports(tmp_path / "csv", GOOD)
    result = run(
        "--dsn", "postgresql://reader@127.0.0.1:9/rwdb", "--csv-dir", str(csv_dir),
        "--output", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "give --dsn URL or --csv-dir DIR (one of them)" in result.output
    assert not (tmp_path / "out").exists()


def test_a_missing_csv_directory_is_refused_by_the_option(tmp_path: Path) -> None:
    result = run("--csv-dir", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_force_replaces_only_when_given(tmp_path: Path) -> None:
    csv_dir = exports(tmp_path / "csv", GOOD)
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "stations.yaml"
    target.write_text("stations: []\n")
    result = run("--csv-dir", str(csv_dir), "--output", str(tmp_path / "out"))
    assert result.exit_code == 2 and f"{target} exists; give --force" in result.output
    assert target.read_text() == "stations: []\n"
    result = run("--csv-dir", str(csv_dir), "--output", str(tmp_path / "out"), "--force")
    assert result.exit_code == 0 and len(stations(tmp_path / "out")) == 3
