"""`notify.console`: the destination model (`type: console`, only the shared
fields) and its channel, which logs every row and never fails."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from floodwatch.ingest.backoff import Backoff
from floodwatch.notify.channel import Wiring
from floodwatch.notify.console import SINK, ConsoleDestination, channel
from floodwatch.notify.health import Health
from floodwatch.notify.records import Delivery
from floodwatch.notify.sinks import notify_settings
from floodwatch.store import Store


def test_the_model_has_only_the_fields_every_destination_has() -> None:
    dest = ConsoleDestination.model_validate({"type": "console", "status": "exercise"})
    assert dest.status.value == "exercise" and not dest.record
    assert list(ConsoleDestination.model_fields) == [
        "type",
        "status",
        "record",
        "timeout",
        "failing_after",
    ]
    with pytest.raises(ValidationError, match="url"):
        ConsoleDestination.model_validate({"type": "console", "url": "http://h/"})
    with pytest.raises(ValidationError, match="'console'"):
        ConsoleDestination.model_validate({"type": "webhook"})
    assert list(ConsoleDestination.model_validate({"type": "console", "record": True}).problems())
    assert SINK.type == "console" and SINK.model is ConsoleDestination


def test_every_row_is_logged_with_its_destination_and_is_delivered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = notify_settings({"destinations": {"log": {"type": "console"}}})
    store = Store(tmp_path / "fw.db")
    events = [{"id": f"e{n}", "rule": "lvl", "station": "p1"} for n in range(3)]

    async def go() -> list[tuple[bool, str]]:
        async with httpx.AsyncClient() as client:
            ch = channel(
                Wiring(
                    "log",
                    settings.destinations["log"],
                    settings,
                    store,
                    client,
                    Health("log", 300.0),
                    lambda: Backoff(1.0, 30.0, random.Random(1)),
                )
            )
            assert ch.connection is None
            await ch.start()
            rows = [Delivery(f"k{n}", "log", json.dumps(e), 0) for n, e in enumerate(events)]
            sent = await ch.deliver(rows)
            await ch.aclose()
            return [(s.outcome.ok, s.rows[0].key) for s in sent]

    with caplog.at_level(logging.INFO, logger="floodwatch.notify.console"):
        try:
            assert asyncio.run(go()) == [(True, "k0"), (True, "k1"), (True, "k2")]
        finally:
            store.close()
    logged = [r.getMessage() for r in caplog.records if r.name == "floodwatch.notify.console"]
    assert logged == [f"notify log: {json.dumps(e)}" for e in events]
