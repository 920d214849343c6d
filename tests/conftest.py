from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from floodwatch.testing import compile_yaml
from tests.integration.services import Gateway, Mosquitto, Tansu, VictoriaMetrics

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
        server = make(tmp_path)
        server.start()
        yield server
        server.stop()

    return fixture


mosquitto = pytest.fixture(_service(lambda d: Mosquitto(d / "mosquitto")), name="mosquitto")
kafka = pytest.fixture(_service(lambda d: Tansu(d / "tansu")), name="kafka")
gateway = pytest.fixture(_service(lambda d: Gateway()), name="gateway")
victoria = pytest.fixture(
    _service(lambda d: VictoriaMetrics(d / "victoria-metrics")), name="victoria"
)
