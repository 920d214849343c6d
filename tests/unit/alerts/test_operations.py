"""`alerts.operations`: the `info` alerts about floodwatch itself (a config that
does not load, a destination failing). One open alert per (rule, subject); a
problem that persists is said once; its all-clear names the same episode."""

from __future__ import annotations

from floodwatch.alerts.event import AlertEvent, episode_id
from floodwatch.alerts.operations import STATION, OperationsAlerts
from floodwatch.alerts.state import Severity, Transition
from floodwatch.readings import ms_to_dt

T = 1_783_382_400_000  # 2026-07-07T00:00:00Z
CONFIG = "floodwatch/config"
DELIVERY = "floodwatch/delivery"


def _raise(ops: OperationsAlerts, subject: str = "config", at: int = T) -> AlertEvent | None:
    return ops.raise_(
        CONFIG,
        subject,
        at,
        "配置文件有误，仍按原配置运行",
        "config reload failed",
        {"issues": ["rules.yaml:3:5: bad"]},
    )


def test_a_problem_fires_once_as_an_info_alert_on_the_pseudo_station() -> None:
    ops = OperationsAlerts()
    event = _raise(ops)
    assert event is not None
    assert event.transition is Transition.FIRING
    assert event.severity is Severity.INFO and event.previous_severity is None
    assert (event.station, event.station_name, event.kind) == (STATION, STATION, "operations")
    assert event.ts == event.episode_start == ms_to_dt(T)
    assert event.details == {"subject": "config", "issues": ["rules.yaml:3:5: bad"]}
    assert event.message_zh == "配置文件有误，仍按原配置运行"
    assert event.value is None and event.threshold is None
    # the same problem again, later (every failed reload): nothing new to say
    assert _raise(ops, at=T + 60_000) is None
    assert ops.open[(CONFIG, "config")] is event


def test_the_all_clear_names_the_episode_it_ends() -> None:
    ops = OperationsAlerts()
    fired = _raise(ops)
    assert fired is not None
    done = ops.resolve(CONFIG, "config", T + 300_000, "配置已更新，错误已消除", "fixed")
    assert done is not None
    assert done.id == fired.id == episode_id(CONFIG, f"{STATION}/config", T)
    assert done.transition is Transition.RESOLVED
    assert done.previous_severity is Severity.INFO
    assert done.episode_start == ms_to_dt(T) and done.ts == ms_to_dt(T + 300_000)
    assert done.details == {"subject": "config"}  # the problem's details stay with the firing
    assert ops.open == {}


def test_resolving_what_is_not_open_says_nothing() -> None:
    ops = OperationsAlerts()
    # every good reload resolves the config alert: most of the time none is open
    assert ops.resolve(CONFIG, "config", T, "好", "ok") is None
    _raise(ops)
    assert ops.resolve(CONFIG, "other", T, "好", "ok") is None  # another subject
    assert ops.resolve(DELIVERY, "config", T, "好", "ok") is None  # another rule
    assert (CONFIG, "config") in ops.open


def test_subjects_are_apart_two_failing_destinations_are_two_alerts() -> None:
    ops = OperationsAlerts()
    sms = ops.raise_(DELIVERY, "sms-county", T, "短信失败", "sms failing")
    hook = ops.raise_(DELIVERY, "webhook", T, "推送失败", "webhook failing")
    assert sms is not None and hook is not None and sms.id != hook.id
    assert ops.resolve(DELIVERY, "sms-county", T + 1, "恢复", "works") is not None
    assert list(ops.open) == [(DELIVERY, "webhook")]


def test_a_problem_that_comes_back_is_a_new_episode_with_a_new_id() -> None:
    ops = OperationsAlerts()
    first = _raise(ops, at=T)
    ops.resolve(CONFIG, "config", T + 1_000, "好", "ok")
    again = _raise(ops, at=T + 2_000)
    assert first is not None and again is not None
    assert again.id != first.id and again.transition is Transition.FIRING


def test_the_same_problem_at_the_same_time_gets_the_same_id_after_a_restart() -> None:
    # ids are idempotency keys in the outbox: a replayed raise must not make a second SMS
    a = _raise(OperationsAlerts(), at=T)
    b = _raise(OperationsAlerts(), at=T)
    assert a is not None and b is not None and a.id == b.id


def test_details_given_as_none_or_empty_still_carry_the_subject() -> None:
    ops = OperationsAlerts()
    event = ops.raise_(DELIVERY, "kafka", T, "中", "en")
    assert event is not None and event.details == {"subject": "kafka"}
