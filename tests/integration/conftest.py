from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.services import Gateway, Mosquitto, Tansu, VictoriaMetrics


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[Tansu]:
    broker = Tansu(tmp_path / "tansu")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    server = VictoriaMetrics(tmp_path / "victoria-metrics")
    server.start()
    yield server
    server.stop()
