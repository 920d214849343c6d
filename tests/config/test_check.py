"""`floodwatch check`: which directory, single files, warnings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from floodwatch.cli.app import main

EXAMPLE = Path("config").resolve()


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["check", *args])


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(EXAMPLE, target)
    return target


def break_it(directory: Path) -> None:
    stations = directory / "stations.yaml"
    stations.write_text(stations.read_text("utf-8").replace("type: pond", "type: lake", 1), "utf-8")


def test_without_a_path_check_reads_config_under_the_current_directory(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_it(copy)
    monkeypatch.chdir(copy.parent)
    result = run()
    assert result.exit_code == 2, result.output
    assert f"checked {copy}:" in result.output and "got 'lake'" in result.output


def test_without_a_path_inside_a_config_directory_check_reads_it(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(copy)
    result = run()
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"checked {copy}: OK — 4 stations")


def test_without_a_path_where_there_is_no_config_check_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run()
    assert result.exit_code == 2
    assert "no config here" in result.output


def test_a_single_file_is_checked_in_its_directory(copy: Path) -> None:
    result = run(str(copy / "rules.yaml"))
    assert result.exit_code == 0, result.output
    assert f"checked {copy / 'rules.yaml'} (with the 3 other files of {copy}): OK" in (
        result.output
    )


def test_a_single_file_lists_its_own_problems_and_counts_the_others(copy: Path) -> None:
    people = copy / "people.yaml"
    people.write_text(
        people.read_text("utf-8").replace("patrol: wang-qiang", "patrol: wang"), "utf-8"
    )
    rules = copy / "rules.yaml"
    rules.write_text(
        rules.read_text("utf-8").replace("stations: [maokeng-pond]", "stations: [maokeng]", 1),
        "utf-8",
    )
    result = run(str(rules))
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert "rules.yaml:" in lines[1] and "unknown station 'maokeng'" in lines[1]
    assert lines[2].endswith(f"1 problem in other files of this directory: floodwatch check {copy}")
    assert len(lines) == 3


def test_a_single_file_whose_directory_does_not_load_says_what_was_not_checked(
    copy: Path,
) -> None:
    break_it(copy)
    result = run(str(copy / "rules.yaml"))
    assert result.exit_code == 2
    assert result.output.splitlines()[1].endswith(
        "cross-references of rules.yaml not checked: 1 problem in other files of this "
        f"directory: floodwatch check {copy}"
    )


def test_a_single_file_alone_is_checked_on_its_own(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "stations:\n  - {id: p1, name: 山塘, type: pond, reports: [level]}\n", "utf-8"
    )
    result = run(str(tmp_path / "s.yaml"))
    assert result.exit_code == 0, result.output
    assert f"checked {tmp_path / 's.yaml'} (on its own): OK — 1 stations" in result.output


def test_a_file_that_does_not_parse_is_reported_before_its_directory(copy: Path) -> None:
    (copy / "people.yaml").write_text("people:\n  - id：zhang-wei\n", "utf-8")
    result = run(str(copy / "people.yaml"))
    assert result.exit_code == 2
    assert "(on its own)" in result.output and "full-width colon" in result.output


def test_a_station_with_flood_rules_and_nobody_responsible_is_a_warning(copy: Path) -> None:
    people = copy / "people.yaml"
    roster = (
        "  - {station: xiawu-pond, administrative: zhao-gang, technical: sun-li, "
        "patrol: zhou-ming}\n"
    )
    assert roster in people.read_text("utf-8")
    people.write_text(people.read_text("utf-8").replace(roster, ""), "utf-8")
    result = run(str(copy))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.output
    assert warnings[0].split("/config/", 1)[1] == (
        "stations.yaml:70:5: stations[3].id: station 'xiawu-pond' has flood rules "
        "(pond-freeboard, pond-level, pond-overtop, pond-rise) and no roster of its own: "
        "nobody answers for the dam as 行政/技术/巡查责任人"
    )
    assert "OK — 4 stations, 7 rules, 14 rule bindings, 1 warning" in result.output


def test_a_rule_that_routes_to_nobody_is_a_warning(copy: Path) -> None:
    (copy / "notify.yaml").write_text(
        "service:\n"
        "  notify:\n"
        "    destinations:\n"
        "      village-sms: {type: sms, provider: {url: 'http://127.0.0.1:9/'}}\n"
        "    routes:\n"
        "      - to: [village-sms]\n"
        "        rules: [rain-accumulation, pond-level]\n"
        "        recipients: [village.warning_officer]\n",
        "utf-8",
    )
    result = run(str(copy))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    nobody = [w.split("/config/", 1)[1] for w in warnings]
    assert nobody == [
        f"rules.yaml:{line}:5: rules[{index}].id: rule {rule!r} routes to nobody: no route in "
        "service.notify.routes takes its alerts to a destination with someone to tell"
        for line, index, rule in (
            (18, 1, "pond-freeboard"),
            (29, 2, "pond-rise"),
            (42, 3, "pond-overtop"),
            (67, 4, "culvert-blocked"),
        )
    ], result.output
