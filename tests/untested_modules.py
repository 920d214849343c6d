"""Which floodwatch modules have a test module of their own.

A module has logic when one of its functions branches or loops. Each module
with logic has its own test module (`tests/test_every_module_tested.py` holds
the rule):

- at the mirrored path: `floodwatch/a/b.py` → `tests/unit/a/test_b.py`
  (a package's `__init__.py` → `tests/unit/a/test_<package>.py` beside it), or
- a test module elsewhere that names it in `OWN_TEST_OF = ("floodwatch.a.b",)`
  (an integration test against real brokers is the own test of a source, say),

and that test module imports it by name. `python -m tests.untested_modules`
lists the modules without one.

A module counts as imported when a file says `from <module> import`,
`import <module>` or `from <package> import <module>`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A function whose body has one of these decides something: the module has logic.
_BRANCHES = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.Try,
    ast.Match,
    ast.IfExp,
    ast.BoolOp,
    ast.comprehension,
    ast.With,
    ast.AsyncWith,
)

_OWN = re.compile(r"^OWN_TEST_OF\s*=\s*\(([^)]*)\)", re.M)


def imported_by_tests(tests: Path) -> set[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in tests.rglob("*.py"))
    return imported_in(text)


def imported_in(text: str) -> set[str]:
    found: set[str] = set()
    for m in re.finditer(r"^\s*from (floodwatch[\w.]*) import ([^\n(]+|\([^)]*\))", text, re.M):
        found.add(m.group(1))
        found.update(f"{m.group(1)}.{name}" for name in re.findall(r"\w+", m.group(2)))
    found.update(re.findall(r"^\s*import (floodwatch[\w.]*)", text, re.M))
    return found


def has_logic(path: Path) -> bool:
    """Whether a function or method of the module branches or loops."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(sub, _BRANCHES)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for sub in ast.walk(node)
    )


def mirrored(module: str, root: Path = ROOT) -> Path:
    """The mirrored test module of a dotted module name."""
    parts = module.split(".")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    parts = parts[1:] or parts  # floodwatch/__init__.py → tests/unit/test_floodwatch.py
    return root.joinpath("tests", "unit", *parts[:-1], f"test_{parts[-1]}.py")


def own_tests(root: Path = ROOT) -> dict[str, list[Path]]:
    """module → its own test modules (mirrored, or naming it in OWN_TEST_OF),
    each of which imports it by name."""
    out: dict[str, list[Path]] = {}
    for test in sorted((root / "tests").rglob("test_*.py")):
        text = test.read_text(encoding="utf-8")
        imported = imported_in(text)
        claimed = [m for block in _OWN.findall(text) for m in re.findall(r"[\w.]+", block)]
        for module in claimed:
            if module in imported:
                out.setdefault(module, []).append(test)
    for path in sorted((root / "floodwatch").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        test = mirrored(module, root)
        if test.exists() and module.removesuffix(".__init__") in imported_in(
            test.read_text(encoding="utf-8")
        ):
            out.setdefault(module, []).append(test)
    return out


def without_own_test(root: Path = ROOT) -> list[tuple[str, int]]:
    """(dotted module, lines) of each module with logic and no test module of its own."""
    own = own_tests(root)
    out = []
    for path in sorted((root / "floodwatch").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        if module in own or not has_logic(path):
            continue
        out.append((module, len(path.read_text(encoding="utf-8").splitlines())))
    return out


def untested(root: Path = ROOT) -> list[tuple[str, int, bool]]:
    """(dotted module, lines, has logic) for each floodwatch module no test imports."""
    seen = imported_by_tests(root / "tests")
    out = []
    for path in sorted((root / "floodwatch").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        if module.endswith("__init__") or module in seen:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        out.append((module, lines, has_logic(path)))
    return out


if __name__ == "__main__":
    print("modules with logic and no test module of their own:")
    for module, lines in without_own_test():
        print(f"  {module:48} {lines:4}  (its test: {mirrored(module).relative_to(ROOT)})")
    print("modules no test imports by name (declarations only, or listed above):")
    for module, lines, logic in untested():
        print(f"  {module:48} {lines:4} {'logic' if logic else ''}")
