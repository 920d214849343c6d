"""The slips of a Chinese keyboard and of editors, found before YAML parses.

A full-width colon (`name：山塘`), a tab in the indentation, a full-width space,
bracket or comma where YAML wants the ASCII one, a byte-order mark inside the
file, a file saved as GBK or UTF-16, or with GBK lines pasted into UTF-8 text:
YAML's own errors for these point at the wrong line ("could not find expected
':'" on the line after) or quote the parser ("found character '\\t' that cannot
start any token"). `decode` and `slips` report each at its own line and column,
with the key path where the line shows it and what to type instead.

Only the structure is checked: keys, indentation, the separator after a key or
a list dash, and flow collections (`[1, 2]`, `{a: 1}`). Text in values, quoted
strings, comments and block scalars (`|`, `>`) may hold any character.
A UTF-8 byte-order mark at the very start is read fine and is only a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from floodwatch.config.errors import ConfigIssue, Loc

# Full-width character → what to type instead, and its name in the message.
FULL_WIDTH = {
    "：": (":", "colon"),
    "，": (",", "comma"),
    "（": ("(", "bracket"),
    "）": (")", "bracket"),
    "［": ("[", "bracket"),
    "］": ("]", "bracket"),
    "【": ("[", "bracket"),
    "】": ("]", "bracket"),
    "｛": ("{", "brace"),
    "｝": ("}", "brace"),
    "　": (" ", "space"),
    "－": ("-", "dash"),
    "；": (";", "semicolon"),
}
KEY_LIKE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
BLOCK_SCALAR = re.compile(r"[|>][-+0-9]*")
MAX_ENCODING_LINES = 10


@dataclass
class Decoded:
    """A file's text (None when it cannot be read as UTF-8), its problems and notes."""

    text: str | None
    issues: list[ConfigIssue] = field(default_factory=list)
    notes: list[ConfigIssue] = field(default_factory=list)


def decode(file: Path, raw: bytes) -> Decoded:
    """UTF-8 text, or each line that is not UTF-8 reported with what it reads as."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Decoded(None, [_at(file, 1, 1, "saved as UTF-16; save the file as UTF-8")])
    out = Decoded(None)
    if raw.startswith(b"\xef\xbb\xbf"):
        out.notes.append(
            _at(
                file,
                1,
                1,
                "starts with a byte-order mark (BOM); read fine, but other tools show it as "
                "a stray character: save as UTF-8 without BOM",
            )
        )
    try:
        out.text = raw.decode("utf-8")
        return out
    except UnicodeDecodeError:
        pass
    lines = raw.split(b"\n")
    utf8_text = any(_utf8(line) is not None and not line.isascii() for line in lines)
    bad = [(number, line) for number, line in enumerate(lines, 1) if _utf8(line) is None]
    for number, line in bad[:MAX_ENCODING_LINES]:
        out.issues.append(_encoding_issue(file, number, line, mixed=utf8_text))
    if len(bad) > MAX_ENCODING_LINES:
        more = len(bad) - MAX_ENCODING_LINES
        out.issues.append(_at(file, bad[-1][0], None, f"… and {more} more lines not in UTF-8"))
    return out


def _utf8(line: bytes) -> str | None:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _encoding_issue(file: Path, number: int, line: bytes, *, mixed: bool) -> ConfigIssue:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = len(line[: exc.start].decode("utf-8", "replace")) + 1
        byte = line[exc.start]
    try:
        reads = line.decode("gb18030").strip()
    except UnicodeDecodeError:
        reads = None
    else:  # the first character that is not ASCII, as GBK
        column = len(line[: next(i for i, b in enumerate(line) if b > 0x7F)]) + 1
    if reads is None:
        return _at(file, number, column, f"byte 0x{byte:02X} is not UTF-8; save the file as UTF-8")
    shown = reads if len(reads) <= 40 else reads[:39] + "…"
    if mixed:
        return _at(
            file,
            number,
            column,
            f"this line is GBK (reads as '{shown}') in a UTF-8 file (mixed encodings): "
            "type the line again in UTF-8",
        )
    return _at(
        file,
        number,
        column,
        f"the file is GBK (this line reads as '{shown}'), not UTF-8: save it as UTF-8 "
        "(in the editor: Save with Encoding → UTF-8; or `iconv -f GB18030 -t UTF-8`)",
    )


def _at(file: Path, line: int, column: int | None, message: str, loc: Loc = ()) -> ConfigIssue:
    return ConfigIssue(file, line, column, loc, message)


class _Keys:
    """Best-effort key path of each line, from indentation and list dashes."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str | int, bool]] = []  # (indent, part, is_item)
        self.items: dict[Loc, int] = {}

    def path(self) -> Loc:
        return tuple(part for _, part, _ in self.stack)

    def line(self, indent: int, content: str) -> tuple[int, str]:
        """Take a line; return the column and text of what follows its dashes."""
        dash = content.startswith("- ") or content == "-"
        while self.stack and (
            self.stack[-1][0] > indent
            or (self.stack[-1][0] == indent and not (dash and not self.stack[-1][2]))
        ):
            self.stack.pop()
        while content.startswith("- ") or content == "-":
            parent = self.path()
            index = self.items.get(parent, -1) + 1
            self.items[parent] = index
            self.stack.append((indent, index, True))
            rest = content[1:]
            stripped = rest.lstrip(" ")
            indent += 1 + len(rest) - len(stripped)
            content = stripped
        return indent, content

    def key(self, indent: int, key: str) -> Loc:
        self.stack.append((indent, key, False))
        self.items.pop(self.path(), None)
        return self.path()


def slips(file: Path, text: str) -> list[ConfigIssue]:
    """Every keyboard or editor slip in the YAML structure of `text`."""
    issues: list[ConfigIssue] = []
    keys = _Keys()
    block: int | None = None  # indent of the key that opened a block scalar
    for number, raw_line in enumerate(text.removeprefix("\ufeff").split("\n"), 1):
        line = raw_line.removesuffix("\r")
        for column, char in enumerate(line, 1):
            if char == "\ufeff":
                issues.append(
                    _at(
                        file,
                        number,
                        column,
                        "a byte-order mark (U+FEFF) inside the file (pasted from another "
                        "file?): delete it",
                    )
                )
        body = line.lstrip(" ")
        indent = len(line) - len(body)
        if block is not None and (not body or indent > block):
            continue
        block = None
        if not body or body.startswith("#") or body in ("---", "..."):
            continue
        lead = re.match(r"[ \t\u3000]*", line)
        whitespace = lead.group(0) if lead else ""
        if "\t" in whitespace or "\u3000" in whitespace:
            bad = min(i for i in (whitespace.find("\t"), whitespace.find("\u3000")) if i >= 0)
            what = (
                "a tab in the indentation"
                if whitespace[bad] == "\t"
                else "a full-width space '　' in the indentation"
            )
            issues.append(
                _at(
                    file,
                    number,
                    bad + 1,
                    f"{what}: YAML indents with ASCII spaces only; replace it with spaces",
                )
            )
            continue
        column, content = keys.line(indent, body)
        issues.extend(_line_slips(file, number, column, content, keys))
        key_end = _key_end(content)
        if key_end is not None:
            value = _strip_comment(content[key_end + 1 :]).strip(" ")
            if BLOCK_SCALAR.fullmatch(value):
                block = column
    return issues


def _key_end(content: str) -> int | None:
    """Index of the ASCII colon that ends a plain key, if the line starts with one."""
    if content[:1] in ("'", '"', "[", "{", "#"):
        return None
    for index, char in enumerate(content):
        if char == ":" and (index + 1 == len(content) or content[index + 1] in " \t\u3000"):
            return index
        if char == "#" and index and content[index - 1] == " ":
            return None
    return None


def _line_slips(
    file: Path, number: int, column: int, content: str, keys: _Keys
) -> list[ConfigIssue]:
    """The slips on one line whose content (after any list dashes) starts at
    0-based `column`; reported columns are 1-based, as everywhere else."""
    issues: list[ConfigIssue] = []
    first = column + 1  # the 1-based column of content[0]
    like = KEY_LIKE.match(content)
    if like and content[like.end() :].lstrip(" ").startswith("："):
        key = like.group(0)
        at = content.index("：", like.end())
        loc = keys.key(column, key)
        issues.append(
            _at(
                file,
                number,
                first + at,
                f"full-width colon '：' after {key!r}: type an ASCII colon and a space ('{key}: ')",
                loc,
            )
        )
        return issues
    end = _key_end(content)
    value_start = 0
    if end is not None:
        key_text = content[:end]
        loc = keys.key(column, key_text.strip())
        for offset, char in enumerate(key_text):
            if char in FULL_WIDTH:
                ascii_char, name = FULL_WIDTH[char]
                instead = "delete it" if char == "　" else f"type '{ascii_char}' instead"
                issues.append(
                    _at(
                        file,
                        number,
                        first + offset,
                        f"full-width {name} '{char}' in the key {key_text.strip()!r}: {instead}",
                        loc,
                    )
                )
        if content[end + 1 : end + 2] in ("\t", "\u3000"):
            what = "a tab" if content[end + 1] == "\t" else "a full-width space '　'"
            issues.append(
                _at(
                    file,
                    number,
                    first + end + 1,
                    f"{what} after ':': type an ASCII space",
                    loc,
                )
            )
        value_start = end + 1
    else:
        loc = keys.path()
    value = content[value_start:]
    stripped = value.lstrip(" ")
    issues.extend(
        _flow_slips(file, number, first + value_start + len(value) - len(stripped), stripped, loc)
    )
    return issues


def _flow_slips(file: Path, number: int, column: int, value: str, loc: Loc) -> list[ConfigIssue]:
    """Full-width brackets, commas and colons in a flow collection (`[1, 2]`, `{a: 1}`)."""
    if value[:1] in ("［", "｛", "【"):
        ascii_char, name = FULL_WIDTH[value[0]]
        return [
            _at(
                file,
                number,
                column,
                f"full-width {name} '{value[0]}' starts a list or mapping: type '{ascii_char}' "
                "(and ASCII commas and colons inside)",
                loc,
            )
        ]
    if value[:1] not in ("[", "{"):
        return []
    issues = []
    quote: str | None = None
    for offset, char in enumerate(value):
        if quote:
            quote = None if char == quote else quote
        elif char in ("'", '"'):
            quote = char
        elif char == "#" and value[offset - 1] == " ":
            break
        elif char in FULL_WIDTH and char != "　" and _after_ascii(value, offset):
            ascii_char, name = FULL_WIDTH[char]
            issues.append(
                _at(
                    file,
                    number,
                    column + offset,
                    f"full-width {name} '{char}' in a list or mapping: type '{ascii_char}' instead",
                    loc,
                )
            )
    return issues


def _after_ascii(value: str, offset: int) -> bool:
    """The full-width mark follows ASCII (`level，rain`, `1h：30`): a slip of the
    keyboard. After Chinese (`{zh: 毛坑山塘，上游}`) it is punctuation in the text."""
    before = value[:offset].rstrip(" ")
    return bool(before) and before[-1].isascii()


def _strip_comment(text: str) -> str:
    at = text.find(" #")
    return text if at < 0 else text[:at]
