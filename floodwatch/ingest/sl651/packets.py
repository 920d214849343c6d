"""Multi-packet reports (M3): packets joined per connection. Pure; the caller
passes the time in.

Each packet of a report is a frame with SYN, the packet total and its own
sequence number (from 1); the report's body is the packets' bodies in order.
A report still missing packets `timeout` seconds after its last packet came is
due a NAK naming the first missing packet (at most `naks` times); after that
it is given up and its packets dead-lettered. A report whose packets stop
because the RTU began another one (another packet total, same station and
function) is given up at once, not dropped unseen.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from floodwatch.ingest.sl651.frame import Frame


@dataclass
class Partial:
    first_seen: float
    last_seen: float
    total: int
    packets: dict[int, Frame] = field(default_factory=dict)
    naks: int = 0

    @property
    def missing(self) -> list[int]:
        return [n for n in range(1, self.total + 1) if n not in self.packets]

    @property
    def raw(self) -> bytes:
        return b"".join(self.packets[n].raw for n in sorted(self.packets))


class Reassembly:
    """The reports being received in packets on one connection."""

    def __init__(self, timeout: float, naks: int = 2) -> None:
        self.timeout = timeout
        self.naks = naks
        self.partial: dict[tuple[str, int], Partial] = {}
        self.abandoned: list[Partial] = []  # replaced by another report: given up next `due`

    def add(self, frame: Frame, now: float) -> Frame | None:
        """Take a packet; the whole report as one frame once every packet is in."""
        key = (frame.station, frame.function)
        part = self.partial.get(key)
        if part is None or part.total != frame.total:
            if part is not None:
                self.abandoned.append(part)
            part = self.partial[key] = Partial(now, now, frame.total)
        part.packets[frame.sequence] = frame
        part.last_seen = now
        if part.missing:
            return None
        del self.partial[key]
        ordered = [part.packets[n] for n in range(1, part.total + 1)]
        return replace(
            ordered[0],
            body=b"".join(p.body for p in ordered),
            end=ordered[-1].end,
            total=0,
            sequence=0,
            raw=b"".join(p.raw for p in ordered),
        )

    def next_deadline(self) -> float | None:
        """When the next packet wait runs out (None: nothing waiting)."""
        if not self.partial:
            return None
        return min(p.last_seen + self.timeout for p in self.partial.values())

    def due(self, now: float) -> tuple[list[tuple[Frame, int]], list[Partial]]:
        """Reports whose wait ran out: (a packet of it, the packet to NAK) for
        those that may still be asked for, and the ones given up."""
        nak: list[tuple[Frame, int]] = []
        given_up, self.abandoned = self.abandoned, []
        for key, part in list(self.partial.items()):
            if now < part.last_seen + self.timeout:
                continue
            if part.naks >= self.naks:
                given_up.append(self.partial.pop(key))
                continue
            part.naks += 1
            part.last_seen = now
            nak.append((next(iter(part.packets.values())), part.missing[0]))
        return nak, given_up

    def drain(self) -> list[Partial]:
        """Everything unfinished (the connection ended)."""
        out = [*self.abandoned, *self.partial.values()]
        self.partial.clear()
        self.abandoned = []
        return out
