"""The `floodwatch` program's entry point (the console script and `python -m
floodwatch`). Stop signals are held before the command line's modules are
imported, which takes seconds on a loaded machine (`floodwatch.service.signals`)."""

from __future__ import annotations

from floodwatch.service import signals


def main() -> None:
    signals.hold()
    from floodwatch.cli.app import main as command_line

    command_line()
