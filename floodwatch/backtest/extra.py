"""The optional packages of backtests: `pip install 'floodwatch[backtest]'`.

The core install runs the service, the demo, replay, the simulator and the
config tools. A backtest also reads CSV and Parquet history (pyarrow), draws
its episode plots (matplotlib) and lays out the PDF report (WeasyPrint); these
are the `backtest` extra, which the `test` extra includes.

Each of them is imported only where it is used, behind `need` or `missing`, so
a missing one is a `MissingExtraError` error that names the extra to install, never
a bare ImportError. `floodwatch backtest` calls `check` before it starts, so a
run that would need a missing package fails at once, not after reading months
of history.
"""

from __future__ import annotations

import importlib
from pathlib import Path

INSTALL = "pip install 'floodwatch[backtest]'"

# module -> what a backtest needs it for
PARQUET_CSV = ("pyarrow", "CSV and Parquet history")
PLOTS = ("matplotlib", "the plots")
PDF = ("weasyprint", "the PDF report")


class MissingExtraError(ImportError):
    """A package a backtest needs cannot be imported; the message says what to do."""


def missing(module: str, purpose: str) -> MissingExtraError:
    """The error for `module`, needed for `purpose`, not being installed (raise it
    `from` the ImportError)."""
    return MissingExtraError(
        f"{module} is not installed (needed for {purpose}): {INSTALL}", name=module
    )


def need(module: str, purpose: str) -> None:
    """Import `module`, or raise `MissingExtraError` saying it is needed for `purpose`."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise missing(module, purpose) from exc
    except OSError as exc:  # WeasyPrint without the system's Pango
        raise MissingExtraError(
            f"{module} cannot load a system library (needed for {purpose}): {exc}; "
            "on Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0",
            name=module,
        ) from exc


def check(history: Path, pdf: bool) -> None:
    """Raise `MissingExtraError` naming every package a backtest of `history` (and its
    PDF when `pdf`) needs but cannot import, one line each."""
    wanted = [PLOTS]
    if history.suffix.lower() in (".csv", ".parquet", ".pq"):
        wanted.insert(0, PARQUET_CSV)
    if pdf:
        wanted.append(PDF)
    problems: list[MissingExtraError] = []
    for module, purpose in wanted:
        try:
            need(module, purpose)
        except MissingExtraError as exc:
            problems.append(exc)
    if problems:
        error = MissingExtraError("\n".join(map(str, problems)), name=problems[0].name)
        raise error from problems[0].__cause__
