"""floodwatch command line: check | schema | replay | simulate | demo | run | … (`--help`).

Why one module over 400 lines: it is the click group and its commands, each a
set of option declarations and a thin shell over its package (replay, sim,
backtest, service); commands with logic of their own live beside it (`check`,
`demo`, `duty`, `backup`, `importer`, `messages`, `sl651`).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from floodwatch.alerts.state import Severity
from floodwatch.cli.options import (
    EXAMPLE_CONFIG,
    config_option,
    load,
    load_or_exit,
    scenario_option,
    store_of,
)
from floodwatch.config import ConfigError
from floodwatch.readings import Rejected, format_ts
from floodwatch.rules.compile import CompiledConfig
from floodwatch.service import signals
from floodwatch.sim import SCENARIOS, simulate

if TYPE_CHECKING:
    from floodwatch.backtest.words import Lang
    from floodwatch.replay.localtime import LocalTime
    from floodwatch.replay.rejects import RejectTally

COLOURS = {
    Severity.RED: "red",
    Severity.ORANGE: "bright_yellow",
    Severity.YELLOW: "yellow",
    Severity.BLUE: "blue",
    Severity.INFO: "white",
}


@click.group()
@click.version_option(package_name="floodwatch")
@click.pass_context
def main(ctx: click.Context) -> None:
    """floodwatch: real-time monitoring and early warning for flood control."""
    if ctx.invoked_subcommand not in HANDLE_STOP_SIGNALS:
        signals.release()  # SIGTERM ends it as usual (floodwatch.service.signals)


# they stop in order on SIGTERM, even while starting
HANDLE_STOP_SIGNALS = {"run", "bridge", "sl651-gateway"}


@main.command()
def schema() -> None:
    """Print the JSON Schema of a config file (for editor autocompletion)."""
    from floodwatch.notify.sinks import config_schema

    click.echo(json.dumps(config_schema(), ensure_ascii=False, indent=2))


timezone_option = click.option(
    "--timezone",
    default=None,
    help="zone of time stamps without an offset (e.g. Asia/Shanghai); a station's "
    "`timezone` in stations.yaml wins for its readings",
)


def _share(ctx: click.Context, param: click.Parameter, value: str) -> float:
    text = value.strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a share (e.g. 5% or 0.05)") from None
    if not 0 <= share <= 1:
        raise click.BadParameter(f"{value!r} is not between 0% and 100%")
    return share


max_rejected_option = click.option(
    "--max-rejected",
    default="5%",
    show_default=True,
    callback=_share,
    help="fail (exit 1) when more than this share of the input is refused",
)


def _local_time(compiled: CompiledConfig, timezone: str | None) -> LocalTime:
    from floodwatch.replay.localtime import LocalTime, UnknownZoneError

    try:
        return LocalTime(compiled, timezone)
    except UnknownZoneError as exc:
        raise click.BadParameter(str(exc), param_hint="--timezone") from None


def _fail_on_rejects(tally: RejectTally, limit: float) -> None:
    failure = tally.failure(limit)
    if failure is not None:
        click.echo(failure, err=True)
        sys.exit(1)


def _write_jsonl(stream: IO[str], obj: object) -> None:
    stream.write(json.dumps(obj, ensure_ascii=False) + "\n")


@main.command()
@config_option
@click.option(
    "--input",
    "input_path",
    type=click.Path(exists=True, path_type=Path),
    required=True,
    help="readings, canonical JSON Lines",
)
@click.option(
    "--output",
    "output_path",
    type=click.Path(path_type=Path),
    default=None,
    help="alert events, JSON Lines (default: stdout)",
)
@click.option(
    "--dead-letter",
    "dead_path",
    type=click.Path(path_type=Path),
    default=None,
    help="rejected readings with reasons (default: OUTPUT.rejected.jsonl, or stderr)",
)
@timezone_option
@max_rejected_option
def replay(
    config_dir: Path,
    input_path: Path,
    output_path: Path | None,
    dead_path: Path | None,
    timezone: str | None,
    max_rejected: float,
) -> None:
    """Run recorded readings through the engine and write the alert events.
    Exits 1 when more than --max-rejected of the input was refused."""
    from floodwatch.replay.rejects import RejectTally
    from floodwatch.replay.run import replay_lines

    compiled = load(config_dir)
    local = _local_time(compiled, timezone)
    out = output_path.open("w", encoding="utf-8") if output_path else sys.stdout
    if dead_path is None and output_path is not None:
        dead_path = output_path.with_suffix(".rejected.jsonl")
    dead = dead_path.open("w", encoding="utf-8") if dead_path else sys.stderr
    tally = RejectTally()

    def reject(r: Rejected) -> None:
        tally.add(r)
        _write_jsonl(dead, r.to_json())

    started = time.perf_counter()
    with input_path.open("rb") as lines:
        summary = replay_lines(
            compiled,
            lines,
            on_alert=lambda e: _write_jsonl(out, e.to_json()),
            on_reject=reject,
            source=str(input_path),
            local=local,
        )
    elapsed = time.perf_counter() - started
    if output_path:
        out.close()
    if dead_path:
        dead.close()
    click.echo(summary.text(), err=True)
    rate = summary.lines / elapsed if elapsed > 0 else 0.0
    click.echo(f"took {elapsed:.2f} s ({rate:,.0f} lines/s)", err=True)
    tally.total = summary.lines
    _fail_on_rejects(tally, max_rejected)


@main.command(name="simulate")
@scenario_option
@click.option(
    "--output",
    "output_path",
    type=click.Path(path_type=Path),
    default=None,
    help="readings, JSON Lines (default: stdout)",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z"]),
    default="2026-07-06T16:00:00Z",
    show_default=True,
    help="UTC start time",
)
@click.option("--hours", type=float, default=None, help="length (default: the scenario's)")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--spike-at",
    type=float,
    default=None,
    help="hour at which the level gauge sends one +5 m spike",
)
@click.option(
    "--silence-from", type=float, default=None, help="hour from which the level gauge falls silent"
)
@click.option(
    "--sl651",
    "sl651_to",
    metavar="HOST:PORT",
    default=None,
    help="send the readings as SL 651 RTUs to this receiver instead (docs/sl651.md)",
)
@click.option("--stations", type=int, default=None, help="--sl651: this many of the stations")
@click.option(
    "--config",
    "config_dir",
    type=click.Path(path_type=Path),
    default=EXAMPLE_CONFIG,
    show_default=True,
    help="--sl651: the stations' addresses and passwords",
)
@click.option("--pace", type=float, default=0.0, help="--sl651: seconds between sweeps")
@click.option("--hourly", is_flag=True, help="--sl651: hourly reports (34H) of 12 values")
def simulate_cmd(  # noqa: PLR0913 — one parameter per click option
    scenario: str,
    output_path: Path | None,
    start: datetime,
    hours: float | None,
    seed: int,
    spike_at: float | None,
    silence_from: float | None,
    sl651_to: str | None,
    stations: int | None,
    config_dir: Path,
    pace: float,
    hourly: bool,
) -> None:
    """Generate readings of a pond, its culvert and its rain gauge for a scenario.

    Rain → catchment runoff (linear reservoir) → pond water balance (storage–
    elevation, spillway weir, outlet culvert as an orifice that can block).
    """
    from dataclasses import replace
    from datetime import UTC

    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    sc = SCENARIOS[scenario]
    if hours is not None:
        sc = replace(sc, hours=hours)
    result = simulate(
        sc,
        start=start,
        seed=seed,
        quiet_ponds={"xiawu-pond": 203.8},
        spike_at=None if spike_at is None else start + timedelta(hours=spike_at),
        silence_from=None if silence_from is None else start + timedelta(hours=silence_from),
    )
    if sl651_to is not None:
        from floodwatch.cli.sl651 import send_storm

        send_storm(result.readings, load(config_dir), sl651_to, stations, pace, hourly)
        return
    out = output_path.open("w", encoding="utf-8") if output_path else sys.stdout
    for reading in result.readings:
        _write_jsonl(out, reading.to_json())
    if output_path:
        out.close()
    crest = format_ts(result.crest_reached) if result.crest_reached else "never"
    click.echo(
        f"{sc.name}: {sc.description}\n{len(result.readings)} readings; max level "
        f"{result.max_level:.3f} m; reaches the crest: {crest}",
        err=True,
    )


service_config_option = click.option(
    "--config",
    "config_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=EXAMPLE_CONFIG,
    show_default=True,
    help="config directory (thresholds and the `service:` section)",
)
log_format_option = click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)


@main.command()
@service_config_option
@click.option("--store", type=click.Path(path_type=Path), help="SQLite store (default: config)")
@log_format_option
def run(config_dir: Path, store: Path | None, log_format: str) -> None:
    """The live service: MQTT/Kafka in, durable alerts out. Stops on SIGTERM/SIGINT."""
    import asyncio

    from floodwatch.logs import setup_logging
    from floodwatch.service.lifecycle import run_service
    from floodwatch.service.run import Service
    from floodwatch.web.live import serve

    setup_logging(log_format)
    loaded = load_or_exit(config_dir)

    async def main_async() -> int:
        return await run_service(Service(loaded, store=store, config_dir=config_dir), serve)

    sys.exit(asyncio.run(main_async()))


@main.command()
@service_config_option
@log_format_option
def bridge(config_dir: Path, log_format: str) -> None:
    """Forward MQTT readings into the Kafka topic, keyed by station (service.mqtt and
    service.kafka); `floodwatch run` instances in one consumer group share the rest."""
    import asyncio

    from floodwatch.logs import setup_logging
    from floodwatch.service.lifecycle import run_bridge

    setup_logging(log_format)
    loaded = load_or_exit(config_dir)
    sys.exit(asyncio.run(run_bridge(loaded)))


@main.command()
@service_config_option
@click.option("--partitions", type=int, default=None, help="also print each key's partition")
def keys(config_dir: Path, partitions: int | None) -> None:
    """Print the Kafka message key of every station (linked stations share one)."""
    from floodwatch.ingest.partition import partition_of, station_keys

    for station, key in sorted(station_keys(load(config_dir)).items()):
        where = f"\t{partition_of(key, partitions)}" if partitions else ""
        click.echo(f"{station}\t{key}{where}")


@main.command()
@click.option(
    "--config",
    "config_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=EXAMPLE_CONFIG,
    show_default=True,
)
@click.option(
    "--input",
    "history",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    help="recorded readings: canonical .jsonl, .csv (station,kind,ts,value) or .parquet",
)
@click.option(
    "--events",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="what really happened (YAML): scored as hits, misses, false alarms, lead times",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("backtest-report"),
    show_default=True,
)
@click.option(
    "--compare",
    "other_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="another config directory: report what changing to it does",
)
@click.option("--quiet", is_flag=True, help="no progress bar")
@click.option(
    "--lang",
    type=click.Choice(["zh", "en", "both"]),
    default="both",
    show_default=True,
    help="language of the report",
)
@click.option("--pdf/--no-pdf", default=True, show_default=True, help="also write report.pdf")
@timezone_option
@max_rejected_option
def backtest(  # noqa: PLR0913 — one parameter per click option
    config_dir: Path,
    history: Path,
    events: Path | None,
    report_dir: Path,
    other_dir: Path | None,
    quiet: bool,
    lang: Lang,
    pdf: bool,
    timezone: str | None,
    max_rejected: float,
) -> None:
    """Run a config over recorded history and write a report (Markdown, HTML, plots).
    Exits 1 (after writing the report) when more than --max-rejected of the
    input was refused. Needs pip install 'floodwatch[backtest]' (pyarrow, matplotlib,
    WeasyPrint); without it, exits 2 saying so."""
    from floodwatch.backtest import extra

    try:
        extra.check(history, pdf)
    except extra.MissingExtraError as exc:
        click.echo(f"floodwatch backtest: {exc}", err=True)
        sys.exit(2)
    from floodwatch.backtest.analysis import compare, load_events, related, run_backtest, score
    from floodwatch.backtest.forecasts import compare_forecasts
    from floodwatch.backtest.report import Report, write_report

    compiled = load(config_dir)
    other = load(other_dir) if other_dir is not None else None
    locals_ = {id(compiled): _local_time(compiled, timezone)}
    if other is not None:
        locals_[id(other)] = _local_time(other, timezone)
    try:
        scored_against = load_events(events) if events is not None else None
    except ConfigError as exc:
        click.echo(exc.report(), err=True)
        sys.exit(2)
    started = time.perf_counter()
    runs = []
    for cfg, label in ((compiled, str(config_dir)), (other, str(other_dir))):
        if cfg is None:
            continue
        with click.progressbar(
            length=1000, label=f"backtest {label}", file=sys.stderr, hidden=quiet
        ) as bar:
            shown = 0

            def progress(done: int, total: int) -> None:
                nonlocal shown
                now = int(1000 * done / max(1, total))
                bar.update(now - shown)
                shown = now

            try:
                runs.append(run_backtest(cfg, history, progress, locals_[id(cfg)]))
            except ValueError as exc:
                click.echo(f"{history}: {exc}", err=True)
                sys.exit(2)
    run, other_run = runs[0], (runs[1] if len(runs) > 1 else None)
    links = related(compiled)
    run_score = score(run, scored_against, links) if scored_against else None
    other_score = score(other_run, scored_against, links) if scored_against and other_run else None
    report = Report(
        "floodwatch backtest",
        config_dir,
        history,
        run,
        compiled,
        events=scored_against,
        score=run_score,
        other_config=other_dir,
        other=other_run,
        other_score=other_score,
        comparison=compare(run, other_run, run_score, other_score) if other_run else None,
        forecasts=(
            compare_forecasts(run, other_run, compiled, other, scored_against, links)
            if other_run is not None and other is not None and scored_against is not None
            else []
        ),
        seconds=time.perf_counter() - started,
        local=locals_[id(compiled)],
        lang=lang,
        other_compiled=other,
    )
    files = write_report(report, report_dir, pdf=pdf)
    rate = run.readings / max(1e-9, report.seconds)
    summary = f"{run.readings:,} readings, {len(run.alerts)} alert transitions"
    if run_score is not None:
        summary += (
            f"; events {len(run_score.events)}: {run_score.hits} hits, {run_score.misses} "
            f"misses, {len(run_score.false_alarms)} false alarms"
        )
    if report.comparison is not None:
        c = report.comparison
        summary += f"; change: +{len(c.added)} / -{len(c.removed)} transitions"
    click.echo(summary)
    written = " and ".join(str(f) for f in files if f.suffix in (".md", ".html", ".pdf"))
    click.echo(f"report: {written} ({report.seconds:.1f} s, {rate:,.0f} readings/s)")
    _fail_on_rejects(run.tally, max_rejected)


@main.command("test-rules")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def test_rules(files: tuple[Path, ...]) -> None:
    """Run rule tests: input series and the alert timeline they must raise.
    Exit 0 when all pass, 1 when any fails, 2 when a file or config is invalid."""
    from floodwatch.ruletest import run_tests

    failed = total = 0
    for file in files:
        try:
            outcomes = run_tests(file)
        except ConfigError as exc:
            click.echo(exc.report(), err=True)
            sys.exit(2)
        for outcome in outcomes:
            total += 1
            failed += not outcome.passed
            click.echo(outcome.report(file))
    click.echo(f"{total - failed} passed, {failed} failed", err=True)
    sys.exit(1 if failed else 0)


@main.command()
@click.option("--store", type=click.Path(path_type=Path, exists=True), required=True)
@click.option("--active", is_flag=True, help="only the alerts firing now")
@click.option(
    "--incidents",
    "incidents",
    is_flag=True,
    help="incidents instead (with --active: the active ones, each with its active alerts)",
)
def alerts(store: Path, active: bool, incidents: bool) -> None:
    """Print stored alert transitions (or the active alerts, or the incidents)
    as JSON Lines."""
    with store_of(store) as db:
        if incidents:
            for incident in db.incidents.list(active=active, limit=100_000):
                _write_jsonl(sys.stdout, incident)
        else:
            for event in db.active() if active else db.transitions():
                _write_jsonl(sys.stdout, event)


def _duty_commands() -> None:
    from floodwatch.cli.backup import backup_cmd
    from floodwatch.cli.check import check
    from floodwatch.cli.demo import demo
    from floodwatch.cli.duty import (
        ack,
        hash_password_cmd,
        rotate_session_key,
        silence,
        unanswered,
    )
    from floodwatch.cli.importer import import_group
    from floodwatch.cli.messages import messages
    from floodwatch.cli.sl651 import gateway_cmd, sl651

    for command in (
        check,
        silence,
        ack,
        unanswered,
        hash_password_cmd,
        rotate_session_key,
        messages,
        import_group,
        backup_cmd,
        demo,
    ):
        main.add_command(command)
    main.add_command(sl651)
    main.add_command(gateway_cmd)


_duty_commands()
