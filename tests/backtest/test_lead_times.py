"""Lead times are honest: an alert standing since an earlier storm is not a lead
of the warning window's length, a miss has no lead time made up, sensor
notices are not warnings, and an unchanged comparison says so."""

from __future__ import annotations

from datetime import timedelta

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.backtest.analysis import (
    STANDING,
    Event,
    EventsFile,
    Run,
    compare,
    score,
)
from floodwatch.backtest.words import Words
from floodwatch.cli.app import load
from floodwatch.testing import T0

OWN_TEST_OF = ("floodwatch.backtest.analysis",)

EVENT_AT = T0 + timedelta(days=3)


def alert(
    station: str,
    rule: str,
    severity: Severity,
    transition: Transition,
    at: timedelta,
    start: timedelta,
) -> AlertEvent:
    return AlertEvent(
        id=f"{station}:{rule}:{start}",
        rule=rule,
        kind="level",
        station=station,
        station_name=station,
        severity=severity,
        previous_severity=None,
        transition=transition,
        ts=T0 + at,
        episode_start=T0 + start,
        value=None,
        threshold=None,
        unit="m",
        message_zh="",
        message_en="",
    )


def run_of(alerts: list[AlertEvent]) -> Run:
    return Run(alerts, 100, {}, T0, T0 + timedelta(days=4))


EVENTS = EventsFile(
    warning_window=timedelta(hours=24),
    min_severity=Severity.YELLOW,
    events=[
        Event(station="maokeng-pond", at=EVENT_AT, what="overtopped"),
        Event(station="xiawu-pond", at=EVENT_AT, what="seepage"),
    ],
)
FIRING, ESCALATED = Transition.FIRING, Transition.ESCALATED
STORMS = [
    # red since the storm of day 0, never cleared: standing at the event of day 3
    alert("maokeng-pond", "pond-level", Severity.RED, FIRING, timedelta(hours=2), timedelta(0)),
    # a fresh orange from another rule 3 h before the event
    alert(
        "maokeng-pond",
        "pond-rise",
        Severity.ORANGE,
        FIRING,
        timedelta(days=3, hours=-3),
        timedelta(days=3, hours=-3),
    ),
    # at the missed pond: only a sensor notice, standing for days, and a blue
    alert("xiawu-pond", "sensor-health/stale", Severity.INFO, FIRING, timedelta(0), timedelta(0)),
    alert(
        "xiawu-pond",
        "pond-level",
        Severity.BLUE,
        FIRING,
        timedelta(days=3, hours=-1),
        timedelta(days=3, hours=-1),
    ),
]


def test_an_alert_standing_since_an_earlier_storm_has_no_lead_time_of_the_window() -> None:
    hit, _ = score(run_of(STORMS), EVENTS).events
    assert hit.hit
    assert hit.lead == {Severity.ORANGE: timedelta(hours=3)}
    assert hit.standing == {Severity.RED}
    assert hit.value(Severity.RED) == STANDING
    # today's code: {red: 24h, orange: 3h}; the 24 h was the window, not a lead


def test_a_miss_has_no_lead_time_made_up_and_sensor_notices_are_not_warnings() -> None:
    _, miss = score(run_of(STORMS), EVENTS).events
    assert not miss.hit
    assert miss.lead == {Severity.BLUE: timedelta(hours=1)}  # really raised, below yellow
    assert Severity.INFO not in miss.lead and not miss.standing  # was "info 24h00m"


def test_the_report_says_already_active_and_marks_the_miss() -> None:
    from floodwatch.backtest.report import leads_text

    compiled = load("config")
    hit, miss = score(run_of(STORMS), EVENTS).events
    en, zh = Words("en", compiled), Words("zh", compiled)
    assert leads_text(en, hit, EVENTS) == (
        "red already active before the event (≥ 24h00m), orange 3h00m"
    )
    assert leads_text(zh, hit, EVENTS) == "红色 事件前已在预警中（≥ 24h00m）, 橙色 3h00m"
    assert leads_text(en, miss, EVENTS) == "— (blue 1h00m; below yellow)"
    nothing = score(run_of([]), EVENTS).events[0]
    assert leads_text(en, nothing, EVENTS) == "—"


def test_a_comparison_that_changes_no_lead_time_says_so() -> None:
    run = run_of(STORMS)
    result = score(run, EVENTS)
    same = compare(run, run, result, result)
    assert same.lead == [] and same.events == 2
    later = [
        alert(
            "maokeng-pond",
            "pond-rise",
            Severity.ORANGE,
            FIRING,
            timedelta(days=3, hours=-1),
            timedelta(days=3, hours=-1),
        )
        if a.rule == "pond-rise"
        else a
        for a in STORMS
    ]
    other = run_of(later)
    changed = compare(run, other, result, score(other, EVENTS))
    assert [(ev.what, sev, a, b) for ev, sev, a, b in changed.lead] == [
        ("overtopped", Severity.ORANGE, timedelta(hours=3), timedelta(hours=1))
    ]
