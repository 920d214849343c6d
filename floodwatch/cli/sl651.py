"""`floodwatch sl651 …`: tools for SL 651-2014 telemetry."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from floodwatch.readings import Reading
    from floodwatch.rules.compile import CompiledConfig


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


@click.command("sl651-gateway")
@click.option(
    "--config",
    "config_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="config directory (service.sl651, and service.kafka or service.mqtt)",
)
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text")
def gateway_cmd(config_dir: Path, log_format: str) -> None:
    """Receive SL 651 RTUs and forward their readings to the Kafka topic, keyed by
    station (or to MQTT); each report confirmed once the broker has it."""
    from floodwatch.cli.options import load_or_exit
    from floodwatch.ingest.sl651.gateway import run_gateway
    from floodwatch.logs import setup_logging
    from floodwatch.service.lifecycle import _stop_on_signals
    from floodwatch.store.sl651 import GatewayState

    setup_logging(log_format)
    loaded = load_or_exit(config_dir)

    async def main() -> int:
        stopping = asyncio.Event()
        _stop_on_signals(stopping)
        return await run_gateway(loaded, stopping, GatewayState)

    sys.exit(asyncio.run(main()))


def send_storm(
    readings: Sequence[Reading],
    compiled: CompiledConfig,
    to: str,
    count: int | None,
    pace: float,
    hourly: bool,
) -> None:
    """`floodwatch simulate --sl651`: the readings as RTUs of the config's stations."""
    from floodwatch.ingest.sl651.player import play, play_hourly

    host, _, port = to.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"HOST:PORT, got {to!r}", param_hint="--sl651")
    stations = [s for s in compiled.config.stations if s.sl651 is not None]
    if not stations:
        raise click.ClickException("no station of the config has an sl651: block")
    if count is not None:
        if count > len(stations):
            raise click.ClickException(
                f"--stations {count}: the config has {len(stations)} SL 651 stations"
            )
        stations = stations[:count]
    if hourly:
        sent = asyncio.run(play_hourly(readings, stations, host, int(port)))
    else:
        sent = asyncio.run(play(readings, stations, host, int(port), pace=pace))
    click.echo(
        f"{len(stations)} RTUs: {sent.reports} reports confirmed, {sent.frames} frames sent, "
        f"{sent.resent} sent again",
        err=True,
    )
