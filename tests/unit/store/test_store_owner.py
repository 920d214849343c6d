"""`floodwatch/store/` is the only owner of floodwatch's own SQL: no module
outside it runs a statement (`.execute(`, `.executemany(`, `.executescript(`)
— except the readers of other systems' databases (`FOREIGN`) — or even holds
the store's connection (`store.db`): it calls the repositories. And no
transaction spans an `await`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "floodwatch"
SQL_CALL = re.compile(r"\.execute(?:many|script)?\(")
# Reading another system's database (not the store): the SL 323 import.
FOREIGN = {"ingest/sl323/tables.py"}


def test_no_sql_outside_the_store_package() -> None:
    found = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "store" and SQL_CALL.search(path.read_text())
    }
    assert found - FOREIGN == set(), f"SQL outside floodwatch/store/: {sorted(found - FOREIGN)}"


def test_nothing_outside_the_store_package_takes_its_connection() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "store"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == "db"
    ]
    assert found == [], f"the store's connection used outside floodwatch/store/: {found}"


def test_no_transaction_spans_an_await() -> None:
    """The store is used from the event loop only; a transaction that awaited
    would let an API write (or another step) run inside it."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.With | ast.AsyncWith):
                continue
            if not any("transaction" in ast.unparse(i.context_expr) for i in node.items):
                continue
            waits = (ast.Await, ast.AsyncFor, ast.AsyncWith)
            if any(isinstance(n, waits) for part in node.body for n in ast.walk(part)):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == [], f"a transaction awaits: {found}"
