"""`rules.conditions`: three-valued conditions (true, false, unknown) on a
series' last good value or on a window probe, and all / any groups of them.

Unknown is not false: a silent or too old source, or an incomplete window that
has not reached the line, is unknown, so a compound rule neither raises nor
clears on it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pytest

from floodwatch.alerts.messages import MEASURES, ConditionText
from floodwatch.config.values import parse_season
from floodwatch.rules.conditions import BoundCondition, ConditionGroup, LastValue
from floodwatch.rules.store import ACCUM_COLUMNS, RATE_COLUMNS, SERIES_COLUMNS, bind_rows
from floodwatch.rules.thresholds import Seasonal, Threshold
from floodwatch.rules.windows import AccumProbe, RateProbe, Ring

MIN = 60_000
AGE = 15 * MIN
UTC = ZoneInfo("UTC")


def _row(spec: dict[str, tuple[str, float]]) -> dict[str, np.ndarray]:
    return {name: np.full(1, init, dtype=dtype) for name, (dtype, init) in spec.items()}


def last_value(ts: int | None = None, value: float = 0.0) -> LastValue:
    lv = LastValue()
    bind_rows(lv, cols=_row(SERIES_COLUMNS), row=0)
    if ts is not None:
        lv.ts, lv.value = ts, value
    return lv


def ring() -> Ring:
    r = Ring(64)
    ts, val = np.zeros(r.cap, dtype=np.int64), np.zeros(r.cap, dtype=np.float64)
    r.bind(_row(SERIES_COLUMNS), 0, 0, memoryview(ts), memoryview(val))  # type: ignore[arg-type]
    return r


def text(above: bool, bound: float, kind: str = "level") -> ConditionText:
    return ConditionText("毛坑山塘", "Maokeng pond", MEASURES[kind], above, bound)


def above(source: LastValue | RateProbe | AccumProbe, bound: float) -> BoundCondition:
    return BoundCondition("high", source, Threshold(constant=bound), None, AGE, text(True, bound))


def below(source: LastValue | RateProbe | AccumProbe, bound: float) -> BoundCondition:
    return BoundCondition("low", source, None, Threshold(constant=bound), AGE, text(False, bound))


def test_a_last_value_at_or_above_the_bound_is_true_and_below_it_false() -> None:
    assert above(last_value(0, 311.0), 311.0).truth(0) is True
    assert above(last_value(0, 310.99), 311.0).truth(0) is False
    assert below(last_value(0, 0.1), 0.2).truth(0) is True
    assert below(last_value(0, 0.2), 0.2).truth(0) is False  # strictly below


def test_a_source_never_heard_or_too_old_is_unknown() -> None:
    assert above(last_value(), 311.0).truth(0) is None
    lv = last_value(0, 312.0)
    assert above(lv, 311.0).truth(AGE) is True  # exactly max_age old: still known
    assert above(lv, 311.0).truth(AGE + 1) is None
    assert below(lv, 400.0).truth(AGE + 1) is None
    assert above(lv, 311.0).metric(AGE + 1) == (None, False)


def test_a_rate_probe_is_read_as_its_rate_and_unknown_without_enough_span() -> None:
    r = ring()
    probe = RateProbe(r, 30 * MIN)
    probe.bind(_row(RATE_COLUMNS), 0)
    high = above(probe, 0.3)
    assert high.truth(0) is None  # never updated
    for k, level in enumerate([310.0, 310.05]):
        r.append(k * 5 * MIN, level)
        probe.update(k * 5 * MIN, level)
    assert high.truth(5 * MIN) is None  # 5 min of span: no rate yet
    for k in range(2, 7):
        r.append(k * 5 * MIN, 310.0 + 0.05 * k)
        probe.update(k * 5 * MIN, 310.0 + 0.05 * k)
    assert high.metric(30 * MIN) == (pytest.approx(0.6), True)
    assert high.truth(30 * MIN) is True
    assert high.truth(30 * MIN + AGE + 1) is None  # the probe went quiet


def test_an_incomplete_window_is_true_once_it_reaches_the_line_else_unknown() -> None:
    """Rain: a window with gaps may only have missed rain, so its sum can raise
    (at or above the line) but can never say "below"."""
    r = ring()
    probe = AccumProbe(r, 60 * MIN, 5 * MIN, 0.0)  # 12 reports make the hour complete
    probe.bind(_row(ACCUM_COLUMNS), 0)
    wet, dry = above(probe, 30.0), below(probe, 5.0)
    for k, mm in enumerate([2.0, 1.0]):
        r.append(k * 5 * MIN, mm)
        probe.update(k * 5 * MIN, mm)
    assert probe.complete is False
    assert wet.truth(5 * MIN) is None and dry.truth(5 * MIN) is None
    r.append(10 * MIN, 40.0)
    probe.update(10 * MIN, 40.0)
    assert wet.truth(10 * MIN) is True  # 43 mm with gaps: at least that much fell
    for k in range(3, 13):
        r.append(k * 5 * MIN, 0.0)
        probe.update(k * 5 * MIN, 0.0)
    assert probe.complete is True
    assert wet.truth(60 * MIN) is True and dry.truth(60 * MIN) is False


def test_groups_are_three_valued() -> None:
    t = above(last_value(0, 312.0), 311.0)
    f = above(last_value(0, 300.0), 311.0)
    u = above(last_value(), 311.0)
    for conditions, all_of, expected in [
        ([t, t], True, True),
        ([t, u], True, None),
        ([f, u], True, False),  # one false decides an "all"
        ([t, u], False, True),  # one true decides an "any"
        ([f, u], False, None),
        ([f, f], False, False),
    ]:
        assert ConditionGroup(conditions, all_of).truth(0) is expected


def test_a_seasonal_bound_is_said_and_judged_at_the_time_asked() -> None:
    line = Threshold(seasonal=Seasonal((), 311.0), offset=0.5, zone=UTC)
    cond = BoundCondition("high", last_value(0, 311.2), line, None, AGE, text(True, 0.0))
    assert cond.bound(0) == pytest.approx(311.5)
    assert cond.truth(0) is False
    zh, en = cond.say(0)
    assert zh == "毛坑山塘水位311.20米，低于311.50米"
    assert en == "Maokeng pond water level 311.20 m, below 311.50 m"


def test_say_tells_a_missing_value_and_the_side_of_the_line() -> None:
    assert above(last_value(), 311.0).say(0) == (
        "毛坑山塘水位暂无数据",
        "Maokeng pond water level: no data",
    )
    zh, en = above(last_value(0, 311.0), 311.0).say(0)
    assert zh == "毛坑山塘水位311.00米，达到311.00米" and en.endswith(", at 311.00 m")
    zh, _ = below(last_value(0, 0.3), 0.2).say(0)
    assert zh == "毛坑山塘水位0.30米，不低于0.20米"


def test_the_fast_paths_watch_is_the_lowest_line_above_or_highest_below() -> None:
    line = Threshold(seasonal=Seasonal(((parse_season("05-01..09-30"), 310.6),), 311.0), zone=UTC)
    lv = last_value()
    up = BoundCondition("high", lv, line, None, AGE, text(True, 311.0))
    down = BoundCondition("low", lv, None, line, AGE, text(False, 311.0))
    assert (up.watch().side, up.watch().bound) == ("above", 310.6)
    assert (down.watch().side, down.watch().bound) == ("below", 311.0)
    assert up.watch().source is lv
