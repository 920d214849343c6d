"""Without the `backtest` extra, `floodwatch backtest` says what to install.

Each case runs the command in a fresh interpreter in which the package cannot
be imported (`sys.modules[name] = None`, what Python does for a module that is
not there), so nothing imported by other tests hides the failure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from floodwatch.backtest import extra
from floodwatch.backtest.pdf import write_pdf

OWN_TEST_OF = ("floodwatch.backtest.extra",)

ROOT = Path(__file__).resolve().parents[2]
INSTALL = "pip install 'floodwatch[backtest]'"
LINE = (
    '{"station": "maokeng-pond", "kind": "level", "value": 309.1, "ts": "2026-07-07T00:00:00Z"}\n'
)


def backtest_without(
    blocked: list[str], history: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None\n"
        "from floodwatch.cli.app import main\n"
        "main()\n"
    )
    command = ["backtest", "--config", str(ROOT / "config"), "--input", str(history), "--quiet"]
    return subprocess.run(
        [sys.executable, "-c", code, *command, "--report", str(history.parent / "out"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_each_missing_package_is_named_with_the_extra_to_install(tmp_path: Path) -> None:
    history = tmp_path / "history.parquet"
    history.write_text("")
    result = backtest_without(["pyarrow", "matplotlib", "weasyprint"], history)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"floodwatch backtest: pyarrow is not installed (needed for CSV and Parquet history): "
        f"{INSTALL}",
        f"matplotlib is not installed (needed for the plots): {INSTALL}",
        f"weasyprint is not installed (needed for the PDF report): {INSTALL}",
    ]
    assert not (tmp_path / "out").exists()  # refused before the run: nothing written


@pytest.mark.parametrize(
    ("name", "pdf", "missing"),
    [
        ("h.jsonl", True, ["matplotlib", "weasyprint"]),
        ("h.jsonl", False, ["matplotlib"]),
        ("h.csv", False, ["pyarrow", "matplotlib"]),
        ("h.PARQUET", True, ["pyarrow", "matplotlib", "weasyprint"]),
    ],
)
def test_a_run_asks_only_for_what_it_needs(
    monkeypatch: pytest.MonkeyPatch, name: str, pdf: bool, missing: list[str]
) -> None:
    for module in ("pyarrow", "matplotlib", "weasyprint"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(extra.MissingExtraError) as caught:
        extra.check(Path(name), pdf)
    assert [line.split(" ", 1)[0] for line in str(caught.value).splitlines()] == missing


def test_nothing_is_asked_for_when_all_is_installed() -> None:
    extra.check(Path("h.parquet"), pdf=True)


def test_the_pdf_writer_itself_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For code that calls the report writers directly, not through the CLI."""
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with pytest.raises(extra.MissingExtraError, match=r"pip install 'floodwatch\[backtest\]'"):
        write_pdf("<p>report</p>", tmp_path / "report.pdf")
