"""`floodwatch.cli.check` on its own: which path it checks without one, how a
single file is checked (on its own, or in its directory's context), and what
a hydrologist reads when the config is missing, unreadable or wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from floodwatch.cli.check import check, default_target

EXAMPLE = Path(__file__).resolve().parents[3] / "config"
ALONE = """\
stations:
  - {id: p1, name: 山塘, type: pond, reports: [level]}
rules:
  - id: high
    name: 高水位
    kind: level
    stations: [p2]
    levels:
      red: {enter: 310.0}
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(check, list(args))


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    target.mkdir()
    for file in EXAMPLE.glob("*.yaml"):
        shutil.copy(file, target / file.name)
    return target


# -- default_target -------------------------------------------------------------------


def test_the_default_is_a_config_directory_under_the_current_one(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "stray.yaml").write_text("stations: []\n")
    assert default_target(tmp_path) == Path("config")  # config/ wins over YAML beside it


def test_the_default_is_the_current_directory_when_it_holds_yaml(tmp_path: Path) -> None:
    (tmp_path / "stations.yml").write_text("stations: []\n")
    assert default_target(tmp_path) == Path(".")


def test_a_file_named_config_or_a_directory_named_like_yaml_is_no_config(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("not a directory\n")
    (tmp_path / "old.yaml").mkdir()
    (tmp_path / "notes.txt").write_text("x\n")
    assert default_target(tmp_path) is None


# -- a directory ------------------------------------------------------------------------


def test_the_example_directory_is_ok_and_named_in_full(copy: Path) -> None:
    result = run(str(copy))
    assert result.exit_code == 0, result.output
    assert result.output == f"checked {copy}: OK — 4 stations, 7 rules, 14 rule bindings\n"


def test_a_missing_directory_exits_2_naming_it(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"checked {tmp_path / 'nowhere'}: 1 problem in the configuration:",
        f"  {tmp_path / 'nowhere'}: no such file or directory",
    ]


def test_a_directory_without_yaml_exits_2(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("x\n")
    result = run(str(tmp_path))
    assert result.exit_code == 2
    assert "no *.yaml files in this directory" in result.output


def test_an_unknown_station_in_a_directory_is_named_with_file_line_and_key(copy: Path) -> None:
    rules = copy / "rules.yaml"
    text = rules.read_text("utf-8")
    assert "stations: [maokeng-pond]" in text
    rules.write_text(text.replace("stations: [maokeng-pond]", "stations: [maokeng]", 1), "utf-8")
    result = run(str(copy))
    assert result.exit_code == 2
    head, problem = result.output.splitlines()[:2]
    assert head == f"checked {copy}: 1 problem in the configuration:"
    where, _, message = problem.strip().partition(": ")
    file, line, column = where.rsplit(":", 2)
    assert file.endswith("rules.yaml") and int(line) > 1 and int(column) >= 1
    assert "unknown station 'maokeng'" in message and "rules[" in message


def test_broken_yaml_is_reported_at_its_line(copy: Path) -> None:
    (copy / "extra.yaml").write_text("stations:\n  - {id: x, name: [\n", "utf-8")
    result = run(str(copy))
    assert result.exit_code == 2
    assert "extra.yaml:3:1: not valid YAML" in result.output


def test_a_byte_order_mark_is_a_warning_and_the_check_passes(copy: Path) -> None:
    people = copy / "people.yaml"
    people.write_bytes(b"\xef\xbb\xbf" + people.read_bytes())
    result = run(str(copy))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("warning: ") and "byte-order mark" in lines[0]
    assert lines[-1].endswith("14 rule bindings, 1 warning")  # one: no plural s


# -- a single file ----------------------------------------------------------------------


def test_a_file_that_is_not_yaml_is_refused_before_it_is_read(tmp_path: Path) -> None:
    (tmp_path / "rules.txt").write_text("rules: [\n")
    result = run(str(tmp_path / "rules.txt"))
    assert result.exit_code == 2
    assert "rules.txt: not a *.yaml or *.yml file" in result.output
    assert "not valid YAML" not in result.output


def test_a_yml_file_in_a_directory_is_checked_with_its_siblings(copy: Path) -> None:
    (copy / "people.yaml").rename(copy / "people.yml")
    result = run(str(copy / "people.yml"))
    assert result.exit_code == 0, result.output
    assert f"(with the 3 other files of {copy}): OK — 4 stations" in result.output


def test_a_file_alone_is_compiled_on_its_own_and_its_references_checked(tmp_path: Path) -> None:
    (tmp_path / "all.yaml").write_text(ALONE, "utf-8")
    result = run(str(tmp_path / "all.yaml"))
    assert result.exit_code == 2
    assert f"checked {tmp_path / 'all.yaml'} (on its own): 1 problem" in result.output
    assert "unknown station 'p2'" in result.output
    (tmp_path / "all.yaml").write_text(ALONE.replace("[p2]", "[p1]"), "utf-8")
    result = run(str(tmp_path / "all.yaml"))
    assert result.exit_code == 0, result.output
    assert "(on its own): OK — 1 stations, 1 rules, 1 rule bindings" in result.output


def test_a_file_whose_only_problem_is_its_own_has_no_trailer(copy: Path) -> None:
    rules = copy / "rules.yaml"
    text = rules.read_text("utf-8")
    rules.write_text(text.replace("stations: [maokeng-pond]", "stations: [maokeng]", 1), "utf-8")
    result = run(str(rules))
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == (
        f"checked {rules} (with the 3 other files of {copy}): 1 problem in the configuration:"
    )
    assert len(lines) == 2 and "unknown station 'maokeng'" in lines[1]


def test_warnings_of_other_files_are_not_shown_for_one_file(copy: Path) -> None:
    people = copy / "people.yaml"
    people.write_bytes(b"\xef\xbb\xbf" + people.read_bytes())
    result = run(str(copy / "rules.yaml"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("checked ") and result.output.endswith(" rule bindings\n")
    result = run(str(people))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("warning: ") and "byte-order mark" in result.output


def test_without_a_path_and_no_config_it_says_what_to_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run()
    assert result.exit_code == 2
    assert result.output == (
        f"no config here: {tmp_path} has no config/ directory and no *.yaml files; "
        "give a directory or a file: floodwatch check DIR|FILE\n"
    )


def test_a_path_that_does_not_exist_is_named_as_missing(copy: Path) -> None:
    """A typo in a file name: not 'not a directory'."""
    result = run(str(copy / "rules.yml"))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"checked {copy / 'rules.yml'}: 1 problem in the configuration:",
        f"  {copy / 'rules.yml'}: no such file or directory",
    ]
