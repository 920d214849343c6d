"""`floodwatch.web.incidents` on its own: a rainfall alert's line on the card
(the window that fired, its total now and its peak since the alert was raised:
why it is red after the burst); a station's condition now (`live`: level,
freeboard, overtopping, rise per hour, the outlet's flow, the gauge's totals,
forecasts); `urgency`; and, on a service that ran the storm, an incident's card
(`view`: the worst condition now, rule names, inhibited alerts, calls,
notices per destination)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import Reading
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.service.run import Service
from floodwatch.web.board import Recent
from floodwatch.web.incidents import live, rain_since_raise, urgency, view, worst_now
from floodwatch.web.live import Live
from tests.web.conftest import STORM, feed

T0 = datetime(2026, 7, 7, 4, 0, tzinfo=UTC)
MIN_MS = 60_000


def test_the_fired_window_shows_its_total_now_and_its_peak_since_the_raise() -> None:
    recent = Recent()
    # 5-minute rain: a 60 mm burst between 05:00 and 05:55, then dry until 09:00
    recent.add([
        Reading(station="gauge", kind="rain",
                ts=datetime.fromtimestamp(T0.timestamp() + m * 60, UTC),
                value=5.0 if 60 <= m < 120 else 0.0)
        for m in range(0, 300, 5)
    ])  # fmt: skip
    alert = {"station": "gauge", "kind": "rainfall", "details": {"window": "1h"},
             "episode_start": "2026-07-07T05:30:00Z"}  # fmt: skip
    line = rain_since_raise(alert, recent)
    assert line is not None
    assert line["window"] == "1h"
    assert line["now"] == 0.0  # 08:55: the last hour was dry
    assert line["peak"] == 60.0  # 05:00-05:55, the burst, at 05:55
    assert line["peak_at"] == int(T0.timestamp() * 1000) + 115 * MIN_MS


def test_a_window_of_a_day_is_read_as_24_hours_and_an_unknown_one_is_no_line() -> None:
    recent = Recent()
    recent.add([Reading(station="gauge", kind="rain", ts=T0, value=3.0)])
    alert = {"station": "gauge", "details": {"window": "1d"},
             "episode_start": "2026-07-07T04:00:00Z"}  # fmt: skip
    assert rain_since_raise(alert, recent) == {
        "window": "24h", "now": 3.0, "peak": 3.0, "peak_at": int(T0.timestamp() * 1000)
    }  # fmt: skip
    assert rain_since_raise({**alert, "details": {"window": "2h"}}, recent) is None


# -- the station's condition now, urgency, the worst condition, the card ------

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def compiled() -> CompiledConfig:
    return compile_config(load_config_dir("config"))


def at(minutes: float) -> datetime:
    return datetime.fromtimestamp(T0.timestamp() + minutes * 60, UTC)


def test_the_condition_now_comes_from_the_latest_readings_and_forecasts(
    compiled: CompiledConfig,
) -> None:
    recent = Recent()
    recent.add([Reading("maokeng-pond", "level", 311.0, at(0)),
                Reading("maokeng-pond", "level", 311.3, at(30)),
                Reading("maokeng-pond", "level", 311.5, at(60)),
                Reading("maokeng-culvert", "flow", 0.2, at(55)),
                Reading("maokeng-rain", "rain", 10.0, at(-120)),
                Reading("maokeng-rain", "rain", 4.0, at(0)),
                Reading("maokeng-rain", "rain", 6.0, at(50))])  # fmt: skip
    forecasts = {("maokeng-pond", "pond-crest-eta"): (5, {"minutes_to_crest": 42.0}),
                 ("xiawu-pond", "pond-crest-eta"): (5, {"minutes_to_crest": 1.0})}  # fmt: skip
    now = live("maokeng-pond", compiled, recent, forecasts)
    t60 = int(at(60).timestamp() * 1000)
    assert now["level"] == {"value": 311.5, "at": t60}
    assert now["crest"] == 312.0 and now["freeboard"] == 0.5 and now["overtopping"] is False
    assert now["rise_per_hour"] == 0.5  # 311.0 -> 311.5 over the last hour
    assert now["outlet"] == {"station": "maokeng-culvert", "flow": 0.2,
                             "at": int(at(55).timestamp() * 1000)}  # fmt: skip
    totals = now["rain_totals"]
    assert totals["station"] == "maokeng-rain"
    assert (totals["1h"], totals["3h"], totals["24h"]) == (10.0, 20.0, 20.0)
    assert now["forecasts"] == {"pond-crest-eta": {"at": 5, "minutes_to_crest": 42.0}}
    recent.add([Reading("maokeng-pond", "level", 312.05, at(65))])
    over = live("maokeng-pond", compiled, recent)
    assert over["overtopping"] is True and over["freeboard"] == -0.05 and "forecasts" not in over


def test_a_station_with_one_reading_or_none_or_unknown_says_only_what_it_has(
    compiled: CompiledConfig,
) -> None:
    recent = Recent()
    assert live("nowhere", compiled, recent) == {}
    assert live("maokeng-pond", compiled, recent) == {"crest": 312.0}
    recent.add([Reading("maokeng-pond", "level", 311.0, at(0))])
    once = live("maokeng-pond", compiled, recent)
    assert "rise_per_hour" not in once and once["freeboard"] == 1.0
    recent.add([Reading("maokeng-rain", "rain", 2.5, at(0))])
    gauge = live("maokeng-rain", compiled, recent)  # a gauge is its own
    assert gauge["rain"]["value"] == 2.5 and gauge["rain_totals"]["1h"] == 2.5


def incident(severity: str, started: str, **more: Any) -> dict[str, Any]:
    return {"severity": severity, "started": started, **more}


def test_the_most_urgent_incident_comes_first() -> None:
    found = [
        incident("orange", "2026-07-07T01:00:00Z", id="old-orange"),
        incident("red", "2026-07-07T03:00:00Z", id="red-late"),
        incident("red", "2026-07-07T02:00:00Z", id="red-early"),
        incident("red", "2026-07-07T04:00:00Z", id="red-over", live={"overtopping": True}),
        incident("red", "2026-07-07T05:00:00Z", id="red-soon",
                 live={"forecasts": {"eta": {"minutes_to_crest": 20.0}}}),
        incident("red", "2026-07-07T05:30:00Z", id="red-alert-eta",
                 alerts=[{"forecast": {"minutes_to_crest": 25.0}}, {"forecast": None}]),
        incident("info", "2026-07-07T00:00:00Z", id="health"),
    ]  # fmt: skip
    order = [i["id"] for i in sorted(found, key=urgency)]
    assert order == ["red-over", "red-soon", "red-alert-eta", "red-early", "red-late",
                     "old-orange", "health"]  # fmt: skip


def test_after_the_storm_a_card_names_its_worst_condition_now_and_its_notices(
    setup: tuple[Service, Live, TestClient],
) -> None:
    service, live_parts, client = setup
    feed(client, service, STORM)
    store, loop = service.store, client.portal
    assert store is not None and loop is not None
    found = loop.call(lambda: store.incidents.list(active=True, limit=10))
    assert found
    card = loop.call(view, found[0], store, service.compiled, live_parts.recent)
    lead = card["worst_now"]
    assert lead is not None and lead["zh"] and lead["en"]
    assert lead["alert"] in {a["id"] for a in card["alerts"] if not a["inhibited"]}
    assert all(isinstance(a["inhibited"], bool) for a in card["alerts"])
    names = {r.id: r.name for r in service.compiled.config.rules}
    for alert in card["alerts"]:
        assert alert["rule_name"] == names[alert["rule"]]
    assert card["acknowledged"] is None and card["unanswered"]
    assert card["calls"] and card["calls"][0]["called_at"]
    kinds = {d["destination"]: d["type"] for d in card["deliveries"]}
    assert {"sms", "broadcast"} <= set(kinds.values())
    assert all(sum(d["states"].values()) > 0 for d in card["deliveries"])
    assert card["live"]["level"]["value"] == live_parts.recent.latest(card["station"], "level")[1]  # type: ignore[index]


def test_with_every_alert_held_back_there_is_no_worst_condition(compiled: CompiledConfig) -> None:
    """An incident whose alerts are all sensor health (not a flood): no lead."""
    health = {
        "id": "maokeng-pond:sensor-health:1",
        "rule": "sensor-health",
        "kind": "sensor_health",
        "station": "maokeng-pond",
        "station_name": "毛坑山塘",
        "severity": "info",
        "previous_severity": None,
        "transition": "firing",
        "ts": "2026-07-07T04:00:00Z",
        "episode_start": "2026-07-07T04:00:00Z",
        "value": 0.0,
        "threshold": None,
        "unit": "",
        "message_zh": "设备离线",
        "message_en": "sensor stale",
        "details": {"check": "stale"},
    }
    found = {"alerts": [health]}
    assert worst_now(found, compiled) is None
    assert found["alerts"][0]["inhibited"] is False
