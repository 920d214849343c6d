"""`backtest.analysis`: a config run over recorded history, its alert episodes
and statistics, and the score against what happened — hits, misses, lead
times and false alarms, with a linked station's alerts counting for the
station — and two configs compared transition by transition.

(Lead times in detail: tests/backtest/test_lead_times.py; the whole command:
tests/backtest/test_backtest.py.)"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from floodwatch.alerts.state import Severity, Transition
from floodwatch.backtest.analysis import (
    FAR,
    Event,
    EventsFile,
    Run,
    by_severity,
    compare,
    load_events,
    related,
    run_backtest,
    score,
    stats,
    transition_key,
)
from floodwatch.config.errors import ConfigError
from floodwatch.notify.sinks import load_config_dir
from floodwatch.replay.run import run_readings
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.sim import simulate
from floodwatch.testing import T0, series
from tests.integration.services import ROOT
from tests.unit.backtest.alerts import episode

H = timedelta(hours=1)
DAY = timedelta(days=1)
BLUE, YELLOW, ORANGE, RED = Severity.BLUE, Severity.YELLOW, Severity.ORANGE, Severity.RED


@pytest.fixture(scope="module")
def compiled() -> CompiledConfig:
    return compile_config(load_config_dir(ROOT / "config"))


def _run(*episodes: list, last: timedelta = 3 * DAY) -> Run:  # type: ignore[type-arg]
    alerts = sorted((a for ep in episodes for a in ep), key=lambda a: a.ts)
    return Run(alerts, 100, {}, T0, T0 + last)


def test_an_events_file_reads_its_window_floor_and_events(tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    path.write_text(
        "warning_window: 12h\nmin_severity: orange\nevents:\n"
        "  - {station: maokeng-pond, at: 2026-07-08T03:00:00Z, what: overtopped}\n"
        "  - {station: xiawu-pond, at: 2026-07-09T00:00:00+08:00}\n",
        encoding="utf-8",
    )
    events = load_events(path)
    assert events.warning_window == timedelta(hours=12) and events.min_severity is ORANGE
    assert [(e.station, e.at, e.what) for e in events.events] == [
        ("maokeng-pond", T0 + DAY + 3 * H, "overtopped"),
        ("xiawu-pond", T0 + DAY + 16 * H, "event"),
    ]
    path.write_text("events: []\n", encoding="utf-8")
    assert load_events(path).warning_window == timedelta(hours=24)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("events:\n  - {station: p, at: yesterday}\n", ":2:"),
        ("events:\n  - {station: p, at: 2026-07-08T03:00:00Z, when: now}\n", ":2:"),
        ("min_severity: purple\nevents: []\n", ":1:"),
        ("events: [\n", ":"),
    ],
)
def test_a_bad_events_file_names_the_file_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "events.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_events(path)
    assert f"{path}{where}" in str(caught.value)


def test_episodes_gather_an_alerts_transitions_with_their_top_and_first_times() -> None:
    steps = [(H, BLUE), (2 * H, YELLOW), (3 * H, RED), (4 * H, YELLOW), (5 * H, None)]
    run = _run(
        episode("maokeng-pond", "pond-level", steps),
        episode("maokeng-pond", "pond-rise", [(2 * H, ORANGE)]),  # still active at the end
    )
    level, rise = run.episodes()
    assert (level.rule, level.start, level.end, level.top) == (
        "pond-level",
        T0 + H,
        T0 + 5 * H,
        RED,
    )
    # yellow first at 2 h: lowered back to it later is not when it was reached
    assert level.reached == {BLUE: T0 + H, YELLOW: T0 + 2 * H, RED: T0 + 3 * H}
    assert level.duration(T0 + DAY) == 4 * H
    assert rise.end is None and rise.duration(T0 + DAY) == DAY - 2 * H
    assert by_severity(run.alerts) == {"blue": 1, "yellow": 2, "red": 1, "orange": 1}


def test_stats_per_station_and_rule_count_episodes_and_time_in_alert() -> None:
    run = _run(
        episode("maokeng-pond", "pond-level", [(H, YELLOW), (2 * H, None)]),
        episode("maokeng-pond", "pond-level", [(5 * H, YELLOW), (6 * H, RED), (8 * H, None)]),
        episode("xiawu-pond", "pond-level", [(DAY, ORANGE)]),  # open: until the run's end
        last=2 * DAY,
    )
    assert stats(run) == [
        {
            "station": "maokeng-pond",
            "rule": "pond-level",
            "episodes": 2,
            "time": 4 * H,
            "yellow": 2,
            "red": 1,
        },
        {"station": "xiawu-pond", "rule": "pond-level", "episodes": 1, "time": DAY, "orange": 1},
    ]
    endless = Run(run.alerts, 0, {}, None, None)
    assert stats(endless)[1]["time"] == FAR - (T0 + DAY)


def test_an_alert_at_a_linked_station_counts_for_the_event_and_is_no_false_alarm(
    compiled: CompiledConfig,
) -> None:
    links = related(compiled)
    assert links["maokeng-pond"] == {"maokeng-pond", "maokeng-culvert", "maokeng-rain"}
    events = EventsFile(events=[Event(station="maokeng-pond", at=T0 + DAY)])
    run = _run(
        episode("maokeng-rain", "rain-accumulation", [(DAY - 4 * H, ORANGE), (DAY - 3 * H, None)])
    )
    [alone] = score(run, events).events  # without links: the rain gauge is another station
    assert not alone.hit and len(score(run, events).false_alarms) == 1
    result = score(run, events, links)
    [scored] = result.events
    assert scored.hit and scored.lead == {ORANGE: 4 * H}
    assert result.false_alarms == [] and (result.hits, result.misses) == (1, 0)


def test_a_false_alarm_is_an_episode_at_or_above_the_floor_with_no_event_within_the_window() -> (
    None
):
    events = EventsFile(
        warning_window=timedelta(hours=6), events=[Event(station="maokeng-pond", at=T0 + DAY)]
    )
    run = _run(
        # ended 5 h before the event: within the window after it, no false alarm
        episode("maokeng-pond", "pond-level", [(DAY - 7 * H, YELLOW), (DAY - 5 * H, None)]),
        # ended 8 h before: a false alarm
        episode("maokeng-pond", "pond-rise", [(DAY - 9 * H, RED), (DAY - 8 * H, None)]),
        # below the floor: neither
        episode("maokeng-pond", "pond-freeboard", [(2 * H, BLUE), (3 * H, None)]),
        # after the event: a false alarm
        episode("maokeng-pond", "pond-overtop", [(DAY + H, ORANGE), (DAY + 2 * H, None)]),
    )
    result = score(run, events)
    assert [ep.rule for ep in result.false_alarms] == ["pond-rise", "pond-overtop"]
    [scored] = result.events
    # the yellow stood since before the 6 h window; the red had ended before it began
    assert scored.hit and scored.lead == {} and scored.standing == {YELLOW}


def test_events_are_scored_in_time_order() -> None:
    late = Event(station="maokeng-pond", at=T0 + 2 * DAY, what="late")
    early = Event(station="maokeng-pond", at=T0 + DAY, what="early")
    result = score(_run(), EventsFile(events=[late, early]))
    assert [s.event.what for s in result.events] == ["early", "late"]
    assert (result.hits, result.misses) == (0, 2)


def test_a_comparison_names_the_transitions_each_config_alone_raised() -> None:
    kept = episode("maokeng-pond", "pond-level", [(H, YELLOW), (3 * H, None)])
    base = _run(kept, episode("maokeng-pond", "pond-rise", [(2 * H, RED), (4 * H, None)]))
    other = _run(kept, episode("maokeng-pond", "pond-rise", [(2 * H, ORANGE), (4 * H, None)]))
    c = compare(base, other, None, None)
    assert [transition_key(e)[2:4] for e in c.added] == [
        ("orange", "firing"),
        ("orange", "resolved"),
    ]
    assert [transition_key(e)[2:4] for e in c.removed] == [("red", "firing"), ("red", "resolved")]
    assert (c.lead, c.false_alarms, c.hits, c.events) == ([], (0, 0), (0, 0), 0)
    assert transition_key(kept[0]) == ("pond-level", "maokeng-pond", "yellow", "firing", T0 + H)


def test_a_run_over_a_history_file_is_the_engine_over_its_readings(
    compiled: CompiledConfig, tmp_path: Path
) -> None:
    storm = simulate("blocked", start=T0)
    path = tmp_path / "h.jsonl"
    lines = [json.dumps(r.to_json()) for r in storm.readings]
    lines.insert(10, "{not json")
    lines.insert(
        20,
        json.dumps(
            {"station": "nowhere", "kind": "level", "value": 1.0, "ts": "2026-07-07T01:00:00Z"}
        ),
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    progress: list[tuple[int, int]] = []
    run = run_backtest(compiled, path, lambda done, total: progress.append((done, total)))
    expected = run_readings(compiled, storm.readings).alerts
    assert [(a.id, a.ts, a.severity, a.transition) for a in run.alerts] == [
        (a.id, a.ts, a.severity, a.transition) for a in expected
    ]
    assert any(a.transition is Transition.ESCALATED and a.severity is RED for a in run.alerts)
    assert run.readings == len(storm.readings) + 1  # the unknown station is read, then refused
    assert run.rejected == {"decode_error": 1, "unknown_station": 1}
    assert run.tally.total == len(storm.readings) + 2 and run.tally.refused == 2
    assert run.first == T0 and run.last is not None and run.last >= storm.readings[-1].ts
    assert progress and progress[-1][0] == progress[-1][1]


def test_the_last_readings_are_evaluated_at_the_end_of_the_history(
    compiled: CompiledConfig, tmp_path: Path
) -> None:
    # the engine holds the newest readings for late ones; the end of the file releases them
    readings = series("maokeng-pond", "level", [310.3, 310.4, 310.5, 310.6])
    path = tmp_path / "h.jsonl"
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in readings), encoding="utf-8")
    run = run_backtest(compiled, path)
    level = [(a.severity, a.transition, a.ts) for a in run.alerts if a.rule == "pond-level"]
    assert level == [(BLUE, Transition.FIRING, readings[-1].ts)]
