"""Each floodwatch module with logic has a test module of its own that imports
it by name (tests/README.md, `python -m tests.untested_modules`)."""

from __future__ import annotations

from pathlib import Path

from tests.untested_modules import ROOT, has_logic, mirrored, own_tests, without_own_test


def test_every_module_with_logic_has_a_test_module_of_its_own() -> None:
    missing = [module for module, _ in without_own_test()]
    assert not missing, (
        f"modules with logic and no test module of their own: {missing}; add "
        "tests/unit/<package>/test_<module>.py importing it, or name it in "
        "OWN_TEST_OF = (...) in the test module that is its own"
    )


def test_a_branch_counts_as_logic_and_declarations_do_not(tmp_path: Path) -> None:
    declared = tmp_path / "declared.py"
    declared.write_text("class A:\n    x: int = 1\n\ndef f() -> int:\n    return 1\n")
    branching = tmp_path / "branching.py"
    branching.write_text("def f(x: int) -> int:\n    return 1 if x else 2\n")
    assert not has_logic(declared)
    assert has_logic(branching)
    assert has_logic(ROOT / "floodwatch" / "service" / "step.py")


def test_own_tests_are_the_mirrored_path_or_a_claim_and_import_the_module(
    tmp_path: Path,
) -> None:
    assert mirrored("floodwatch.a.b", tmp_path) == tmp_path / "tests/unit/a/test_b.py"
    pkg = tmp_path / "floodwatch" / "a"
    pkg.mkdir(parents=True)
    for name in ("b", "c", "d"):
        (pkg / f"{name}.py").write_text("def f(x: int) -> int:\n    return 1 if x else 2\n")
    (tmp_path / "tests/unit/a").mkdir(parents=True)
    (tmp_path / "tests/unit/a/test_b.py").write_text("from floodwatch.a.b import f\n")
    (tmp_path / "tests/test_live.py").write_text(
        'from floodwatch.a import c\n\nOWN_TEST_OF = ("floodwatch.a.c", "floodwatch.a.d")\n'
    )
    own = own_tests(tmp_path)
    assert set(own) == {"floodwatch.a.b", "floodwatch.a.c"}  # d claimed, never imported
    assert [m for m, _ in without_own_test(tmp_path)] == ["floodwatch.a.d"]
