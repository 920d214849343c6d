"""A destination's health (notify/health.py): failing since the first failure,
reported once after `failing_after` — by the next failure or by its timer
when nothing is tried meanwhile — or at once when refused for good; resolved
when it works again; an alert open at the last stop carried over."""

from __future__ import annotations

import asyncio

import pytest

from floodwatch.notify.health import Health

Told = list[tuple[str, float | None, str]]


def test_a_destination_is_reported_after_failing_after_and_resolved_when_it_works() -> None:
    now = [100.0]
    told: list[tuple[str, float | None, str]] = []
    health = Health("village", 60.0, lambda *args: told.append(args), clock=lambda: now[0])
    health.failed("connection lost")
    now[0] = 130.0
    health.failed("cannot connect")
    assert told == [] and health.since == 100.0
    now[0] = 160.0
    health.failed("cannot connect")
    health.failed("cannot connect")
    assert told == [("village", 100.0, "cannot connect")]  # once
    assert health.works() is True
    assert told[-1] == ("village", None, "")
    assert health.works() is False and health.since is None


@pytest.mark.asyncio
async def test_a_failure_is_reported_on_time_even_when_nothing_is_tried_meanwhile() -> None:
    told: list[tuple[str, float | None, str]] = []
    health = Health("bus", 0.05, lambda *args: told.append(args))
    health.failed("connection lost")
    await asyncio.sleep(0.15)
    assert [(name, error) for name, _, error in told] == [("bus", "connection lost")]


@pytest.mark.asyncio
async def test_a_timer_of_a_failure_that_ended_reports_nothing() -> None:
    told: list[tuple[str, float | None, str]] = []
    health = Health("bus", 0.05, lambda *args: told.append(args))
    health.failed("connection lost")
    health.works()
    await asyncio.sleep(0.15)
    assert told == []


def test_a_refusal_reports_at_once_and_only_once_until_it_works() -> None:
    now = [10.0]
    told: Told = []
    health = Health("sms", 300.0, lambda *args: told.append(args), clock=lambda: now[0])
    health.report("HTTP 400: bad number")  # refused for good, nothing failing before
    assert told == [("sms", 10.0, "HTTP 400: bad number")] and health.reported
    now[0] = 20.0
    health.report("HTTP 400: again")
    health.failed("HTTP 400: again")
    assert len(told) == 1 and health.since == 10.0 and health.error == "HTTP 400: again"
    assert health.works() is True and told[-1] == ("sms", None, "")
    health.report("HTTP 403")
    assert told[-1] == ("sms", 20.0, "HTTP 403")  # a new trouble is a new alert


def test_with_failing_after_zero_the_first_failure_reports() -> None:
    told: Told = []
    health = Health("bus", 0.0, lambda *args: told.append(args), clock=lambda: 5.0)
    health.failed("cannot connect")
    assert told == [("bus", 5.0, "cannot connect")]


def test_working_without_having_failed_tells_nothing() -> None:
    told: Told = []
    health = Health("bus", 1.0, lambda *args: told.append(args))
    assert health.works() is False and told == []
    Health("quiet", 0.0).failed("no listener")  # nobody to tell: logged only


def test_an_alert_carried_from_the_last_run_is_resolved_once_it_works() -> None:
    now = [1000.0]
    told: Told = []
    health = Health("village", 60.0, lambda *args: told.append(args), clock=lambda: now[0])
    health.carried(400.0, "cannot connect")
    now[0] = 2000.0
    health.failed("cannot connect")  # failing ever since: no second alert
    assert told == [] and health.since == 400.0
    assert health.works() is True and told == [("village", None, "")]


@pytest.mark.asyncio
async def test_the_timer_of_an_earlier_failure_does_not_report_a_later_one_early() -> None:
    now = [0.0]
    told: Told = []
    health = Health("bus", 0.1, lambda *args: told.append(args), clock=lambda: now[0])
    health.failed("lost")  # timer for since=0.0
    health.works()
    now[0] = 0.05
    health.failed("lost again")  # since=0.05: its own timer
    await asyncio.sleep(0.06)
    assert told == []  # (the cancelled first timer did not fire)
    await asyncio.sleep(0.12)
    assert told == [("bus", 0.05, "lost again")]
    health.works()
