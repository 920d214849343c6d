"""`floodwatch sl651 …`: tools for SL 651-2014 telemetry."""

from __future__ import annotations

import json
import sys

import click


@click.group("sl651")
def sl651() -> None:
    """SL 651-2014 telemetry frames (水文监测数据通信规约)."""


@sl651.command("decode")
@click.argument("frames", nargs=-1)
def decode_cmd(frames: tuple[str, ...]) -> None:
    """Decode frames pasted from RTU logs (hex, spaces allowed; `-` or nothing:
    one frame per line on stdin) into JSON, one line each; exit 1 naming the
    reason when a frame is bad."""
    from floodwatch.ingest.sl651.codec import describe

    lines = list(frames) if frames and frames != ("-",) else sys.stdin.read().splitlines()
    bad = 0
    for line in lines:
        text = "".join(line.split())
        if not text:
            continue
        if line.lstrip()[:1] == "\x01":  # an ASCII-mode frame as received
            raw = line.strip().encode("latin-1", "replace")
        else:
            try:
                raw = bytes.fromhex(text)
            except ValueError:
                raise click.ClickException(f"not hex: {text[:40]!r}") from None
        for item in describe(raw):
            click.echo(json.dumps(item, ensure_ascii=False, default=str))
            if "error" in item:
                bad += 1
                click.echo(f"bad frame: {item['error']}: {item['detail']}", err=True)
    if bad:
        sys.exit(1)
