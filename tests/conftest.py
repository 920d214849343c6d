from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from jsonschema import Draft202012Validator

from floodwatch.config import loader
from floodwatch.config.config_types import ConfigTypes
from floodwatch.config.errors import ConfigIssue
from floodwatch.config.models import ConfigFile
from floodwatch.config.schema import config_schema
from floodwatch.config.yamlpos import Located
from floodwatch.notify.sinks import CONFIG_TYPES
from floodwatch.testing import compile_yaml
from tests.integration.services import (
    Gateway,
    Mosquitto,
    Tansu,
    VictoriaMetrics,
    reap_left_running,
    running,
)

POND = """
stations:
  - id: p1
    name: 测试山塘
    name_en: Test pond
    type: pond
    interval: 5m
    levels: {crest: 312.0, design_flood: 311.4, check_flood: 311.6, flood_limit: 310.6}
    limits: {level: {min: 300.0, max: 315.0, max_step: 0.3}}
    links: {outlet: c1}
  - id: c1
    name: 测试涵管
    type: culvert
    interval: 5m
  - id: r1
    name: 测试雨量站
    type: rain_gauge
    interval: 5m
"""


@pytest.fixture
def pond_yaml() -> str:
    return POND


def build(rules: str) -> object:
    return compile_yaml(stations=POND, rules=rules)


# -- real services on free loopback ports (tests/integration/services.py) -------------
# One factory: a fixture that starts the server in the test's directory and
# stops it afterwards. Used by tests/integration and tests/faults.

S = TypeVar("S", Mosquitto, Tansu, Gateway, VictoriaMetrics)


def _service(make: Callable[[Path], S]) -> Callable[[Path], Iterator[S]]:
    def fixture(tmp_path: Path) -> Iterator[S]:
        with running(make(tmp_path)) as server:
            yield server

    return fixture


@pytest.fixture(autouse=True)
def _no_floodwatch_left_running() -> Iterator[None]:
    """A test that fails before stopping its `floodwatch run` leaves nothing behind."""
    yield
    reap_left_running()


mosquitto = pytest.fixture(_service(lambda d: Mosquitto(d / "mosquitto")), name="mosquitto")
kafka = pytest.fixture(_service(lambda d: Tansu(d / "tansu")), name="kafka")
gateway = pytest.fixture(_service(lambda d: Gateway()), name="gateway")
# a second SMS gateway / webhook receiver, for tests where one of two hangs
gateway2 = pytest.fixture(_service(lambda d: Gateway()), name="gateway2")
victoria = pytest.fixture(
    _service(lambda d: VictoriaMetrics(d / "victoria-metrics")), name="victoria"
)


# -- every config a test loads is valid under `floodwatch schema` ---------------------
# The loader and the schema come from the same models; this holds them to it on
# every good config file the suite loads (the example and each test's own).


@functools.cache
def _validator(types: ConfigTypes) -> Draft202012Validator:
    schema = config_schema(types)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_problems(data: object, types: ConfigTypes = CONFIG_TYPES) -> list[str]:
    """Where `data` (a config file as the loader parsed it) fails `floodwatch
    schema` (the schema with the sinks `types`: the registry's by default)."""
    return [
        f"{'.'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in _validator(types).iter_errors(data)
    ]


@pytest.fixture(autouse=True)
def _configs_match_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    load_file = loader._load_file

    def checked(
        file: Path, issues: list[ConfigIssue], notes: list[ConfigIssue], types: ConfigTypes
    ) -> tuple[Located, ConfigFile] | None:
        loaded = load_file(file, issues, notes, types)
        if loaded is not None:
            problems = schema_problems(loaded[0].data, types)
            assert not problems, f"{file} loads but fails `floodwatch schema`: {problems}"
        return loaded

    monkeypatch.setattr(loader, "_load_file", checked)
