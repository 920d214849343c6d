"""Duty commands on a running service's store: silence, ack, unanswered;
and the command center's secrets: hash-password, rotate-session-key.

They write to the same SQLite store the service uses (WAL: the service keeps
running); the service reads silences and acknowledgements every second.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import click

from floodwatch.cli.options import load_or_exit, store_of
from floodwatch.config.values import parse_duration

store_option = click.option(
    "--store",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    help="the service's SQLite store (service.store)",
)


def _when(text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        return time.time() + parse_duration(text).total_seconds()
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r}: give a time (2026-07-15T18:00+08:00) or a duration from now (2h)"
        ) from exc
    if moment.tzinfo is None:
        raise click.BadParameter(f"{text!r}: give the offset, e.g. +08:00")
    return moment.timestamp()


def _local(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="minutes")


@click.group()
def silence() -> None:
    """Silences / maintenance windows: matching alerts are recorded, not sent."""


@silence.command("add")
@store_option
@click.option("--station", "stations", multiple=True, help="station id (repeatable)")
@click.option("--rule", "rules", multiple=True, help="rule id (repeatable)")
@click.option("--village", "villages", multiple=True, help="village code (repeatable)")
@click.option("--town", "towns", multiple=True, help="town code (repeatable)")
@click.option(
    "--start", default=None, help="time with offset, or a duration from now (default: now)"
)
@click.option("--end", required=True, help="time with offset, or a duration from now (e.g. 4h)")
@click.option("--author", required=True)
@click.option("--reason", required=True)
def silence_add(  # noqa: PLR0913 — one parameter per click option
    store: Path,
    stations: tuple[str, ...],
    rules: tuple[str, ...],
    villages: tuple[str, ...],
    towns: tuple[str, ...],
    start: str | None,
    end: str,
    author: str,
    reason: str,
) -> None:
    """Create a silence; prints its id."""
    now = time.time()
    starts = None if start is None else _when(start, now)
    ends = _when(end, now)
    with store_of(store) as db:
        try:
            made = db.create_silence(
                starts=starts,
                ends=ends,
                author=author,
                reason=reason,
                stations=stations,
                rules=rules,
                villages=villages,
                towns=towns,
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    click.echo(made.id)


@silence.command("list")
@store_option
@click.option("--all", "show_all", is_flag=True, help="also ended and future ones")
def silence_list(store: Path, show_all: bool) -> None:
    """Silences in force now (JSON Lines)."""
    with store_of(store) as db:
        found = db.people.silences(None if show_all else time.time())
    for s in found:
        out = s.to_json()
        out["starts"], out["ends"] = _local(s.starts), _local(s.ends)
        click.echo(json.dumps(out, ensure_ascii=False))


@silence.command("end")
@store_option
@click.argument("silence_id")
def silence_end(store: Path, silence_id: str) -> None:
    """End a silence now."""
    with store_of(store) as db, db.transaction():
        ended = db.people.end_silence(silence_id, time.time())
    if not ended:
        click.echo(f"no silence {silence_id!r} in force", err=True)
        sys.exit(1)


@click.command()
@store_option
@click.argument("alert_id")
@click.option("--by", required=True, help="who acknowledges (the duty officer's name)")
@click.option("--comment", default="", help="what is being done")
def ack(store: Path, alert_id: str, by: str, comment: str) -> None:
    """Acknowledge an incident (and every alert in it) or an alert (and its
    incident): ends the call-and-answer escalation and reminders."""

    with store_of(store) as db:
        incidents = db.incidents
        if not incidents.exists(alert_id):
            click.echo(f"no incident or alert {alert_id!r} in {store}", err=True)
            sys.exit(1)
        now = time.time()
        with db.transaction():
            for one in incidents.covered(alert_id):
                db.people.acknowledge(one, by, "cli", comment, now)


@click.command()
@store_option
def unanswered(store: Path) -> None:
    """Active incidents (and alerts) whose call-and-answer went unanswered, with
    who was called."""

    lines = []
    with store_of(store) as db:
        ledger = db.people
        notices: list[dict[str, Any]] = [
            cast(dict[str, Any], v["notice"]) for v in db.incidents.list(active=True)
        ]
        events: list[dict[str, Any]] = [*notices, *db.active()]
        for event in events:
            alert = str(event["id"])
            people = ledger.unanswered(alert)
            if people and ledger.follow(alert) is not None:
                lines.append(
                    {
                        "alert": alert,
                        "incident": event.get("incident"),
                        "severity": event["severity"],
                        "station": event["station"],
                        "unanswered": [
                            {"name": p.name, "phone": p.phone, "role": p.role} for p in people
                        ],
                    }
                )
    for line in lines:
        click.echo(json.dumps(line, ensure_ascii=False))


@click.command("hash-password")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def hash_password_cmd(password: str) -> None:
    """Print the scrypt hash of a password for `service.http.users`."""
    from floodwatch.web.auth import hash_password

    click.echo(hash_password(password))


@click.command("rotate-session-key")
@click.option(
    "--config",
    "config_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    required=True,
    help="the service's config directory (service.http, service.store)",
)
@click.option(
    "--retire-all",
    is_flag=True,
    help="also stop accepting every older key now (a leaked key: everyone logs in again)",
)
def rotate_session_key(config_dir: Path, retire_all: bool) -> None:
    """Start signing command-center sessions with a new key. Sessions signed
    by the previous key keep working for `session_ttl` (unless --retire-all);
    the running service picks the new key up within a second."""
    from floodwatch.web.keys import key_file, rotate

    settings = load_or_exit(config_dir).config.service
    if settings.http is None:
        raise click.UsageError(f"{config_dir}: no service.http section (no command center)")
    path = key_file(settings.store, settings.http.session_keys)
    grace = settings.http.session_ttl.total_seconds()
    key = rotate(path, grace, time.time(), retire=retire_all)
    older = "retired now" if retire_all else f"verify for {grace / 3600:g} h more"
    click.echo(f"{path}: new signing key {key.id}; older keys {older}")
