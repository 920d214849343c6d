"""`floodwatch import sl323` from CSV exports (UTF-8 and GBK) and from a real
PostgreSQL server: the YAML passes `floodwatch check` with a rules file, and
every bad row is reported with its STCD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from floodwatch.cli.app import main
from tests.sl323.data import RULES, write_csv


def run_import(*args: str) -> Result:
    return CliRunner().invoke(main, ["import", "sl323", *args])


def stations(output: Path) -> dict[str, dict[str, Any]]:
    loaded = yaml.safe_load((output / "stations.yaml").read_text("utf-8"))
    return {s["id"]: s for s in loaded["stations"]}


def check_imported(result: Result, output: Path) -> None:
    """What every source of the same rows must give."""
    assert result.exit_code == 1, result.output  # stations were left out
    report = result.stderr
    assert "ST_STBPRP_B STCD 62903100: duplicate STCD" in report
    assert (
        "ST_RSVRFCCH_B STCD 62903500: levels.crest: must be at or above check_flood (103.1), "
        "got 100 (flood_limit ≤ design_flood ≤ check_flood ≤ crest) — station left out"
    ) in report
    assert "ST_ZVARL_B STCD 62903600: structure.storage[2][1]: storage must increase" in report
    assert "ST_STBPRP_B STCD 62903700: no coordinates (LGTD/LTTD)" in report
    assert "ST_STBPRP_B STCD 62903800: station type STTP 'SS' is not watched" in report
    assert "ST_RSVRFCCH_B STCD 99999999: no station '99999999' in ST_STBPRP_B" in report
    assert "2 left out" in result.stdout

    got = stations(output)
    assert sorted(got) == ["62903100", "62903200", "62903300", "62903400", "62903600", "62903700"]
    maokeng = got["62903100"]
    assert maokeng["name"] == "毛坑水库" and maokeng["type"] == "reservoir"
    assert maokeng["location"] == {"lon": 119.62341, "lat": 29.81277}
    assert maokeng["village"] == {"name": "桐庐县凤川镇毛坑村", "code": "330122104201"}
    assert maokeng["levels"] == {
        "crest": 312.0,
        "check_flood": 311.6,
        "design_flood": 311.4,
        "flood_limit": {"05-01..06-30": 310.4, "07-01..09-15": 310.6, "default": 310.8},
    }
    assert maokeng["structure"]["storage"] == [
        [308.0, 0.0],
        [309.0, 5000.0],
        [310.0, 16000.0],
        [311.0, 33000.0],
        [312.0, 56000.0],
        [313.0, 85000.0],
    ]  # the 2019 survey, 10⁶ m³ → m³
    assert got["62903200"]["type"] == "pond"  # total storage 0.05 × 10⁶ m³: a 山塘
    assert got["62903300"]["covers"] == ["330122104201"]
    assert got["62903400"]["town"]["code"] == "330122001"
    assert got["62903400"]["levels"] == {"warning": 28.5, "guarantee": 30.2}
    assert "structure" not in got["62903600"] and got["62903600"]["levels"]["crest"] == 158.0
    assert "location" not in got["62903700"]

    (output / "rules.yaml").write_text(RULES, "utf-8")
    checked = CliRunner().invoke(main, ["check", str(output)])
    assert checked.exit_code == 0, checked.output
    assert "6 stations, 2 rules" in checked.output


@pytest.mark.parametrize(
    ("encoding", "null"), [("utf-8", ""), ("gbk", "NULL"), ("utf-8-sig", ""), ("gbk", "")]
)
def test_import_from_csv_exports(tmp_path: Path, encoding: str, null: str) -> None:
    exports = write_csv(tmp_path / "exports", encoding, null)
    result = run_import("--csv-dir", str(exports), "--output", str(tmp_path / "out"))
    check_imported(result, tmp_path / "out")
    assert ("read as GBK" in result.stderr) == (encoding == "gbk")


def test_an_existing_file_is_not_replaced_without_force(tmp_path: Path) -> None:
    exports = write_csv(tmp_path / "exports", "utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stations.yaml").write_text("stations: []\n")
    result = run_import("--csv-dir", str(exports), "--output", str(tmp_path / "out"))
    assert result.exit_code == 2 and "give --force" in result.output
    result = run_import("--csv-dir", str(exports), "--output", str(tmp_path / "out"), "--force")
    assert result.exit_code == 1 and len(stations(tmp_path / "out")) == 6


def test_without_the_station_table_nothing_is_written(tmp_path: Path) -> None:
    exports = write_csv(tmp_path / "exports", "utf-8")
    (exports / "ST_STBPRP_B.csv").unlink()
    result = run_import("--csv-dir", str(exports), "--output", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "no table ST_STBPRP_B (station master data)" in result.stderr
    assert not (tmp_path / "out").exists()


def test_one_source_is_required(tmp_path: Path) -> None:
    result = run_import("--output", str(tmp_path))
    assert result.exit_code == 2 and "give --dsn URL or --csv-dir DIR" in result.output


def test_without_psycopg_the_message_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    result = run_import("--dsn", "postgresql://reader@127.0.0.1/rwdb", "--output", str(tmp_path))
    assert result.exit_code == 2
    assert "pip install 'floodwatch[sl323]'" in result.stderr
