"""MQTT topic patterns with named fields: `hydro/{town}/{station}/{kind}`.

A `{name}` segment matches one topic level (like `+`) and its value is read
from the topic; `+` and `#` keep their MQTT meaning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_FIELD = re.compile(r"^\{([a-z_][a-z0-9_]*)\}$")
UNMATCHED = "_unmatched"  # the field marking a topic that matched no pattern


@dataclass(frozen=True)
class TopicPattern:
    pattern: str
    filter: str  # what to subscribe to
    regex: re.Pattern[str]

    def match(self, topic: str) -> dict[str, str] | None:
        """The named fields of `topic`, or None when it does not match."""
        found = self.regex.match(topic)
        return None if found is None else found.groupdict()


def compile_topic(pattern: str) -> TopicPattern:
    if not pattern:  # MQTT has no empty filter: the subscription would fail at start
        raise ValueError("a topic pattern cannot be empty")
    filters: list[str] = []
    parts: list[str] = []
    levels = pattern.split("/")
    for i, level in enumerate(levels):
        named = _FIELD.match(level)
        if named:
            if f"(?P<{named.group(1)}>" in "".join(parts):
                raise ValueError(f"field {level} is named twice in {pattern!r}")
            filters.append("+")
            parts.append(f"(?P<{named.group(1)}>[^/]+)")
        elif level == "+":
            filters.append("+")
            parts.append("[^/]+")
        elif level == "#":
            if i != len(levels) - 1:
                raise ValueError(f"'#' must be the last level of {pattern!r}")
            filters.append("#")
            parts.append(".*")
        elif "{" in level or "}" in level or "+" in level or "#" in level:
            raise ValueError(f"level {level!r} of {pattern!r} mixes a field with text")
        else:
            filters.append(level)
            parts.append(re.escape(level))
    regex = "/".join(parts)
    if regex.endswith("/.*"):  # `a/#` also matches `a`
        regex = regex[:-3] + "(?:/.*)?"
    return TopicPattern(pattern, "/".join(filters), re.compile(f"^{regex}$"))


def route(patterns: Sequence[tuple[TopicPattern, str]], topic: str) -> tuple[str, dict[str, str]]:
    """The format and the fields of the first (pattern, format) that `topic`
    matches. A topic that matches none (received through a shared or an
    overlapping filter) gets the first format and the `UNMATCHED` mark: it is
    refused as `bad_topic`, never decoded."""
    for pattern, fmt in patterns:
        fields = pattern.match(topic)
        if fields is not None:
            return fmt, fields
    return patterns[0][1], {UNMATCHED: "1"}
