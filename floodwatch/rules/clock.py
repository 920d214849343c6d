"""Who may move the event clock, and the notices about gauges whose clocks are wrong.

Event time drives the rules, but a reading's time stamp is only as good as the
RTU clock that wrote it: a battery swap resets it to 2000-01-01, a gateway
sends Beijing time labelled UTC. The engine therefore never lets one reading
move its clock far (see `Engine` for where these are called):

- Normal flow: a reading at most `max_future` ahead of the clock moves it.
- A reading further ahead is held, not refused, and moves nothing on its own.
  The clock jumps to it only when a quorum of distinct stations is that far
  ahead (`JUMP_QUORUM`; one while only one station has reported at all) — a
  real gap in the stream, an outage or an archive's next hour. In live
  service a reading within `max_clock_skew` of the wall clock is confirmed by
  the wall clock itself.
- Live service (the service passes the wall clock in with `Engine.bound`):
  the clock never runs past the wall clock, and a reading stamped more than
  `max_clock_skew` ahead of it is refused (`too_far_in_future`) with an `info`
  notice naming the station and its apparent clock offset. One refused as too
  late that is more than a day behind the clock (no delivery delay explains
  that: a gauge reset to 2000) gets the same notice (clock behind). The notice
  resolves once a reading of the station is taken again.
- Replay and backtest (no wall clock): a jump is a gap in the record (stitched
  storms, an hourly archive), so stale checks restart after it instead of
  calling every gauge silent (`Holes`). What is still held at the end of the
  input is taken if it follows within the record's usual step (`Jumps`), else
  refused as too far in the future.
"""

from __future__ import annotations

import bisect
import statistics
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from floodwatch.alerts.event import AlertEvent, episode_id, info_notice
from floodwatch.alerts.messages import Place, headline
from floodwatch.alerts.state import Severity, Transition
from floodwatch.readings import format_ts

JUMP_QUORUM = 2  # distinct stations that must agree before the clock jumps a gap
NEVER = 2**62  # a time beyond every reading
BEHIND_MS = 24 * 3600 * 1000  # live: a reading this far behind the clock is a wrong clock
RECENT_MS = 30 * 24 * 3600 * 1000  # live: readings this close to the wall clock are "now"
RULE = "clock"  # the rule name of clock notices
_INSTRUMENT = {
    "level": ("水位计", "water-level gauge"),
    "rain": ("雨量计", "rain gauge"),
    "flow": ("流量计", "flow meter"),
}
_MINUTE = 60_000
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_YEAR = 365.25 * _DAY


def span(ms: int) -> tuple[str, str]:
    """An offset as people say it: "8小时" / "8 h", "约26年" / "about 26 years"."""
    a = abs(ms)
    if a >= _YEAR:
        n = round(a / _YEAR)
        return f"约{n}年", f"about {n} years"
    if a >= 2 * _DAY:
        n = round(a / _DAY)
        return f"约{n}天", f"about {n} days"
    if a >= _HOUR:
        n = round(a / _HOUR)
        return f"{n}小时", f"about {n} h"
    n = max(1, round(a / _MINUTE))
    return f"{n}分钟", f"about {n} min"


@dataclass
class ClockNotices:
    """The open clock notices (`info`), one per station. Pure: times are given."""

    open: dict[str, AlertEvent] = field(default_factory=dict)

    def wrong(
        self,
        station: str,
        place: Place,
        kind: str,
        offset_ms: int,
        at_ms: int,
        out: list[AlertEvent],
    ) -> None:
        """A reading of `station` was refused: its clock is `offset_ms` off the wall
        clock (positive: ahead). Raises the station's notice unless it is open."""
        if station in self.open:
            return
        zh_span, en_span = span(offset_ms)
        instrument_zh, instrument_en = _INSTRUMENT.get(kind, ("仪器", "gauge"))
        head_zh, head_en = headline(Severity.INFO, Transition.FIRING, False)
        if offset_ms > 0:
            what_zh, what_en = f"时钟超前{zh_span}", f"clock {en_span} ahead"
        else:
            what_zh, what_en = f"时钟滞后{zh_span}", f"clock {en_span} behind"
        event = _event(
            station,
            place,
            at_ms,
            at_ms,
            Transition.FIRING,
            f"{head_zh}{place.zh}{instrument_zh}{what_zh}，读数未采用，请校准时钟",
            f"{head_en}{place.en} {instrument_en}: {what_en}; its readings are not used — "
            "please set its clock",
            {"check": RULE, "offset_s": offset_ms // 1000, "kind": kind},
        )
        self.open[station] = event
        out.append(event)

    def plausible(self, station: str, place: Place, at_ms: int, out: list[AlertEvent]) -> None:
        """A reading of `station` was taken on time again: resolve its notice."""
        opened = self.open.pop(station, None)
        if opened is None:
            return
        head_zh, head_en = headline(Severity.INFO, Transition.RESOLVED, False)
        start = int(opened.episode_start.timestamp() * 1000)
        out.append(
            _event(
                station,
                place,
                start,
                at_ms,
                Transition.RESOLVED,
                f"{head_zh}{place.zh}时钟已恢复正常，读数重新采用",
                f"{head_en}{place.en}: its clock is right again; readings are used again",
                {"check": RULE},
            )
        )

    def state(self) -> dict[str, dict[str, object]]:
        return {station: event.to_json() for station, event in self.open.items()}

    def restore(self, state: dict[str, dict[str, object]]) -> None:
        self.open = {station: AlertEvent.from_json(data) for station, data in state.items()}


def _event(
    station: str,
    place: Place,
    start_ms: int,
    now_ms: int,
    transition: Transition,
    zh: str,
    en: str,
    details: dict[str, object],
) -> AlertEvent:
    return info_notice(
        alert_id=episode_id(RULE, station, start_ms),
        rule=RULE,
        kind="sensor_health",
        station=station,
        station_name=place.name,
        start_ms=start_ms,
        now_ms=now_ms,
        transition=transition,
        zh=zh,
        en=en,
        details=details,
    )


class Holes:
    """Stretches of a replayed record the clock jumped over (nobody reported):
    a stale deadline inside one is moved to the hole's end."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        self._starts.append(start)
        self._ends.append(end)

    def end_of(self, ts: int) -> int | None:
        """The end of the hole `ts` falls in (start < ts <= end), or None."""
        i = bisect.bisect_left(self._starts, ts) - 1
        if i >= 0 and ts <= self._ends[i]:
            return self._ends[i]
        return None


class Jumps:
    """The recent sizes of the clock's jumps: the record's usual step (an hourly
    archive jumps an hour at a time)."""

    def __init__(self) -> None:
        self._sizes: deque[int] = deque(maxlen=32)

    def add(self, size: int) -> None:
        self._sizes.append(size)

    def usual(self) -> int:
        return int(statistics.median(self._sizes)) if self._sizes else 0


def ahead_detail(ts: int, wall: int, skew_ms: int) -> str:
    _, en = span(ts - wall)
    return (
        f"event time {format_ts(ts)} is {en} ahead of the wall clock {format_ts(wall)} "
        f"(max_clock_skew {skew_ms // 1000}s)"
    )


class ClockGuard:
    """Who may move the clock: the walk over admitted readings, the jump quorum
    and, in live service, the wall clock (`wall`, set by `Engine.bound`)."""

    def __init__(self, stations: int, max_future_ms: int, skew_ms: int) -> None:
        self.max_future = max_future_ms
        self.skew = skew_ms
        self.wall: int | None = None  # live: the wall clock of this step; None: replay
        # Stations whose latest reading is held too far ahead: index -> its time.
        self.ahead: dict[int, int] = {}
        self.seen = np.zeros(stations + 1, dtype=bool)  # stations that reported at all
        self.start_quorum = min(JUMP_QUORUM, stations)
        self.holes = Holes()
        self.jumps = Jumps()

    def may_start(self) -> bool:
        """Live: at once (the wall clock bounds it); replay: once a quorum reported."""
        return self.wall is not None or int(self.seen.sum()) >= self.start_quorum

    def walk(self, clock: int, t: np.ndarray, st: np.ndarray) -> int:
        """The clock after readings at times `t` of stations `st` (arrival order).

        One at most `max_future` ahead of the clock as it stood when it arrived
        moves it (the common case, vectorised); one further ahead is held and
        moves it only when a quorum of distinct stations is that far ahead too,
        or (live) the wall clock confirms it. Live: never past the wall clock."""
        wall = self.wall
        cap = NEVER if wall is None else wall
        mf = self.max_future
        tc = np.minimum(t, cap)
        before = np.maximum.accumulate(np.concatenate(([clock], tc[:-1])))
        early = t > before + mf
        if not early.any():
            if self.ahead:
                for station in set(st.tolist()):
                    self.ahead.pop(station, None)
            return max(int(before[-1]), int(tc[-1]))
        first = int(np.argmax(early))
        if first and self.ahead:
            for station in set(st[:first].tolist()):
                self.ahead.pop(station, None)
        clock = int(before[first])
        quorum = min(JUMP_QUORUM, max(1, int(self.seen.sum())))
        for k in range(first, len(t)):
            tk = int(t[k])
            station = int(st[k])
            if tk <= clock + mf:
                clock = max(clock, min(tk, cap))
                self.ahead.pop(station, None)
                continue
            if wall is not None and tk >= wall - self.skew:  # the wall clock confirms it
                clock = self.jump(clock, min(tk, cap))
                self.ahead.pop(station, None)
                continue
            self.ahead[station] = tk
            horizon = clock + mf
            agreeing = [a for a in self.ahead.values() if a > horizon]
            if len(agreeing) >= quorum:
                clock = self.jump(clock, min(*agreeing, cap))
                self.ahead = {s: a for s, a in self.ahead.items() if a > clock + mf}
        return clock

    def jump(self, clock: int, target: int) -> int:
        """The clock jumps a gap. In a replay nobody reported in it (a hole); live,
        so it is when the clock was not near now at all (a cold start on a
        reading from long ago): stale checks restart after it. A live outage
        is no hole — stale is not safe."""
        if target <= clock:
            return clock
        if self.wall is None:
            self.holes.add(clock, target)
            self.jumps.add(target - clock)
        elif clock < self.wall - RECENT_MS:
            self.holes.add(clock, target)
        return target

    def settle(self, clock: int, t_sorted: np.ndarray) -> tuple[int, np.ndarray]:
        """End of a replay: walk what is still buffered (times in order) and
        refuse what lies beyond the record's usual step ahead of the clock (an
        hourly archive keeps its last hour; a wrong clock nobody confirmed is
        refused). The clock after, and which of `t_sorted` are refused."""
        allow = max(self.max_future, self.jumps.usual())
        refused = np.zeros(len(t_sorted), dtype=bool)
        cut = int(np.searchsorted(t_sorted, clock + allow, "right"))
        if cut:
            reach = int(t_sorted[cut - 1])
            clock = self.jump(clock, reach) if reach > clock + self.max_future else clock
            clock = max(clock, reach)
        for j in range(cut, len(t_sorted)):
            t = int(t_sorted[j])
            if t <= clock + allow:
                clock = self.jump(clock, t) if t > clock + self.max_future else max(clock, t)
            else:
                refused[j] = True
        return clock, refused
