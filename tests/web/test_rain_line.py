"""A rainfall alert's line on the card: the window that fired, its total now
and its peak since the alert was raised (why it is red after the burst)."""

from __future__ import annotations

from datetime import UTC, datetime

from floodwatch.readings import Reading
from floodwatch.web.board import Recent
from floodwatch.web.incidents import rain_since_raise

T0 = datetime(2026, 7, 7, 4, 0, tzinfo=UTC)
MIN_MS = 60_000


def test_the_fired_window_shows_its_total_now_and_its_peak_since_the_raise() -> None:
    recent = Recent()
    # 5-minute rain: a 60 mm burst between 05:00 and 05:55, then dry until 09:00
    recent.add([
        Reading(station="gauge", kind="rain",
                ts=datetime.fromtimestamp(T0.timestamp() + m * 60, UTC),
                value=5.0 if 60 <= m < 120 else 0.0)
        for m in range(0, 300, 5)
    ])  # fmt: skip
    alert = {"station": "gauge", "kind": "rainfall", "details": {"window": "1h"},
             "episode_start": "2026-07-07T05:30:00Z"}  # fmt: skip
    line = rain_since_raise(alert, recent)
    assert line is not None
    assert line["window"] == "1h"
    assert line["now"] == 0.0  # 08:55: the last hour was dry
    assert line["peak"] == 60.0  # 05:00-05:55, the burst, at 05:55
    assert line["peak_at"] == int(T0.timestamp() * 1000) + 115 * MIN_MS


def test_a_window_of_a_day_is_read_as_24_hours_and_an_unknown_one_is_no_line() -> None:
    recent = Recent()
    recent.add([Reading(station="gauge", kind="rain", ts=T0, value=3.0)])
    alert = {"station": "gauge", "details": {"window": "1d"},
             "episode_start": "2026-07-07T04:00:00Z"}  # fmt: skip
    assert rain_since_raise(alert, recent) == {
        "window": "24h", "now": 3.0, "peak": 3.0, "peak_at": int(T0.timestamp() * 1000)
    }  # fmt: skip
    assert rain_since_raise({**alert, "details": {"window": "2h"}}, recent) is None
