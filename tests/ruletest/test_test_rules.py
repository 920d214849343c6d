"""`floodwatch test-rules`: the shipped suite passes, a wrong one fails clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from floodwatch.cli.app import main
from floodwatch.ruletest import expand

OWN_TEST_OF = ("floodwatch.ruletest",)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "tests" / "rules.test.yaml"


def _suite(tmp_path: Path, body: str) -> Path:
    file = tmp_path / "suite.test.yaml"
    file.write_text(f"config: {ROOT / 'config'}\nstart: 2026-07-07T00:00:00Z\n{body}")
    return file


def test_the_example_configs_suite_passes() -> None:
    result = CliRunner().invoke(main, ["test-rules", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok    ") == 5
    assert "5 passed, 0 failed" in result.output


def test_a_wrong_expectation_fails_with_each_mismatch_named(tmp_path: Path) -> None:
    suite = _suite(
        tmp_path,
        """tests:
  - name: blue expected too early, resolve forgotten
    input:
      maokeng-pond/level: 310.3+0.05x20 311.3x6 311.3-0.05x20 310.3x6
    rules: [pond-level]
    expect:
      - {at: 25m, rule: pond-level, station: maokeng-pond, severity: blue, transition: firing}
""",
    )
    result = CliRunner().invoke(main, ["test-rules", str(suite)])
    assert result.exit_code == 1
    assert f"FAIL  blue expected too early, resolve forgotten ({suite}:4)" in result.output
    assert (
        "  missing:    at +25m (2026-07-07T00:25:00Z): pond-level maokeng-pond blue firing"
        in result.output
    )
    assert (
        "  unexpected: at +30m (2026-07-07T00:30:00Z): pond-level maokeng-pond blue firing"
        in result.output
    )
    assert (
        "  unexpected: at +3h55m (2026-07-07T03:55:00Z): pond-level maokeng-pond blue resolved"
        in result.output
    )
    assert "0 passed, 1 failed" in result.output


def test_a_bad_tests_file_is_reported_with_file_line_and_key(tmp_path: Path) -> None:
    suite = _suite(
        tmp_path,
        """tests:
  - name: typo
    input:
      maokeng-pond/level: 310+0.1
    expect:
      - {at: soon, rule: pond-level, station: maokeng-pond, severity: blue, transition: firing}
""",
    )
    result = CliRunner().invoke(main, ["test-rules", str(suite)])
    assert result.exit_code == 2
    assert f"{suite}:6:7: tests[0].input.maokeng-pond/level" in result.output
    assert "a step needs a count" in result.output


@pytest.mark.parametrize(
    ("notation", "values"),
    [
        ("310+0.1x3", [310.0, 310.1, 310.2, 310.3]),
        ("2-0.5x2 _", [2.0, 1.5, 1.0, None]),
        ("0x2 _x1 7", [0.0, 0.0, 0.0, None, None, 7.0]),
        ("-1.5e1", [-15.0]),
    ],
)
def test_series_notation(notation: str, values: list[float | None]) -> None:
    assert expand(notation) == values


@pytest.mark.parametrize("bad", ["1+", "x3", "1+1", "_+1x2", "abc"])
def test_bad_series_notation_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        expand(bad)


def test_a_station_added_to_the_config_leaves_the_shipped_suite_passing(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    with (config / "stations.yaml").open("a", encoding="utf-8") as out:
        out.write(
            "  - id: shangcun-rain\n"
            "    name: 上村雨量站\n"
            "    type: rain_gauge\n"
            "    interval: 5m\n"
            "    reports: [rain]\n"
        )
    result = CliRunner().invoke(main, ["test-rules", str(config / "tests" / "rules.test.yaml")])
    assert result.exit_code == 0, result.output
    assert "5 passed, 0 failed" in result.output


SILENT = """
  - name: one gauge silent
    input:
      maokeng-pond/level: 310.3x6 _x5 310.3x3
      maokeng-culvert/flow: 1.2x16
      maokeng-rain/rain: 0x16
    rules: [sensor-health/stale]
    expect:
      - {at: 40m, rule: sensor-health/stale, station: maokeng-pond, severity: info,
         transition: firing}
      - {at: 1h5m, rule: sensor-health/stale, station: maokeng-pond, severity: info,
         transition: resolved}
"""


def test_without_stations_a_test_covers_every_station(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["test-rules", str(_suite(tmp_path, "tests:" + SILENT))])
    assert result.exit_code == 1
    assert "unexpected: at +10m (2026-07-07T00:10:00Z): sensor-health/stale xiawu-pond" in (
        result.output
    )


def test_stations_of_the_file_are_the_default_of_each_test(tmp_path: Path) -> None:
    body = "stations: [maokeng-pond, maokeng-culvert, maokeng-rain]\ntests:" + SILENT
    result = CliRunner().invoke(main, ["test-rules", str(_suite(tmp_path, body))])
    assert result.exit_code == 0, result.output


def test_a_scope_naming_what_the_config_lacks_is_an_error(tmp_path: Path) -> None:
    body = "stations: [maokeng-pond, maokeng-pnd]\ntests:" + SILENT.replace(
        "rules: [sensor-health/stale]", "rules: [sensor-health/stail]"
    )
    result = CliRunner().invoke(main, ["test-rules", str(_suite(tmp_path, body))])
    assert result.exit_code == 2
    lines = [line.strip().replace(f"{tmp_path}/", "") for line in result.output.splitlines()]
    assert lines[1:] == [
        "suite.test.yaml:3:26: stations[1]: no station 'maokeng-pnd' in the config",
        "suite.test.yaml:10:13: tests[0].rules[0]: no rule 'sensor-health/stail' in the config",
        "suite.test.yaml:12:19: tests[0].expect[0].rule: 'sensor-health/stale' is not among "
        "the test's rules (sensor-health/stail)",
        "suite.test.yaml:14:20: tests[0].expect[1].rule: 'sensor-health/stale' is not among "
        "the test's rules (sensor-health/stail)",
    ]
