"""floodwatch modules that no test imports directly: `python -m tests.untested_modules`.

A module counts as imported when a file under tests/ says `from <module> import`,
`import <module>` or `from <package> import <module>`. Modules reached only
through a package facade (`from floodwatch.store import Store`), the registry,
the CLI in a subprocess or the web app are listed: tests/README.md says what
covers each of them indirectly.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_by_tests(tests: Path) -> set[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in tests.rglob("*.py"))
    found: set[str] = set()
    for m in re.finditer(r"^\s*from (floodwatch[\w.]*) import ([^\n(]+|\([^)]*\))", text, re.M):
        found.add(m.group(1))
        found.update(f"{m.group(1)}.{name}" for name in re.findall(r"\w+", m.group(2)))
    found.update(re.findall(r"^\s*import (floodwatch[\w.]*)", text, re.M))
    return found


def untested(root: Path = ROOT) -> list[tuple[str, int]]:
    """(dotted module, lines) for each floodwatch module no test imports."""
    seen = imported_by_tests(root / "tests")
    out = []
    for path in sorted((root / "floodwatch").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        if module.endswith("__init__") or module in seen:
            continue
        out.append((module, len(path.read_text(encoding="utf-8").splitlines())))
    return out


if __name__ == "__main__":
    for module, lines in untested():
        print(f"{module:48} {lines:4}")
