"""`rules.base`: the alert tracker every rule instance drives — one event per
change of severity, never one per reading; one id per episode; the eased
clause a lowered or lifted warning carries for the incident tracker."""

from __future__ import annotations

from datetime import UTC, datetime

from floodwatch.alerts.event import episode_id
from floodwatch.alerts.messages import EASED, MEASURES, Place
from floodwatch.alerts.state import EvacuationStage, Severity, Status, Transition
from floodwatch.rules.base import AlertTracker, Figure, RuleContext

T0 = int(datetime(2026, 7, 7, 6, 0, tzinfo=UTC).timestamp() * 1000)
MIN = 60_000
B, Y, OR, R = Severity.BLUE, Severity.YELLOW, Severity.ORANGE, Severity.RED
PLACE = Place("毛坑山塘", "Maokeng pond", "毛坑村", "Maokeng")


def ctx(*, exercise: bool = False, kind: str = "level") -> RuleContext:
    return RuleContext(
        rule="pond-level",
        kind=kind,
        station="maokeng-pond",
        place=PLACE,
        measure=MEASURES["level"],
        unit="m",
        levels=(Y, R),
        exercise=exercise,
        advice={R: ("立即转移下游群众。", "Evacuate downstream now.")},
    )


def test_one_event_per_change_and_none_while_the_severity_stays() -> None:
    t = AlertTracker(ctx())
    first = t.change(T0, Y, value=311.41, threshold=311.4)
    assert first is not None and first.transition is Transition.FIRING
    assert t.change(T0 + MIN, Y, value=311.45, threshold=311.4) is None
    up = t.change(T0 + 2 * MIN, R, value=311.81, threshold=311.8)
    assert up is not None and (up.transition, up.previous_severity) == (Transition.ESCALATED, Y)
    down = t.change(T0 + 3 * MIN, Y, value=311.7, threshold=311.75)
    assert down is not None and down.transition is Transition.DOWNGRADED
    end = t.change(T0 + 4 * MIN, None, value=311.3, threshold=311.35)
    assert end is not None and end.transition is Transition.RESOLVED
    assert end.severity is Y  # a resolved event shows the severity it leaves
    assert t.change(T0 + 5 * MIN, None, value=311.0, threshold=311.35) is None
    assert t.severity is None and t.episode is None


def test_an_episode_has_one_id_from_its_start_and_the_next_one_another() -> None:
    t = AlertTracker(ctx())
    events = [
        t.change(T0, Y, value=1.0, threshold=1.0),
        t.change(T0 + MIN, R, value=2.0, threshold=2.0),
        t.change(T0 + 2 * MIN, None, value=0.0, threshold=1.0),
    ]
    ids = {e.id for e in events if e is not None}
    assert ids == {episode_id("pond-level", "maokeng-pond", T0)}
    assert all(e is not None and e.episode_start.timestamp() * 1000 == T0 for e in events)
    again = t.change(T0 + 10 * MIN, Y, value=1.0, threshold=1.0)
    assert again is not None and again.id == episode_id("pond-level", "maokeng-pond", T0 + 10 * MIN)
    assert again.id not in ids
    # the same input gives the same id in another tracker (replays, restarts)
    other = AlertTracker(ctx()).change(T0, Y, value=1.0, threshold=1.0)
    assert other is not None and other.id in ids


def test_the_event_carries_its_identity_values_rounded_and_texts() -> None:
    t = AlertTracker(ctx())
    e = t.change(
        T0,
        R,
        value=311.812345678,
        threshold=311.8000001,
        forecast={"minutes_to_crest": 25.0},
        stage=EvacuationStage.EVACUATE,
        details={"level": 311.81},
    )
    assert e is not None
    assert (e.rule, e.kind, e.station, e.station_name, e.unit) == (
        "pond-level",
        "level",
        "maokeng-pond",
        "毛坑山塘",
        "m",
    )
    assert (e.value, e.threshold) == (311.8123, 311.8)
    assert e.forecast == {"minutes_to_crest": 25.0} and e.stage is EvacuationStage.EVACUATE
    assert e.status is Status.ACTUAL and e.details == {"level": 311.81}
    assert e.ts.timestamp() * 1000 == T0
    assert "毛坑村毛坑山塘" in e.message_zh and "立即转移下游群众" in e.message_zh
    assert "Maokeng pond" in e.message_en


def test_a_drill_is_an_exercise_and_says_so() -> None:
    e = AlertTracker(ctx(exercise=True)).change(T0, Y, value=311.41, threshold=311.4)
    assert e is not None and e.status is Status.EXERCISE
    assert e.message_zh.startswith("【演练】") and "EXERCISE" in e.message_en


def test_a_lowered_or_lifted_warning_carries_its_eased_clause_a_raised_one_not() -> None:
    t = AlertTracker(ctx())
    up = t.change(T0, R, value=311.9, threshold=311.8, details={"level": 311.9})
    assert up is not None and EASED not in up.details
    down = t.change(T0 + MIN, Y, value=311.5, threshold=311.75, details={"level": 311.5})
    assert down is not None and down.details["level"] == 311.5
    eased = down.details[EASED]
    assert set(eased) == {"zh", "en"} and eased["zh"] and eased["en"]
    assert eased["zh"] != down.message_zh  # its own wording, for the incident tracker
    end = t.change(T0 + 2 * MIN, None, value=311.0, threshold=311.35)
    assert end is not None and EASED in end.details


def test_a_sensor_notice_has_no_eased_clause() -> None:
    t = AlertTracker(ctx(kind="sensor_health"))
    t.change(T0, Severity.INFO, value=None, threshold=None)
    end = t.change(T0 + MIN, None, value=None, threshold=None)
    assert end is not None and end.transition is Transition.RESOLVED and EASED not in end.details


def test_escalate_raises_an_event_within_the_same_severity_only_when_asked() -> None:
    t = AlertTracker(ctx())
    t.change(T0, R, value=25.0, threshold=30.0)
    assert t.change(T0 + MIN, R, value=0.0, threshold=0.0) is None
    worse = t.change(T0 + MIN, R, value=0.0, threshold=0.0, escalate=True)
    assert worse is not None
    assert (worse.transition, worse.severity, worse.previous_severity) == (
        Transition.ESCALATED,
        R,
        R,
    )
    # escalate never invents an event out of "no alert" staying "no alert"
    assert AlertTracker(ctx()).change(T0, None, value=None, threshold=None, escalate=True) is None


def test_a_rule_that_speaks_for_itself_is_asked_with_what_changed() -> None:
    asked: list[tuple[Severity, Transition, Severity | None, bool]] = []

    def text(
        shown: Severity, step: Transition, before: Severity | None, /, *, eased: bool = False
    ) -> tuple[str, str]:
        asked.append((shown, step, before, eased))
        return f"自述{shown.value}{'（回落）' if eased else ''}", f"own {step.value}"

    t = AlertTracker(ctx())
    e = t.change(T0, OR, value=1.0, threshold=1.0, text=text)
    assert e is not None and (e.message_zh, e.message_en) == ("自述orange", "own firing")
    e = t.change(T0 + MIN, B, value=1.0, threshold=1.0, text=text)
    assert e is not None and e.details[EASED] == {"zh": "自述blue（回落）", "en": "own downgraded"}
    assert asked == [
        (OR, Transition.FIRING, None, False),
        (B, Transition.DOWNGRADED, OR, False),
        (B, Transition.DOWNGRADED, OR, True),
    ]


def test_a_figure_is_a_plain_value_object() -> None:
    f = Figure(T0, 311.5)
    assert (f.forecast, f.details) == (None, {})
    assert f == Figure(T0, 311.5) and f != Figure(T0 + 1, 311.5)
