"""`floodwatch schema` says what the loader says. Every config the suite loads is
also held to the schema by `tests/conftest.py`; these name the example and the
widening coercions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from floodwatch.cli.app import main
from floodwatch.config import ConfigError
from floodwatch.config.yamlpos import parse_yaml
from floodwatch.notify.sinks import load_config_dir
from tests.conftest import schema_problems


@pytest.mark.parametrize("name", sorted(p.name for p in Path("config").glob("*.yaml")))
def test_every_file_of_the_example_is_valid_under_the_schema(name: str) -> None:
    file = Path("config") / name
    located, issues = parse_yaml(file, file.read_text("utf-8"))
    assert located is not None and not issues
    assert schema_problems(located.data) == []


def test_the_schema_printed_is_the_one_the_tests_use() -> None:
    printed = json.loads(CliRunner().invoke(main, ["schema"]).output)
    roster = printed["$defs"]["Roster"]["properties"]["patrol"]
    assert {"type": "string"}.items() <= roster["anyOf"][0].items()
    assert roster["anyOf"][1]["type"] == "array"


ROSTER = "people:\n  - {id: wang, name: 王, phone: '13800000000'}\nrosters:\n  - "


@pytest.mark.parametrize(
    ("text", "loads"),
    [
        (ROSTER + "{town: '330182104', flood_lead: wang}\n", True),
        (ROSTER + "{town: '330182104', flood_lead: [wang]}\n", True),
        (ROSTER + "{town: '330182104', flood_lead: 7}\n", False),
        (ROSTER + "{town: '330182104', flood_lead: wang, deputy: wang}\n", False),
        ("engine: {allowed_lateness: 2m}\n", True),
        ("engine: {allowed_lateness: 120}\n", False),
    ],
)
def test_the_schema_accepts_what_the_loader_accepts(tmp_path: Path, text: str, loads: bool) -> None:
    (tmp_path / "c.yaml").write_text(text, "utf-8")
    try:
        load_config_dir(tmp_path)
        loaded = True
    except ConfigError:
        loaded = False
    located, _ = parse_yaml(tmp_path / "c.yaml", text)
    assert located is not None
    assert loaded == loads
    assert (schema_problems(located.data) == []) == loads
