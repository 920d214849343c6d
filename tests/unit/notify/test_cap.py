"""Village broadcast messages: CAP 1.2 valid against the OASIS schema (xmllint),
Alert → Update → Cancel with references, the sentence to speak."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from msgspec.structs import replace

from floodwatch.alerts.event import AlertEvent
from floodwatch.notify.cap import CAP_NS, Broadcast, Previous, Village, build, sentence
from floodwatch.notify.sinks import load_config_dir
from floodwatch.readings import parse_ts
from floodwatch.replay.run import run_readings
from floodwatch.rules.compile import compile_config
from floodwatch.sim import simulate
from tests.capcheck import validate

CONFIG = compile_config(load_config_dir("config"))
STORM = run_readings(CONFIG, simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings)
MAOKENG = Village("330182104201", "毛坑村")
NS = {"cap": CAP_NS}
SENT_AFTER = timedelta(seconds=1.4)


def message_for(
    event: dict[str, Any],
    previous: Previous | None = None,
    expiry: timedelta = timedelta(hours=6),
    crest: float | None = None,
) -> Broadcast:
    return build(
        AlertEvent.from_json(event),
        MAOKENG,
        sender="floodwatch@330182",
        zone=CONFIG.zone,
        expiry=expiry,
        previous=previous,
        crest=crest,
        sent_at=parse_ts(event["ts"]) + SENT_AFTER,  # the outbox row made a moment later
    )


def sequence(alert_rule: str) -> list[tuple[dict[str, Any], Broadcast]]:
    """The CAP messages of one alert of the storm, each referencing the previous."""
    events = [e.to_json() for e in STORM.alerts if e.rule == alert_rule]
    assert events, alert_rule
    out = []
    previous = None
    for event in events:
        message = message_for(event, previous, crest=312.0)
        out.append((event, message))
        previous = Previous(message.identifier, message.sent)
    return out


def test_every_message_of_the_overtopping_alert_is_valid_cap_in_order(tmp_path: Path) -> None:
    messages = sequence("pond-overtop")
    types = [m.msg_type for _, m in messages]
    assert types[0] == "Alert"
    assert types[-1] == "Cancel"
    assert set(types[1:-1]) == {"Update"}
    for (_, message), (_, earlier) in zip(messages[1:], messages, strict=False):
        root = ElementTree.fromstring(message.xml.split("\n", 1)[1])
        refs = root.findtext("cap:references", namespaces=NS)
        assert refs == f"floodwatch@330182,{earlier.identifier},{earlier.sent}"
    for _, message in messages:
        validate(message.xml, tmp_path)


def test_times_carry_the_local_offset_without_z_or_fractions() -> None:
    for _, message in sequence("pond-overtop"):
        for tag in ("sent", "onset", "expires"):
            values = re.findall(f"<{tag}>([^<]*)</{tag}>", message.xml)
            assert values
            for value in values:
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", value), value


@pytest.mark.parametrize(
    ("severity", "cap"),
    [("red", "Extreme"), ("orange", "Severe"), ("yellow", "Moderate"), ("blue", "Minor")],
)
def test_severity_maps_to_cap(severity: str, cap: str) -> None:
    event = next(e.to_json() for e in STORM.alerts if e.severity.value == severity)
    message = message_for(event, expiry=timedelta(hours=1))
    assert f"<severity>{cap}</severity>" in message.xml
    assert message.json["cap_severity"] == cap


def test_red_overtopping_says_how_far_below_the_crest_and_to_evacuate() -> None:
    red = next(
        (e, m)
        for e, m in sequence("pond-overtop")
        if e["severity"] == "red" and e["transition"] != "resolved"
    )
    event, message = red
    assert "<responseType>Evacuate</responseType>" in message.xml
    text = message.json["text"]
    level = event["details"]["level"]
    minutes = round(event["forecast"]["minutes_to_crest"])
    assert text == (
        f"毛坑村请注意：毛坑山塘水位距坝顶{312.0 - level:.1f}米，"
        f"预计{minutes}分钟后漫顶，请立即转移。"
    )
    assert "<geocode><valueName>GB/T 2260</valueName><value>330182104201</value>" in message.xml


def test_within_five_centimetres_of_the_crest_is_never_said_as_zero_metres() -> None:
    # it said "水位距坝顶0.0米" from 311.95 m up to the crest (312.0 m)
    red = next(e for e in STORM.alerts if e.rule == "pond-overtop" and e.severity.value == "red")
    near = replace(
        red, details={**red.details, "level": 311.96}, forecast={"minutes_to_crest": 3.0}
    )
    assert sentence(near, MAOKENG, 312.0, "Evacuate") == (
        "毛坑村请注意：毛坑山塘水位距坝顶不足0.1米，预计3分钟后漫顶，请立即转移。"
    )
    farther = replace(near, details={**red.details, "level": 311.94})
    assert "水位距坝顶0.1米，" in sentence(farther, MAOKENG, 312.0, "Evacuate")


@pytest.mark.parametrize("minutes", [0.3, 0.0])
def test_under_a_minute_to_the_crest_says_so(minutes: float) -> None:
    # it said nothing of the time under a minute ("…距坝顶不足0.1米，请立即转移。")
    red = next(e for e in STORM.alerts if e.rule == "pond-overtop" and e.severity.value == "red")
    soon = replace(
        red, details={**red.details, "level": 311.98}, forecast={"minutes_to_crest": minutes}
    )
    assert sentence(soon, MAOKENG, 312.0, "Evacuate") == (
        "毛坑村请注意：毛坑山塘水位距坝顶不足0.1米，预计1分钟内漫坝，请立即转移。"
    )


def test_a_reading_at_the_crest_is_said_as_reaching_it_and_over_it_as_overtopping() -> None:
    # it said "已经漫坝，洪水正在漫过坝顶" at 312.00 m, over the crest by nothing
    red = next(e for e in STORM.alerts if e.rule == "pond-overtop" and e.severity.value == "red")
    over = {"overtopping": True, "minutes_to_crest": 0.0}
    at = replace(red, details={**red.details, "level": 312.004}, forecast=over)
    assert sentence(at, MAOKENG, 312.0, "Evacuate") == (
        "毛坑村请注意：毛坑山塘水位已到达坝顶，请立即转移。"
    )
    past = replace(at, details={**red.details, "level": 312.12})
    assert sentence(past, MAOKENG, 312.0, "Evacuate") == (
        "毛坑村请注意：毛坑山塘已经漫坝，洪水正在漫过坝顶，请立即转移。"
    )


def test_the_all_clear_is_a_cancel_with_allclear() -> None:
    _, message = sequence("pond-overtop")[-1]
    assert message.msg_type == "Cancel"
    assert "<responseType>AllClear</responseType>" in message.xml
    assert message.json["text"] == "毛坑村请注意：毛坑山塘预警已解除。请听从村干部安排。"


def test_rain_stages_map_to_prepare_and_evacuate(tmp_path: Path) -> None:
    staged = [e.to_json() for e in STORM.alerts if e.stage is not None]
    assert {e["stage"] for e in staged} == {"prepare", "evacuate"}
    for event in staged:
        message = message_for(event)
        expected = "Evacuate" if event["stage"] == "evacuate" else "Prepare"
        assert f"<responseType>{expected}</responseType>" in message.xml
        validate(message.xml, tmp_path)


def test_a_drill_is_an_exercise_and_says_so(tmp_path: Path) -> None:
    event = {**STORM.alerts[3].to_json(), "status": "exercise"}
    event["message_zh"] = "【演练】" + str(event["message_zh"])
    message = message_for(event)
    assert "<status>Exercise</status>" in message.xml
    assert message.json["text"].startswith("【演练】毛坑村请注意")
    validate(message.xml, tmp_path)


def test_the_same_transition_made_at_the_same_time_gives_the_same_message() -> None:
    event = STORM.alerts[5].to_json()
    made = datetime(2026, 7, 7, 4, 0, 1, 300_000, tzinfo=UTC)
    args = {"sender": "s@x", "zone": CONFIG.zone, "expiry": timedelta(hours=1), "previous": None}
    alert = AlertEvent.from_json(event)
    first = build(alert, MAOKENG, sent_at=made, **args)  # type: ignore[arg-type]
    assert first.xml == build(alert, MAOKENG, sent_at=made, **args).xml  # type: ignore[arg-type]
    later = build(alert, MAOKENG, sent_at=made + timedelta(minutes=5), **args)  # type: ignore[arg-type]
    assert later.identifier != first.identifier  # another origination is another message


def test_sent_is_the_wall_clock_and_the_event_time_is_the_onset(tmp_path: Path) -> None:
    """A transition broadcast three hours after its reading (a backlog caught
    up after an outage): `sent` and `expires` run on the wall clock, so the
    warning does not arrive already expired; `onset` keeps the event time."""
    event = next(e.to_json() for e in STORM.alerts if e.severity.value == "red")
    made = parse_ts(event["ts"]) + timedelta(hours=3)
    message = build(
        AlertEvent.from_json(event), MAOKENG,
        sender="s@x", zone=CONFIG.zone, expiry=timedelta(hours=1),
        previous=None, sent_at=made,
    )  # fmt: skip
    root = ElementTree.fromstring(message.xml.split("\n", 1)[1])

    def when(path: str) -> datetime:
        return datetime.fromisoformat(root.findtext(path, namespaces=NS) or "")

    assert when("cap:sent") == made.replace(microsecond=0)
    assert when("cap:info/cap:onset") == parse_ts(event["ts"])
    assert when("cap:info/cap:expires") == made.replace(microsecond=0) + timedelta(hours=1)
    assert message.json["sent"] == root.findtext("cap:sent", namespaces=NS)
    assert message.json["onset"] == root.findtext("cap:info/cap:onset", namespaces=NS)
    validate(message.xml, tmp_path)
