"""`alerts.event`: the alert event sinks receive and `replay` writes. Its id
names the episode (same rule, station and start → same id); its JSON has UTC
times with a `Z` and reads back as the same event; an `info` notice carries no
value or threshold. Every alert event the engine emits reads back from its
stored JSON as the same event: a restart restores active alerts and incidents
from those rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from floodwatch.alerts.event import AlertEvent, episode_id, info_notice
from floodwatch.alerts.state import EvacuationStage, Severity, Status, Transition
from floodwatch.notify.sinks import load_config_dir
from floodwatch.replay.run import run_readings
from floodwatch.rules.compile import compile_config
from floodwatch.sim import simulate
from tests.integration.services import ROOT

T = 1_783_382_400_000  # 2026-07-07T00:00:00Z
AT = datetime(2026, 7, 7, tzinfo=UTC)


def _event(**changes: object) -> AlertEvent:
    fields: dict[str, object] = {
        "id": episode_id("pond-level", "maokeng-pond", T),
        "rule": "pond-level",
        "kind": "level",
        "station": "maokeng-pond",
        "station_name": "毛坑山塘",
        "severity": Severity.ORANGE,
        "previous_severity": Severity.YELLOW,
        "transition": Transition.ESCALATED,
        "ts": AT + timedelta(minutes=40, milliseconds=250),
        "episode_start": AT,
        "value": 311.62,
        "threshold": 311.6,
        "unit": "m",
        "message_zh": "【升级为橙色预警】毛坑村毛坑山塘水位311.62米",
        "message_en": "[Raised to ORANGE warning] Maokeng pond: water level 311.62 m",
    }
    fields.update(changes)
    return AlertEvent(**fields)  # type: ignore[arg-type]


def test_an_episode_has_one_id_whatever_the_run() -> None:
    first = episode_id("pond-level", "maokeng-pond", T)
    assert first == episode_id("pond-level", "maokeng-pond", T)
    assert first.startswith("maokeng-pond:pond-level:") and len(first.rsplit(":", 1)[1]) == 12
    # another start, rule or station is another episode
    others = {
        episode_id("pond-level", "maokeng-pond", T + 1),
        episode_id("pond-rise", "maokeng-pond", T),
        episode_id("pond-level", "xiawu-pond", T),
    }
    assert first not in others and len(others) == 3


def test_ids_do_not_collide_when_a_name_holds_the_separator_of_another() -> None:
    # "a:b" + "c" and "a" + "b:c" are printed alike but hashed apart
    assert episode_id("b", "a:c", T).split(":")[-1] != episode_id("b:c", "a", T).split(":")[-1]


def test_its_json_has_utc_times_with_a_z_as_precise_as_the_time() -> None:
    event = _event(ts=datetime(2026, 7, 7, 8, 40, 0, 250_000, tzinfo=timezone(timedelta(hours=8))))
    data = event.to_json()
    assert data["ts"] == "2026-07-07T00:40:00.250Z"
    assert data["episode_start"] == "2026-07-07T00:00:00Z"
    assert data["severity"] == "orange" and data["transition"] == "escalated"
    assert data["status"] == "actual" and data["incident"] is None and data["silenced"] is False
    assert AlertEvent.from_json(msgspec.json.decode(msgspec.json.encode(data))) == event


def test_optional_parts_survive_the_json() -> None:
    event = _event(
        forecast={"minutes_to_crest": 42.0, "overtopping": False},
        stage=EvacuationStage.PREPARE,
        status=Status.EXERCISE,
        details={"eased": ["水位已回落", "level down"]},
        incident="maokeng-pond:2026-07-07T00:00:00Z",
        silenced=True,
        previous_severity=None,
    )
    back = AlertEvent.from_json(msgspec.json.decode(msgspec.json.encode(event.to_json())))
    assert back == event
    assert back.stage is EvacuationStage.PREPARE and back.status is Status.EXERCISE


def test_a_row_with_a_bad_severity_or_a_missing_field_is_refused_by_name() -> None:
    data = _event().to_json()
    with pytest.raises(msgspec.ValidationError, match=r"\$\.severity"):
        AlertEvent.from_json({**data, "severity": "purple"})
    del data["station"]
    with pytest.raises(msgspec.ValidationError, match="missing required field `station`"):
        AlertEvent.from_json(data)


def test_an_info_notice_has_no_value_and_its_all_clear_was_info() -> None:
    kwargs: dict[str, object] = {
        "alert_id": "maokeng-rain:sensor-health/clock:abc",
        "rule": "sensor-health/clock",
        "kind": "health",
        "station": "maokeng-rain",
        "station_name": "毛坑雨量站",
        "start_ms": T,
        "zh": "时钟偏差",
        "en": "clock is off",
        "details": {"skew_s": 600},
    }
    fired = info_notice(**kwargs, now_ms=T, transition=Transition.FIRING)  # type: ignore[arg-type]
    assert fired.severity is Severity.INFO and fired.previous_severity is None
    assert fired.value is None and fired.threshold is None and fired.unit == ""
    assert fired.ts == fired.episode_start == AT
    assert (fired.message_zh, fired.message_en, fired.details) == (
        "时钟偏差",
        "clock is off",
        {"skew_s": 600},
    )
    done = info_notice(**kwargs, now_ms=T + 90_000, transition=Transition.RESOLVED)  # type: ignore[arg-type]
    assert done.previous_severity is Severity.INFO
    assert done.ts == AT + timedelta(seconds=90) and done.episode_start == AT
    assert done.id == fired.id


def test_every_event_of_the_example_storms_survives_its_stored_json() -> None:
    compiled = compile_config(load_config_dir(ROOT / "config"))
    events = []
    for scenario in ("blocked", "flash"):
        storm = simulate(scenario, quiet_ponds={"xiawu-pond": 203.8})
        events += run_readings(compiled, storm.readings).alerts
    assert any(e.forecast and e.forecast.get("overtopping") for e in events)
    for event in events:
        stored = msgspec.json.decode(msgspec.json.encode(event.to_json()))
        assert AlertEvent.from_json(stored) == event
