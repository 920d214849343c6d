"""`rules.snapshot`: engine state to bytes and back — what a restart resumes
from. An engine restored from a snapshot behaves exactly like the one saved;
a snapshot of another layout, or a damaged one, is refused with a reason."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest

from floodwatch.alerts.state import Severity
from floodwatch.readings import Reading
from floodwatch.rules.base import AlertTracker
from floodwatch.rules.engine import Engine
from floodwatch.rules.kinds.crest import CrestCore
from floodwatch.rules.snapshot import (
    MAGIC,
    SnapshotError,
    capture,
    dumps,
    layout,
    loads,
    restore,
    set_tracker_state,
    tracker_state,
)
from floodwatch.testing import T0, compile_yaml
from tests.conftest import POND

RULES = """
rules:
  - id: lvl
    kind: level
    stations: [p1]
    levels: {yellow: {enter: design_flood}, red: {enter: crest - 0.2}}
  - id: ttc
    kind: time_to_crest
    stations: [p1]
    window: 30m
    levels: {orange: {enter: 2h}, red: {enter: 30m}}
  - id: rain
    kind: rainfall
    stations: [r1]
    levels: {blue: {within: {1h: 30}}}
  - id: health
    kind: sensor_health
    stations: [p1, c1, r1]
    stale_after: 2
"""
CONFIG = compile_yaml(stations=POND, rules=RULES)
MIN = timedelta(minutes=1)


def storm() -> list[Reading]:
    """The pond rising 5 cm per 5 minutes with rain; the culvert meter dies at 30 min."""
    out: list[Reading] = []
    for i in range(24):
        ts = T0 + 5 * i * MIN
        out.append(Reading("p1", "level", 311.0 + 0.05 * i, ts))
        out.append(Reading("r1", "rain", 4.0 if 4 <= i < 14 else 0.0, ts))
        if i < 6:
            out.append(Reading("c1", "flow", 0.4, ts))
    return out


def json(events: list[object]) -> list[object]:
    return [e.to_json() for e in events]  # type: ignore[attr-defined]


def run_whole() -> list[object]:
    engine = Engine(CONFIG)
    out = engine.process(storm())
    out.extend(engine.flush())
    return json(out.alerts)  # type: ignore[arg-type]


@pytest.mark.parametrize("cut", [1, 17, 40, 55])
def test_a_restored_engine_goes_on_exactly_as_the_one_saved(cut: int) -> None:
    readings = storm()
    first = Engine(CONFIG)
    out = first.process(readings[:cut])
    data = dumps(capture(first))
    assert data.startswith(MAGIC)
    resumed = Engine(CONFIG)
    restore(resumed, loads(data))
    assert resumed.clock == first.clock and resumed.buffered == first.buffered
    assert resumed.active_alerts() == first.active_alerts()
    assert resumed.forecasts() == first.forecasts()  # the board's live forecast
    assert (resumed.readings_evaluated, resumed.readings_fast) == (
        first.readings_evaluated,
        first.readings_fast,
    )
    out.extend(resumed.process(readings[cut:]))
    out.extend(resumed.flush())
    assert json(out.alerts) == run_whole()  # type: ignore[arg-type]


def test_the_snapshot_keeps_the_stale_gauge_its_notice_and_the_heap() -> None:
    """After the restart the silent culvert meter is still stale (no second
    notice), and a gauge due later is still watched (its notice comes on time)."""
    first = Engine(CONFIG)
    first.process(storm()[:30])
    first.advance(T0 + 60 * MIN)
    stale = {a.station for a in first.active_alerts() if a.rule == "health/stale"}
    assert "c1" in stale
    resumed = Engine(CONFIG)
    restore(resumed, loads(dumps(capture(first))))
    assert {a.station for a in resumed.active_alerts() if a.rule == "health/stale"} == stale
    later = resumed.advance(T0 + 3 * 60 * MIN)
    again = Engine(CONFIG)
    again.process(storm()[:30])
    again.advance(T0 + 60 * MIN)
    assert json(later.alerts) == json(again.advance(T0 + 3 * 60 * MIN).alerts)  # type: ignore[arg-type]


def test_a_snapshot_of_another_layout_is_refused() -> None:
    saved = capture(Engine(CONFIG))
    for other in (
        RULES.replace("window: 30m", "window: 1h"),  # another ring size
        RULES.replace("{1h: 30}", "{1h: 30, 3h: 60}"),  # another probe
        RULES.replace("stale_after: 2", "stale_after: 3"),  # another stale time
        RULES.replace("  - id: lvl\n", "  - id: level\n"),  # another rule instance
    ):
        engine = Engine(compile_yaml(stations=POND, rules=other))
        assert layout(engine) != saved["layout"]
        with pytest.raises(SnapshotError, match="another configuration layout"):
            restore(engine, saved)
    assert layout(Engine(CONFIG)) == saved["layout"]  # the same config: the same layout


def test_a_column_of_another_shape_is_refused() -> None:
    saved = capture(Engine(CONFIG))
    saved["columns"]["series"]["last_ts"] = saved["columns"]["series"]["last_ts"][:-1]
    with pytest.raises(SnapshotError, match=r"column series\.last_ts has another shape"):
        restore(Engine(CONFIG), saved)


def test_damaged_bytes_are_refused_with_what_is_wrong() -> None:
    data = dumps(capture(Engine(CONFIG)))
    with pytest.raises(SnapshotError, match="not a floodwatch engine snapshot"):
        loads(b"PK\x03\x04" + data)
    with pytest.raises(SnapshotError, match="not a floodwatch engine snapshot"):
        loads(b"")
    with pytest.raises(SnapshotError, match="checksum mismatch"):
        loads(data[:-10])  # truncated
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    with pytest.raises(SnapshotError, match="checksum mismatch"):
        loads(bytes(flipped))


def test_a_body_that_matches_its_checksum_but_does_not_unpickle_is_refused() -> None:
    import hashlib

    body = b"\x80\x05not a pickle"
    data = MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body
    with pytest.raises(SnapshotError, match="snapshot does not load"):
        loads(data)
    good = pickle.dumps({"layout": "x"})
    assert loads(MAGIC + hashlib.sha256(good).hexdigest().encode() + b"\n" + good) == {
        "layout": "x"
    }


def test_an_older_snapshot_without_forecasts_or_clock_notices_still_restores() -> None:
    first = Engine(CONFIG)
    first.process(storm()[:40])
    saved = capture(first)
    for key in ("crest", "notices", "seen"):
        del saved[key]
    resumed = Engine(CONFIG)
    restore(resumed, saved)
    assert resumed.active_alerts() == first.active_alerts()
    assert resumed.forecasts() == {}  # none kept then: the next reading makes one
    [crest] = [r for r in resumed.rule_instances() if isinstance(r, CrestCore)]
    assert crest.latest is None and crest.seen is None


def test_a_health_check_this_build_no_longer_has_stays_closed() -> None:
    first = Engine(CONFIG)
    first.process(storm()[:30])
    first.advance(T0 + 60 * MIN)
    saved = capture(first)
    row = next(i for i, h in enumerate(saved["health"]) if h and "stale" in h)
    saved["health"][row]["retired-check"] = ("info", "x:retired:1", 0)
    resumed = Engine(CONFIG)
    restore(resumed, saved)
    assert all(a.rule != "health/retired-check" for a in resumed.active_alerts())
    assert resumed.active_alerts() == first.active_alerts()


def test_tracker_state_is_plain_values_both_ways() -> None:
    [lvl] = [r for r in Engine(CONFIG).rule_instances() if r.ctx.rule == "lvl"]
    tracker: AlertTracker = lvl.tracker
    assert tracker_state(tracker) == (None, None, 0)
    set_tracker_state(tracker, ("orange", "p1:lvl:abc", 42))
    assert (tracker.severity, tracker.episode, tracker.episode_start) == (
        Severity.ORANGE,
        "p1:lvl:abc",
        42,
    )
    assert tracker_state(tracker) == ("orange", "p1:lvl:abc", 42)
    set_tracker_state(tracker, (None, None, 0))
    assert tracker.severity is None
