from __future__ import annotations

import pytest

from floodwatch.testing import compile_yaml

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
