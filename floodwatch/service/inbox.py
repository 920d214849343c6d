"""The inbox: what an engine step took in over MQTT (and its idle ticks) since the
last snapshot, kept so that a restart can repeat those steps exactly.

Each row holds the message as received and everything its decoding depended
on: the topic, the fields read from the topic (`{"station": …, "kind": …}`,
or the mark of a topic that matched no pattern), the format, and the decoder
it was decoded with — the format's full definition (field mapping, payload
limit), stored once under a content hash in `inbox_decoders`. Replaying a row
therefore decodes it as it was decoded live, whatever the configuration says
by the time the service comes back. Each row also records how its live decode
came out (readings, rejected), so a replay can tell whether its rejects were
dead-lettered already.

The tables, their schema versions and their SQL are `store/inbox.py`'s (a
version 1 row, from before topic fields were kept, has its topic fields read
again from the topic with the configured patterns on replay).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import msgspec
import msgspec.structs

from floodwatch.config.topics import TopicPattern, route
from floodwatch.ingest.decode import Decoders, spec_id
from floodwatch.ingest.source import Incoming
from floodwatch.readings import Rejected
from floodwatch.service.shards import LOCAL
from floodwatch.service.tick import Tick
from floodwatch.store.inbox import Entry, InboxRow

log = logging.getLogger("floodwatch.service")

TICK = "tick"  # the source of an idle-advance tick (its payload: the target time, epoch ms)
WALL = "wall"  # the first row of a step: the wall clock it ran at (its engines' bound), epoch ms

# -- what a step logs, and what a replay makes of it ----------------------------------


def wall_entry(wall_ms: int) -> Entry:
    """The row giving the wall clock a step ran at (replayed before its messages)."""
    return Entry(WALL, "", "", str(wall_ms).encode(), {}, None, None)


def entry(item: Incoming | Tick, decoders: Decoders) -> Entry:
    """The row of a message (after its live decode, `item.decoded`) or a tick."""
    if isinstance(item, Tick):
        fields = {"shard": item.shard}
        return Entry(TICK, TICK, TICK, str(item.target_ms).encode(), fields, None, None)
    decoder = decoders.spec(item.fmt)
    return Entry(
        item.source, item.topic, item.fmt, item.payload, item.fields, decoder, item.decoded
    )


def tick(row: InboxRow) -> Tick:
    """The tick of a `TICK` row."""
    return Tick((row.fields or {}).get("shard", LOCAL), int(row.payload))


def incoming(
    row: InboxRow, patterns: Sequence[tuple[TopicPattern, str]]
) -> tuple[Incoming, Decoders | None]:
    """The message of a row as it was received, and the decoders it was decoded
    with live (None: not recorded — a version 1 row; decode with today's). A
    version 1 row's topic fields are read again from its topic with today's
    `patterns` (the live service did the same when it received it)."""
    fields = row.fields
    if fields is None:
        fields = {} if not patterns else route(patterns, row.topic)[1]
    item = Incoming(row.payload, row.topic, row.format, row.source, dict(fields))
    if row.decoder is None:
        return item, None
    try:
        decoders = Decoders.from_spec(row.decoder)
    except (ValueError, KeyError, TypeError) as exc:  # written by another release
        log.error(
            "inbox row %d: its decoder cannot be read (%s); decoding with today's", row.seq, exc
        )
        return item, None
    item.decoder = spec_id(row.decoder)
    return item, decoders


def replay_rejects(
    item: Incoming, decoders: Decoders, outcome: tuple[int, int] | None
) -> list[Rejected]:
    """What the replay of a message must dead-letter: nothing when it decodes as
    it did live (its rejects went to the dead-letter then, in the transaction
    that logged it); otherwise — decoded differently, or how it decoded live
    was not recorded — every reject of the replay, marked as such."""
    got, bad = decoders.decode_incoming(item)
    if outcome is not None and (len(got), len(bad)) == outcome:
        return []
    if outcome is not None:
        log.error(
            "inbox message from %s decoded to %d readings and %d rejects on replay, "
            "%d and %d when received",
            item.origin,
            len(got),
            len(bad),
            *outcome,
        )
    return [
        msgspec.structs.replace(
            r, detail=f"{r.detail} (replayed from the inbox)", source=f"inbox:{r.source}"
        )
        for r in bad
    ]
