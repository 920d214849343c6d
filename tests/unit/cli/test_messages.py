"""`floodwatch.cli.messages` on its own: the catalogue to stdout or a file, the
config directory as the catalogue names it, and `--check` failing on a text
that breaks the rules (a station name with Latin letters in Chinese texts)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from floodwatch.cli.messages import _shown, messages

EXAMPLE = Path(__file__).resolve().parents[3] / "config"


def run(*args: str) -> Result:
    return CliRunner().invoke(messages, list(args))


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    target.mkdir()
    for file in EXAMPLE.glob("*.yaml"):
        shutil.copy(file, target / file.name)
    return target


def test_the_catalogue_goes_to_stdout_naming_the_directory_as_given(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(copy.parent)
    result = run("--config", str(copy))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("# Messages\n")
    assert "`floodwatch messages --config config`" in result.stdout  # relative to the cwd
    assert "## Incident messages" in result.stdout and "坝顶" in result.stdout
    assert result.stderr == ""


def test_a_directory_outside_the_current_one_is_named_as_given(
    copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert _shown(copy) == str(copy)
    assert _shown(Path("../config")) == "../config"
    monkeypatch.chdir(copy)
    assert _shown(copy) == "."


def test_with_output_the_file_is_written_and_its_size_told_on_stderr(
    copy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "messages.md"
    result = run("--config", str(copy), "--output", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    text = out.read_text("utf-8")
    assert text.startswith("# Messages\n")
    shown, _, count = result.stderr.strip().rpartition(": ")
    assert shown == str(out) and count.endswith(" texts") and int(count.split()[0]) > 100
    assert text.count("\n### ") >= 5


def test_check_passes_the_example(copy: Path, tmp_path: Path) -> None:
    result = run("--config", str(copy), "--output", str(tmp_path / "m.md"), "--check")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[-1].startswith("all ")
    assert result.stderr.splitlines()[-1].endswith(" texts keep the rules")


def test_check_fails_on_latin_letters_in_a_chinese_text_and_still_writes(
    copy: Path, tmp_path: Path
) -> None:
    stations = copy / "stations.yaml"
    text = stations.read_text("utf-8")
    assert "name: 毛坑山塘\n" in text
    stations.write_text(text.replace("name: 毛坑山塘\n", "name: 毛坑ABC山塘\n", 1), "utf-8")
    out = tmp_path / "m.md"
    result = run("--config", str(copy), "--output", str(out), "--check")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[-1].endswith(" texts") and " problems in " in lines[-1]
    problems = int(lines[-1].split()[0])
    assert problems == len([line for line in lines if "Latin letters" in line]) > 10
    assert "毛坑ABC山塘" in out.read_text("utf-8")  # the catalogue is there to read


def test_a_missing_config_exits_2_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "m.md"
    result = run("--config", str(tmp_path / "nowhere"), "--output", str(out))
    assert result.exit_code == 2
    assert "not a directory" in result.stderr
    assert not out.exists()


def test_a_broken_config_lists_its_problem_with_file_and_line(copy: Path) -> None:
    rules = copy / "rules.yaml"
    rules.write_text(rules.read_text("utf-8").replace("kind: level", "kind: levl", 1), "utf-8")
    result = run("--config", str(copy))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "rules.yaml:" in result.stderr and "levl" in result.stderr


def test_an_output_that_cannot_be_written_is_an_error_not_a_traceback(
    copy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "no-such-dir" / "messages.md"
    result = run("--config", str(copy), "--output", str(out))
    assert result.exit_code == 1
    assert result.stderr == f"messages: cannot write {out}: No such file or directory\n"
    assert result.exception is None or isinstance(result.exception, SystemExit)
