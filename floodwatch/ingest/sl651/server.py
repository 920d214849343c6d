"""The SL 651 TCP receiver: RTUs connect, send reports, get confirmations.

One task per connection, so a slow or half-open connection holds up nobody
else; a connection silent for `idle_timeout` (no report, no keep-alive) is
closed. Frames are split incrementally (`stream.py`), multi-packet reports
joined (`packets.py`, NAK on a missing packet), the address and password
checked, the report decoded and mapped to readings (`mapping.py`), and the
readings handed on as one `Incoming` (format `batch`), like an MQTT message.

Confirmation (M2, EOT — or ESC to keep the station online) is sent from the
`Incoming`'s `confirm`, which the service calls only after the readings and
the alerts they caused are committed. A crash between the commit and the
confirmation: the RTU never heard the confirmation, so it sends the report
again after it reconnects; the service (restored from snapshot + inbox) then
sees readings it already has, and the engine refuses them as duplicates
(dead-letter `duplicate`) — nothing is lost and no transition is repeated.

Reports are deduplicated on (station, function, serial, observation time)
across connections: a resent report whose first copy is stored is confirmed
at once; one whose first copy is still on its way is confirmed when it is.
With a `Memory` (the service's store), the reports stored and each station's
last rain counter (PT) are recorded in the transaction that stores the
readings (`Incoming.stored`) and taken up again at start (`restore`), so a
resend after a restart is still a duplicate, and PT is differenced across it.
(The gateway's `Memory` is its state file, `Incoming.stored` called in the
commit after the broker's acknowledgement: `gateway.py`.)

Manual entry (35H, and 39H) is SL 330 text (`manual.py`): its elements become
readings of quality `manual`; what is not understood is dead-lettered
`not_decoded` with the text. A picture (36H) is written to a file under
`pictures` (fsync'd) and then confirmed; it is not decoded.

Refused input — bytes that are no frame, a bad CRC, an unknown address, a
wrong password, an unsupported function code — goes to the dead-letter with
the raw frame in hex and the reason, and is counted per address (`refused`).
Refused reports are not confirmed (the RTU resends them, and stays visible).

Why one module over 400 lines: `Receiver` is one connection's lifecycle;
deduplication across connections, confirmation only after the commit, and the
`Memory` taken up at start share its table of seen and pending reports, and the
crash guarantees above hold only together. Framing, packets, bodies and the
mapping to readings already live in modules of their own.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Protocol

import msgspec
from msgspec.structs import replace

from floodwatch.config.sl651 import Sl651Settings
from floodwatch.ingest.sl651 import ascii as ascii_mode
from floodwatch.ingest.sl651 import codec, manual
from floodwatch.ingest.sl651 import frame as hex_mode
from floodwatch.ingest.sl651.body import KEEP_ALIVE, MANUAL, PICTURE, Report
from floodwatch.ingest.sl651.frame import End, Frame, FrameError, confirmation
from floodwatch.ingest.sl651.mapping import Counters, Directory, Known, Refusal, readings
from floodwatch.ingest.sl651.packets import Reassembly
from floodwatch.ingest.sl651.stream import FrameStream, Junk
from floodwatch.ingest.source import Incoming
from floodwatch.readings import Rejected, RejectReason

log = logging.getLogger(__name__)

SEEN = 200_000  # reports remembered for deduplication
# Upper bounds (s) of the frame-received → confirmation-sent histogram (/metrics).
CONFIRM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
READ = 4096
_encode = msgspec.json.Encoder()
DedupKey = tuple[str, int, int, datetime | None]
MANUAL_QUERY = 0x39  # a query's answer: the manual entry


class Memory(Protocol):
    """Where the receiver keeps what must survive a restart (the service's store)."""

    def load(self) -> tuple[dict[str, tuple[datetime, float]], list[DedupKey]]:
        """The rain counters by station, and the reports stored, oldest first."""
        ...

    def remember(
        self, seen: Iterable[DedupKey], counters: Iterable[tuple[str, datetime, float]]
    ) -> None:
        """Record stored reports and counters; called inside the transaction
        that stores their readings (the gateway: that follows the broker's
        acknowledgement)."""
        ...


class _Pending:
    """A report handed on, not yet stored: who else waits for its confirmation."""

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        self.waiting: list[Callable[[], None]] = []


class Receiver:
    """The SL 651 server. `put` takes each report's readings (the service's
    queue, or the gateway's producer); `reject` writes dead-letter records."""

    def __init__(
        self,
        settings: Sl651Settings,
        directory: Directory,
        put: Callable[[Incoming], Awaitable[None]],
        reject: Callable[[list[Rejected]], None],
        *,
        memory: Memory | None = None,
        pictures: Path | None = None,
    ) -> None:
        self.settings = settings
        self.memory = memory
        self.pictures = pictures
        self.pictures_stored = 0
        self.directory = directory
        self.put = put
        self.reject = reject
        host, _, port = settings.listen.rpartition(":")
        self.host, self.port = host, int(port)
        self.listening = asyncio.Event()
        self.refused: Counter[tuple[str, str]] = Counter()  # (address, reason) -> frames
        self.connections = 0  # open now
        self.frames = 0
        self.confirmed = 0
        self.duplicates = 0
        self.counters = Counters()
        self.seen: OrderedDict[DedupKey, _Pending | None] = OrderedDict()
        # Seconds from frame received to confirmation sent: counts per bucket
        # (the last: above every bound), and their sum.
        self.confirm_counts = [0] * (len(CONFIRM_BUCKETS) + 1)
        self.confirm_seconds = 0.0
        # Called with each of those times (bench).
        self.on_confirm: Callable[[float], None] | None = None

    @property
    def name(self) -> str:
        return f"sl651://{self.host}:{self.port}"

    def restore(self) -> None:
        """Take up the memory's reports and counters (once, before serving)."""
        if self.memory is None:
            return
        counters, seen = self.memory.load()
        self.counters.pt.update(counters)
        for key in seen[-SEEN:]:
            self.seen[key] = None
        if seen or counters:
            log.info(
                "sl651: %d stored reports and %d rain counters taken up", len(seen), len(counters)
            )

    async def run(self) -> None:
        """Serve until cancelled."""
        server = await asyncio.start_server(self._serve, self.host, self.port, backlog=4096)
        self.port = server.sockets[0].getsockname()[1]
        self.listening.set()
        log.info("sl651 receiver listening on %s:%d", self.host, self.port)
        try:
            async with server:
                await server.serve_forever()
        finally:
            self.listening.clear()

    # -- one connection ------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        where = f"sl651:{peer[0]}:{peer[1]}" if peer else "sl651"
        if self.connections >= self.settings.max_connections:
            writer.close()
            return
        self.connections += 1
        stream = FrameStream()
        packets = Reassembly(self.settings.packet_timeout.total_seconds())
        idle = self.settings.idle_timeout.total_seconds()
        refused_here: set[tuple[str, str]] = set()
        last = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                deadline = packets.next_deadline()
                until = last + idle if deadline is None else min(last + idle, deadline)
                try:
                    async with asyncio.timeout(max(0.0, until - now)):
                        data = await reader.read(READ)
                except TimeoutError:
                    if time.monotonic() >= last + idle:
                        log.info("%s: silent for %.0fs, closed", where, idle)
                        break
                    self._packets_due(packets, writer, where)
                    continue
                if not data:
                    break
                last = received = time.monotonic()
                for item in stream.feed(data):
                    if isinstance(item, Junk):
                        self._junk(item, where)
                        continue
                    whole = packets.add(item, received) if item.multi else item
                    if whole is not None:
                        await self._frame(whole, writer, where, received, refused_here)
                self._packets_due(packets, writer, where)
        except (ConnectionError, OSError) as exc:
            log.info("%s: connection lost (%s)", where, exc)
        finally:
            self.connections -= 1
            rest = stream.flush()
            if rest is not None:
                self._junk(rest, where)
            for part in packets.drain():
                self._refuse(
                    RejectReason.BAD_FRAME,
                    f"incomplete_report: packets {sorted(part.packets)} of {part.total} "
                    "when the connection ended",
                    part.raw,
                    where,
                    next(iter(part.packets.values())).station,
                )
            writer.close()

    def _packets_due(self, packets: Reassembly, writer: asyncio.StreamWriter, where: str) -> None:
        nak, given_up = packets.due(time.monotonic())
        for frame, missing in nak:
            log.info("%s: packet %d of %s's report missing: NAK", where, missing, frame.station)
            answer = Frame(
                frame.centre,
                frame.station,
                frame.password,
                frame.function,
                frame.body[:8] if not frame.ascii else b"",
                End.NAK,
                uplink=False,
                total=frame.total,
                sequence=missing,
            )
            self._send(writer, answer, ascii=frame.ascii)
        for part in given_up:
            self._refuse(
                RejectReason.BAD_FRAME,
                f"incomplete_report: packets {part.missing} of {part.total} never came "
                f"({'asked for with NAK' if part.naks else 'the RTU began another report'})",
                part.raw,
                where,
                next(iter(part.packets.values())).station,
            )

    async def _frame(
        self,
        frame: Frame,
        writer: asyncio.StreamWriter,
        where: str,
        received: float,
        refused_here: set[tuple[str, str]],
    ) -> None:
        self.frames += 1
        known = self.directory.check(frame)
        if isinstance(known, Refusal):
            key = (frame.station, known.reason)
            if frame.function != KEEP_ALIVE or key not in refused_here:
                reason = RejectReason(known.reason)
                self._refuse(reason, known.detail, frame.raw, where, frame.station)
            else:
                self.refused[key] += 1
            refused_here.add(key)
            return
        try:
            report = codec.report(frame)
        except FrameError as exc:
            reason = (
                RejectReason.UNSUPPORTED_FUNCTION
                if exc.reason == "unsupported_function"
                else RejectReason.BAD_FRAME
            )
            self._refuse(reason, f"{exc.reason}: {exc.detail}", frame.raw, where, frame.station)
            return
        if frame.function == KEEP_ALIVE:
            return
        if frame.function == PICTURE:
            await self._picture(known, frame, report, writer, where, received)
            return
        unread: list[str] = []
        if frame.function in (MANUAL, MANUAL_QUERY):
            unread = _manual(report)
        await self._report(known, frame, report, writer, received, where, unread)

    async def _picture(
        self,
        known: Known,
        frame: Frame,
        report: Report,
        writer: asyncio.StreamWriter,
        where: str,
        received: float,
    ) -> None:
        """Store the picture in a file (synced), then confirm it."""
        data = report.picture
        if self.pictures is None or not data:
            why = "no picture in the report" if self.pictures is not None else "no picture store"
            self._refuse(
                RejectReason.NOT_DECODED,
                f"picture from station {known.id}: {why}",
                frame.raw,
                where,
                frame.station,
            )
            self._confirm(frame, report, writer, received)
            return
        at = next((e.time for e in report.elements if e.time is not None), report.sent)
        suffix = ".jpg" if data[:2] == b"\xff\xd8" else ".bin"
        path = self.pictures / known.id / f"{at:%Y%m%dT%H%M%S}-{report.serial:05d}{suffix}"
        try:
            await asyncio.to_thread(_write_synced, path, data)
        except OSError as exc:
            log.error("sl651 %s: picture not stored in %s: %s", known.id, path, exc)
            return  # not confirmed: the RTU sends it again
        self.pictures_stored += 1
        log.info("sl651 %s: picture of %d bytes stored in %s", known.id, len(data), path)
        self._confirm(frame, report, writer, received)

    async def _report(
        self,
        known: Known,
        frame: Frame,
        report: Report,
        writer: asyncio.StreamWriter,
        received: float,
        where: str,
        unread: list[str],
    ) -> None:
        first = next((e.time for e in report.elements if e.time is not None), None)
        key: DedupKey = (known.id, frame.function, report.serial, first or report.sent)
        if key in self.seen:
            self.duplicates += 1
            pending = self.seen[key]
            if pending is None:  # stored: confirm again (the RTU missed the first)
                self._confirm(frame, report, writer, received)
            else:
                pending.waiting.append(lambda: self._confirm(frame, report, writer, received))
            return
        pending = _Pending()
        self.seen[key] = pending
        if unread:
            self._refuse(
                RejectReason.NOT_DECODED,
                f"manual entry from station {known.id}: {' | '.join(unread)!r} not understood "
                "(SL 330 text: identifier value pairs); the rest was taken",
                frame.raw,
                where,
                frame.station,
            )
        while len(self.seen) > SEEN:
            self.seen.popitem(last=False)
        before = self.counters.pt.get(known.id)
        got, notes = readings(known, report, self.counters)
        if report.manual:
            got = [r if r.quality is not None else replace(r, quality="manual") for r in got]
        if notes:
            log.debug("sl651 %s serial %d: %s", known.id, report.serial, "; ".join(notes))
        counter = self.counters.pt.get(known.id)
        changed = [(known.id, *counter)] if counter is not None and counter != before else []

        def stored() -> None:
            if self.memory is not None:
                self.memory.remember([key], changed)

        def confirm() -> None:
            if key in self.seen:
                self.seen[key] = None
            self._confirm(frame, report, writer, received)
            for other in pending.waiting:
                other()

        payload = _encode.encode([r.to_json() for r in got])
        topic = f"sl651/{known.id}/{frame.fc}"
        item = Incoming(payload, topic, "batch", "sl651", {}, confirm)
        if self.memory is not None:
            item.stored = stored
        await self.put(item)

    # -- answers and refusals --------------------------------------------------------

    def _confirm(
        self, frame: Frame, report: Report, writer: asyncio.StreamWriter, received: float
    ) -> None:
        end = End.ESC if self.settings.stay_online else End.EOT
        if frame.ascii:
            text = f"{report.serial:04X}{report.sent:%y%m%d%H%M%S}".encode()
            answer = confirmation(frame, text, end)
        else:
            answer = confirmation(frame, frame.body[:8], end)
        if self._send(writer, answer, ascii=frame.ascii):
            self.confirmed += 1
            took = time.monotonic() - received
            self.confirm_counts[bisect.bisect_left(CONFIRM_BUCKETS, took)] += 1
            self.confirm_seconds += took
            if self.on_confirm is not None:
                self.on_confirm(took)

    @staticmethod
    def _send(writer: asyncio.StreamWriter, frame: Frame, *, ascii: bool) -> bool:
        if writer.is_closing():
            return False  # the RTU left: it resends, and is confirmed then
        writer.write(ascii_mode.encode(frame) if ascii else hex_mode.encode(frame))
        return True

    def _junk(self, junk: Junk, where: str) -> None:
        station = _address(junk.raw)
        self._refuse(
            RejectReason.BAD_FRAME, f"{junk.reason}: {junk.detail}", junk.raw, where, station
        )

    def _refuse(
        self, reason: RejectReason, detail: str, raw: bytes, where: str, station: str | None
    ) -> None:
        address = station or "unknown"
        self.refused[(address, reason.value)] += 1
        text = f"{detail} (station address {address})" if station else detail
        self.reject([Rejected(reason, text, raw=raw.hex().upper(), source=where)])


def _manual(report: Report) -> list[str]:
    """Replace a manual entry's SL 330 text by the elements it gives; return
    the parts not understood."""
    elements = []
    unread: list[str] = []
    for e in report.elements:
        if e.name != "RGZS":
            elements.append(e)
            continue
        got, rest = manual.parse(str(e.value), e.time or report.sent)
        elements.extend(got)
        unread.extend(rest)
    report.elements = elements
    report.manual = True
    return unread


def _write_synced(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically and durably (temp file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".part")
    with open(temp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


def _address(raw: bytes) -> str | None:
    """The station address of what looks like a frame's header (for the counters)."""
    if raw[:2] == hex_mode.START and len(raw) >= 8:
        return raw[3:8].hex().upper()
    if raw[:1] == b"\x01" and len(raw) >= 13:
        return raw[3:13].decode("ascii", "replace")
    return None
