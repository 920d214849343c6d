"""Config errors a hydrologist can act on: file, line, column, key path, message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

Loc = tuple[str | int, ...]


def format_loc(loc: Loc) -> str:
    """`("rules", 3, "levels", "red")` → `rules[3].levels.red`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True)
class ConfigIssue:
    file: Path | None
    line: int | None
    column: int | None
    loc: Loc
    message: str

    def __str__(self) -> str:
        where = str(self.file) if self.file is not None else "<config>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        key = format_loc(self.loc)
        return f"{where}: {key}: {self.message}" if key else f"{where}: {self.message}"


class ConfigError(Exception):
    """Every problem found in a config directory, not only the first."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues = sorted(
            issues, key=lambda i: (str(i.file or ""), i.line or 0, i.column or 0, i.message)
        )
        super().__init__(self.report())

    def report(self) -> str:
        count = len(self.issues)
        head = f"{count} problem{'s' if count != 1 else ''} in the configuration:"
        return "\n".join([head, *(f"  {issue}" for issue in self.issues)])
