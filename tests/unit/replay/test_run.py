"""`replay.run`: recorded JSON lines through a fresh engine as fast as it goes,
in event time. Every line is counted; a bad line is set aside with its reason
and the line number it came from, and the run goes on; naive times are read in
the given zones; alerts come out with their incident; the summary says it all."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from floodwatch.alerts.event import AlertEvent
from floodwatch.readings import Reading, Rejected, RejectReason, format_ts
from floodwatch.replay import run as replay_run
from floodwatch.replay.localtime import LocalTime
from floodwatch.replay.run import ReplaySummary, replay_lines, run_readings
from floodwatch.testing import T0, compile_yaml, series
from tests.conftest import POND

LEVEL = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    hysteresis: 0.05
    levels:
      yellow: {enter: design_flood}
      red: {enter: crest - 0.2}
"""
STORM = [311.2, 311.45, 311.65, 311.85, 311.6, 311.4, 311.2]


def _lines(readings: list[Reading]) -> list[bytes]:
    return [json.dumps(r.to_json()).encode() for r in readings]


def _replay(
    lines: list[bytes], **kw: object
) -> tuple[ReplaySummary, list[AlertEvent], list[Rejected]]:
    alerts: list[AlertEvent] = []
    rejects: list[Rejected] = []
    compiled = compile_yaml(stations=POND, rules=LEVEL)
    summary = replay_lines(compiled, lines, alerts.append, rejects.append, **kw)  # type: ignore[arg-type]
    return summary, alerts, rejects


def test_lines_in_alerts_out_with_their_incident_and_the_same_as_readings_in() -> None:
    readings = series("p1", "level", STORM)
    summary, alerts, rejects = _replay(_lines(readings))
    assert [(a.severity.value, a.transition.value) for a in alerts] == [
        ("yellow", "firing"),
        ("red", "escalated"),
        ("yellow", "downgraded"),
        ("yellow", "resolved"),
    ]
    assert all(a.incident for a in alerts) and not rejects
    direct = run_readings(compile_yaml(stations=POND, rules=LEVEL), readings).alerts
    assert [(a.id, a.ts, a.severity) for a in direct] == [(a.id, a.ts, a.severity) for a in alerts]
    assert (summary.lines, summary.readings) == (7, 7)
    assert summary.episodes == {alerts[0].id}
    assert summary.alerts == {
        "yellow firing": 1,
        "red escalated": 1,
        "yellow downgraded": 1,
        "yellow resolved": 1,
    }
    assert sum(summary.incidents.values()) >= 1
    assert summary.first_ts == format_ts(T0)
    assert summary.last_ts is not None and summary.last_ts >= format_ts(T0 + timedelta(minutes=30))


def test_a_bad_line_is_set_aside_with_its_reason_and_line_number_and_the_run_goes_on() -> None:
    good = _lines(series("p1", "level", STORM))
    lines = [
        good[0],
        b"{not json",
        b"   ",
        good[1],
        b'{"station": "nowhere", "kind": "level", "value": 1, "ts": "2026-07-07T00:10:00Z"}',
        *good[2:],
    ]
    summary, alerts, rejects = _replay(lines, source="storm.jsonl")
    assert len(alerts) == 4  # the storm still raises its alerts
    assert summary.lines == 9  # the blank line is not a line of input
    assert summary.readings == 7
    reasons = [r.reason for r in rejects]
    assert reasons == [RejectReason.DECODE, RejectReason.UNKNOWN_STATION]
    assert rejects[0].source == "storm.jsonl:2"
    assert summary.rejected == {"decode_error": 1, "unknown_station": 1}
    assert "readings: 7 of 9 lines (2 rejected)" in summary.text()
    assert "rejected by reason: decode_error 1, unknown_station 1" in summary.text()


def test_naive_times_are_read_in_the_zone_given_and_refused_without_one() -> None:
    naive = b'{"station": "p1", "kind": "level", "value": 311.2, "ts": "2026-07-07T08:00:00"}'
    summary, _, rejects = _replay([naive])
    assert [r.reason for r in rejects] == [RejectReason.NAIVE_TIME]
    assert summary.first_ts is None and summary.readings == 0
    local = LocalTime(compile_yaml(stations=POND, rules=LEVEL), "Asia/Shanghai")
    summary, _, rejects = _replay([naive], local=local)
    assert not rejects
    assert summary.first_ts == "2026-07-07T00:00:00Z"  # 08:00 in Shanghai


def test_nothing_in_gives_an_empty_summary() -> None:
    summary, alerts, rejects = _replay([])
    assert (summary.lines, summary.readings, alerts, rejects) == (0, 0, [], [])
    assert summary.text() == "readings: 0 of 0 lines (0 rejected)\nalert events: 0 in 0 episodes"


def test_a_long_input_goes_through_in_batches_with_the_same_alerts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = STORM * 5
    lines = _lines(series("p1", "level", values))
    _, whole, _ = _replay(lines)
    monkeypatch.setattr(replay_run, "BATCH", 3)
    summary, batched, _ = _replay(lines)
    assert summary.readings == len(values)
    assert [(a.id, a.ts, a.transition) for a in batched] == [
        (a.id, a.ts, a.transition) for a in whole
    ]
    assert len(summary.episodes) == 5


def test_the_summary_text_names_incidents_and_the_event_time_span() -> None:
    summary, _, _ = _replay(_lines(series("p1", "level", STORM)))
    text = summary.text().splitlines()
    assert text[0] == "readings: 7 of 7 lines (0 rejected)"
    assert text[1] == (
        "alert events: 4 in 1 episodes "
        "(red escalated 1, yellow downgraded 1, yellow firing 1, yellow resolved 1)"
    )
    assert text[2].startswith("incidents: 1 (") and text[2].endswith(" changes told to people)")
    assert text[3].startswith("event time: 2026-07-07T00:00:00Z … ")
