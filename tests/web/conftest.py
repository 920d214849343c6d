"""The service and its app on one event loop in a thread of its own, as
`floodwatch run` has them: the store is used from that thread only (its
SQLite connection refuses any other), so the test's own calls on the service
go through `loop.call`, and a `TestClient` sends its requests to that loop
instead of starting one of its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from fastapi.testclient import TestClient


@pytest.fixture
def loop() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as portal:
        yield portal


def client_on(loop: BlockingPortal, app: FastAPI, **options: Any) -> TestClient:
    """A TestClient whose requests run on `loop` (the app has no lifespan to enter)."""
    client = TestClient(app, **options)
    client.portal = loop
    return client
