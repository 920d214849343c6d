"""SMS parts: a long text cut at natural boundaries. Pure.

A text longer than one SMS goes as numbered parts "(1/2)", "(2/2)", each at
most the provider's segment length, a drill's every part starting 【演练】.
Cuts fall, in order of preference, after a sentence (。！？), after a clause
(，；：、 or a space), or between two words; never inside a number with its
unit ("312.00米", "0.054立方米每秒", "305～313米", "0.37 m/h"), inside a
【headline】 with its item number, or inside the reply instruction
("收到请回复3751。"). A part is cut after a sentence only when that keeps at
least half of the room filled, so no part is a stub; a grouped message is
cut between its items where it can, and a reply instruction is never alone
at the start of a part.

Beyond `max_segments` the text is trimmed at a boundary with "…"; the reply
instruction of a single alert's text is kept at its end, so a trimmed
call-and-answer message can still be answered. (Grouped messages are built
to fit: `fits`.)
"""

from __future__ import annotations

import re

from floodwatch.alerts.messages import EXERCISE_ZH

UNITS = "立方米每秒|米/小时|米每小时|毫米|分钟|小时|米|秒|天|条|m³/s|m/h|mm|min|h|m|s|%"
NUMBER = r"[+\-−]?\d+(?:\.\d+)?"
REPLY = re.compile(r"收到请回复\d+。?")
# Units that are words must end at a word boundary: "312.00 m" but not "3 min" → "3 m|in".
_ATOM = re.compile(
    rf"{REPLY.pattern}"
    r"|(?:\d+\.)?【[^】]{0,30}】"
    rf"|{NUMBER}(?:[～~\-]{NUMBER})?(?:\s?(?:{UNITS})(?![A-Za-z]))?"
    r"|\([0-9]+/[0-9]+\)"
    r"|[A-Za-z][A-Za-z'’-]*"
)
ITEM = re.compile(r"\d+\.【")
SENTENCE_END = "。！？!?"
CLAUSE_END = "，；：、,;: "
ELLIPSIS = "…"


def atoms(text: str) -> list[str]:
    """The text as pieces no cut may fall inside: numbers with their units,
    headlines, reply instructions, words; every other character alone."""
    out: list[str] = []
    pos = 0
    for match in _ATOM.finditer(text):
        out.extend(text[pos : match.start()])
        out.append(match.group())
        pos = match.end()
    out.extend(text[pos:])
    return out


def _cuts(pieces: list[str]) -> list[tuple[int, int]]:
    """(offset, rank) of every place a cut may fall: 3 before the next item
    of a grouped message, 2 after a sentence, 1 after a clause, 0 between two
    pieces. Never right before a reply instruction: it stays with the
    sentence it answers."""
    cuts = []
    offset = 0
    for piece, after in zip(pieces, [*pieces[1:], ""], strict=True):
        offset += len(piece)
        rank = 0
        if REPLY.fullmatch(after):
            rank = 0
        elif ITEM.match(after):
            rank = 3
        elif piece[-1] in SENTENCE_END or REPLY.fullmatch(piece):
            rank = 2
        elif piece[-1] in CLAUSE_END:
            rank = 1
        cuts.append((offset, rank))
    return cuts


def _best_cut(cuts: list[tuple[int, int]], start: int, room: int) -> int:
    """Where the part starting at `start` ends (an offset into the text)."""
    fitting = [(offset, rank) for offset, rank in cuts if start < offset <= start + room]
    if not fitting:
        return start + room  # one piece longer than a part: the only way is through it
    for rank, share in ((3, 0.34), (2, 0.5), (1, 0.34)):
        best = [offset for offset, r in fitting if r >= rank]
        if best and best[-1] - start >= room * share:
            return best[-1]
    return fitting[-1][0]


def split(text: str, room: int) -> list[str]:
    """Cut `text` into parts of at most `room` characters at the best
    boundaries; "".join(split(text, room)) == text."""
    if len(text) <= room:
        return [text]
    cuts = _cuts(atoms(text))
    parts = []
    start = 0
    while start < len(text):
        if len(text) - start <= room:
            parts.append(text[start:])
            break
        end = _best_cut(cuts, start, room)
        parts.append(text[start:end])
        start = end
    return parts


def _room(chars: int, prefix: str, most: int) -> int:
    return chars - len(prefix) - len(f"({most}/{most})")


def segments(text: str, chars: int, max_segments: int) -> list[str]:
    """The parts of one SMS text, numbered when more than one (see the module
    docstring); a drill's prefix starts every part."""
    if len(text) <= chars:
        return [text]
    prefix = EXERCISE_ZH if text.startswith(EXERCISE_ZH) else ""
    body = text.removeprefix(prefix)
    room = _room(chars, prefix, max_segments)
    parts = split(body, room)
    if len(parts) > max_segments:
        parts = _trimmed(body, room, max_segments)
    total = len(parts)
    return [f"{prefix}({i}/{total}){part}" for i, part in enumerate(parts, 1)]


def _trimmed(body: str, room: int, most: int) -> list[str]:
    """`most` parts of `body`, the last ending "…" and the reply instruction."""
    tail = ""
    found = list(REPLY.finditer(body))
    keep = len(found) == 1 and found[0].end() == len(body)  # one alert's: keep it answerable
    if keep and len(found[0].group()) + len(ELLIPSIS) <= room:
        tail = found[0].group()
        body = body[: found[0].start()]
    head = split(body, room)[: most - 1]
    rest = body[sum(len(p) for p in head) :]
    last_room = room - len(ELLIPSIS) - len(tail)
    last = split(rest, last_room)[0] if last_room > 0 else ""
    return [*head, last + ELLIPSIS + tail]


def fits(text: str, chars: int, max_segments: int) -> bool:
    """Whether `text` goes in `max_segments` parts untrimmed."""
    if len(text) <= chars:
        return True
    prefix = EXERCISE_ZH if text.startswith(EXERCISE_ZH) else ""
    body = text.removeprefix(prefix)
    return len(split(body, _room(chars, prefix, max_segments))) <= max_segments
