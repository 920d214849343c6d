"""`config.templates`: an SMS template that cannot be read or parsed is named
when the config is loaded (at its key path, with the file and the line of the
syntax error), a relative path is read next to the service file, and the
sandbox's parser is the judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from floodwatch.config.models import Config
from floodwatch.config.templates import problems, template_problem
from floodwatch.notify.sinks import CONFIG_TYPES

GOOD = "【{{ station_name }}】{{ text }}\n{% if advice %}{{ advice }}{% endif %}\n"


def config(**destinations: dict[str, Any]) -> Config:
    return CONFIG_TYPES.config_model.model_validate(
        {"service": {"notify": {"destinations": destinations}} if destinations else {}}
    )


def sms(template: str | None) -> dict[str, Any]:
    return {"type": "sms", "record": True, "template": template}


def test_a_readable_template_that_parses_is_fine(tmp_path: Path) -> None:
    (tmp_path / "sms.j2").write_text(GOOD, encoding="utf-8")
    assert template_problem("sms.j2", tmp_path) is None
    assert template_problem(str(tmp_path / "sms.j2"), Path("/nonexistent")) is None


def test_the_example_template_parses() -> None:
    example = Path(__file__).resolve().parents[3] / "config"
    assert template_problem("templates/sms.zh.j2", example) is None


def test_a_missing_template_is_named_with_the_path_tried(tmp_path: Path) -> None:
    assert template_problem("templates/sms.j2", tmp_path) == (
        f"cannot read the template {tmp_path / 'templates' / 'sms.j2'}: No such file or directory"
    )


def test_a_directory_is_no_template(tmp_path: Path) -> None:
    problem = template_problem(".", tmp_path)
    assert problem is not None and problem.startswith("cannot read the template")


def test_a_syntax_error_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "sms.j2").write_text("【{{ station_name }}】\n{% if advice %}{{ advice }}\n")
    problem = template_problem("sms.j2", tmp_path)
    assert problem is not None
    assert problem.startswith(f"template {tmp_path / 'sms.j2'}:2: Unexpected end of template.")


def test_a_template_that_is_no_utf8_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "sms.j2").write_bytes("【{{ text }}】".encode("gbk"))
    try:
        problem = template_problem("sms.j2", tmp_path)
    except UnicodeDecodeError:
        raise AssertionError("a GBK template crashed the loader") from None
    assert problem is not None and "cannot read the template" in problem
    assert "not UTF-8" in problem


def test_problems_names_each_sms_template_at_its_key(tmp_path: Path) -> None:
    (tmp_path / "good.j2").write_text(GOOD)
    (tmp_path / "bad.j2").write_text("{{ text ")
    found = list(
        problems(
            config(
                ok=sms("good.j2"),
                bad=sms("bad.j2"),
                gone=sms("gone.j2"),
                plain=sms(None),
                hook={"type": "webhook", "url": "http://127.0.0.1:1/x"},
            ),
            tmp_path,
        )
    )
    assert [loc for loc, _ in found] == [
        ("service", "notify", "destinations", "bad", "template"),
        ("service", "notify", "destinations", "gone", "template"),
    ]
    assert found[0][1].startswith(f"template {tmp_path / 'bad.j2'}:1: ")
    assert found[1][1].startswith("cannot read the template")


def test_without_notify_there_is_nothing_to_read(tmp_path: Path) -> None:
    assert list(problems(config(), tmp_path)) == []
