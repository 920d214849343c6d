"""A module over 400 lines says at the top why it is one module
(docs/architecture.md, "Complexity budget")."""

from __future__ import annotations

import ast

from tests.untested_modules import ROOT

LIMIT = 400
REASON = "Why one module over 400 lines:"


def test_each_module_over_400_lines_says_why_in_its_docstring() -> None:
    silent = []
    for path in sorted((ROOT / "floodwatch").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) <= LIMIT:
            continue
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if REASON not in docstring:
            silent.append(str(path.relative_to(ROOT)))
    assert not silent, f"over {LIMIT} lines without '{REASON} …' in the module docstring: {silent}"
