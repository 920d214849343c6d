"""`notify.broadcast`: which CAP message (Alert, Update, Cancel) a village gets,
from that village's history in the store. The MQTT publish is replaced by a
list (the channel's own boundary); the store is the real one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.config.models import MqttSettings
from floodwatch.notify.broadcast import BroadcastChannel, BroadcastDestination
from floodwatch.notify.cap import Broadcast, Village
from floodwatch.notify.records import Delivery
from floodwatch.notify.records import Village as To
from floodwatch.store import Store
from floodwatch.testing import compile_yaml, run, series
from tests.conftest import POND

RULES = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    levels: {yellow: {enter: design_flood}, red: {enter: crest - 0.2}}
  - id: high
    kind: level
    stations: [p1]
    levels: {blue: {enter: flood_limit}}
"""
COMPILED = compile_yaml(stations=POND, rules=RULES)
LEVELS = [310.7, 311.0, 311.3, 311.5, 311.75, 311.95, 311.7, 311.4, 311.1, 310.8, 310.5, 310.3]
EVENTS = run(COMPILED, series("p1", "level", LEVELS))


class Listed(BroadcastChannel):
    """Publishes into a list instead of to a broker."""

    published: list[tuple[str, str, str, str]]

    async def _publish(self, village: Village, message: Broadcast) -> None:
        xml = message.xml
        refs = (
            xml.split("<references>")[1].split("</references>")[0] if "<references>" in xml else ""
        )
        self.published.append((village.code, message.msg_type, message.identifier, refs))


@pytest.fixture
def bc(tmp_path: Path) -> Iterator[Listed]:
    store = Store(tmp_path / "fw.db")
    listed = Listed(
        "villages",
        BroadcastDestination.model_validate({"type": "broadcast"}),
        MqttSettings.model_validate({"topics": [{"pattern": "fw/{station}/{kind}"}]}),
        store.people,
        COMPILED,
    )
    listed.published = []
    yield listed
    store.close()


def rows(village: str, *events: AlertEvent) -> list[Delivery]:
    return [
        Delivery(
            f"{e.id}/{village}/{n}",
            "villages",
            msgspec.json.encode(e.to_json()).decode(),
            0,
            To(village),
            created=e.ts.timestamp(),
        )
        for n, e in enumerate(events)
    ]


def _by(rule: str) -> list[AlertEvent]:
    return [e for e in EVENTS if e.rule == rule]


def test_the_storm_gives_one_standing_warning_around_another() -> None:
    assert [(e.rule, e.transition.value) for e in EVENTS] == [
        ("high", "firing"),
        ("lvl", "firing"),
        ("lvl", "escalated"),
        ("lvl", "downgraded"),
        ("lvl", "resolved"),
        ("high", "resolved"),
    ]


def test_alert_then_updates_each_referencing_the_previous_then_cancel(bc: Listed) -> None:
    sent = asyncio.run(bc.deliver(rows("v1", *_by("lvl"))))
    assert [s.outcome.ok for s in sent] == [True] * 4
    assert [t for _, t, _, _ in bc.published] == ["Alert", "Update", "Update", "Cancel"]
    idents = [ident for _, _, ident, _ in bc.published]
    refs = [r for *_, r in bc.published]
    assert refs[0] == ""
    for earlier, ref in zip(idents, refs[1:], strict=False):
        assert earlier in ref


def test_each_village_has_its_own_history(bc: Listed) -> None:
    firing, escalated = _by("lvl")[:2]
    asyncio.run(bc.deliver(rows("v1", firing, escalated) + rows("v2", escalated)))
    assert [(v, t) for v, t, *_ in bc.published] == [
        ("v1", "Alert"),
        ("v1", "Update"),
        ("v2", "Alert"),  # v2 never heard of it: a new Alert, not an Update
    ]


def test_a_cancel_publishes_the_warning_still_standing_in_the_village_again(bc: Listed) -> None:
    asyncio.run(bc.deliver(rows("v1", *EVENTS[:5])))  # high still stands when lvl clears
    (_, _, high_alert, _) = bc.published[0]
    assert [t for _, t, *_ in bc.published[-2:]] == ["Cancel", "Update"]
    assert high_alert in bc.published[-1][3]  # the Update follows high's own message
    asyncio.run(bc.deliver(rows("v1", EVENTS[5])))
    assert [t for _, t, *_ in bc.published[-1:]] == ["Cancel"]  # nothing left standing
    assert len(bc.published) == 7  # 5 rows, the Update after the Cancel, the last Cancel


def test_after_a_cancel_the_most_severe_standing_warning_is_published_again(bc: Listed) -> None:
    blue, red = EVENTS[0], _by("lvl")[1]  # high (blue) and lvl (red) both stand
    other = msgspec.structs.replace(_by("lvl")[-1], id="another-alert")  # a third one clears
    asyncio.run(bc.deliver(rows("v1", blue, red, other)))
    assert [t for _, t, *_ in bc.published] == ["Alert", "Alert", "Cancel", "Update"]
    red_alert = bc.published[1][2]
    assert red_alert in bc.published[-1][3]  # red, not blue, is what the village hears
