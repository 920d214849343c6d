"""`floodwatch.cli.duty` on a real store after a storm: silences (times with an
offset or a duration, what a silence must match), acknowledging an incident or
one of its alerts, who left a call unanswered, and the command center's
secrets — with what a duty officer reads when the store is the wrong file,
missing or locked by another program."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from floodwatch.cli.duty import (
    _when,
    ack,
    hash_password_cmd,
    rotate_session_key,
    silence,
    unanswered,
)
from floodwatch.config.rosters import Recipient
from floodwatch.store import Store
from floodwatch.web.auth import check_password
from tests.integration.services import service_config
from tests.unit.cli.stores import copy_of, storm_store

POND = "maokeng-pond"


@pytest.fixture(scope="module")
def storm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return storm_store(tmp_path_factory.mktemp("storm"))


@pytest.fixture
def store(storm: Path, tmp_path: Path) -> Path:
    return copy_of(storm, tmp_path / "var")


@pytest.fixture
def incident(store: Path) -> Iterator[str]:
    db = Store(store)
    try:
        (one,) = db.incidents.list(active=True)
        yield str(one["id"])
    finally:
        db.close()


def invoke(command: click.Command, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(command, list(args), input=input)


# -- times ------------------------------------------------------------------------------


def test_a_time_is_a_duration_from_now_or_a_moment_with_its_offset() -> None:
    assert _when(None, 123.0) == 123.0
    now = time.time()
    assert now + 7200 - 1 <= _when("2h", 0.0) <= time.time() + 7200
    assert _when("2026-07-15T18:00+08:00", 0.0) == datetime(2026, 7, 15, 10, tzinfo=UTC).timestamp()
    assert _when("2026-07-15T10:00:00Z", 0.0) == datetime(2026, 7, 15, 10, tzinfo=UTC).timestamp()


def test_a_time_without_offset_or_that_is_no_time_is_refused_with_an_example() -> None:
    with pytest.raises(click.BadParameter, match=r"give the offset, e\.g\. \+08:00"):
        _when("2026-07-15T18:00", 0.0)
    with pytest.raises(click.BadParameter, match=r"give a time \(2026-07-15T18:00\+08:00\)"):
        _when("tomorrow", 0.0)


# -- silences -----------------------------------------------------------------------------


def test_a_silence_is_added_listed_and_ended(store: Path) -> None:
    made = invoke(
        silence, "add", "--store", str(store), "--station", POND, "--rule", "pond-rise",
        "--end", "4h", "--author", "王强", "--reason", "涵管清淤",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    ident = made.stdout.strip()
    assert len(ident) == 12
    listed = invoke(silence, "list", "--store", str(store))
    (line,) = listed.stdout.splitlines()
    shown = json.loads(line)
    assert shown["id"] == ident and shown["stations"] == [POND] and shown["author"] == "王强"
    assert "涵管清淤" in line  # not escaped
    ends = datetime.fromisoformat(shown["ends"])
    assert ends.tzinfo is not None
    assert abs(ends - (datetime.now(UTC) + timedelta(hours=4))) < timedelta(minutes=2)
    ended = invoke(silence, "end", "--store", str(store), ident)
    assert ended.exit_code == 0, ended.output
    assert invoke(silence, "list", "--store", str(store)).stdout == ""
    assert json.loads(invoke(silence, "list", "--store", str(store), "--all").stdout)["id"] == ident
    again = invoke(silence, "end", "--store", str(store), ident)
    assert again.exit_code == 1
    assert again.stderr == f"no silence {ident!r} in force\n"


def test_a_future_silence_is_listed_only_with_all(store: Path) -> None:
    start = (datetime.now(timezone(timedelta(hours=8))) + timedelta(days=1)).isoformat()
    made = invoke(
        silence, "add", "--store", str(store), "--village", "330122104201",
        "--start", start, "--end", "26h", "--author", "a", "--reason", "drill",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert invoke(silence, "list", "--store", str(store)).stdout == ""
    assert len(invoke(silence, "list", "--store", str(store), "--all").stdout.splitlines()) == 1


def test_a_silence_matching_nothing_or_ending_first_is_refused_and_not_stored(
    store: Path,
) -> None:
    base = ["add", "--store", str(store), "--author", "a", "--reason", "r"]
    nothing = invoke(silence, *base, "--end", "2h")
    assert nothing.exit_code == 2
    assert "a silence needs at least one station, rule, village or town" in nothing.output
    backwards = invoke(silence, *base, "--station", POND, "--start", "3h", "--end", "1h")
    assert backwards.exit_code == 2
    assert "a silence must end after it starts" in backwards.output
    naive = invoke(silence, *base, "--station", POND, "--end", "2026-07-15T18:00")
    assert naive.exit_code == 2 and "give the offset" in naive.output
    assert invoke(silence, "list", "--store", str(store), "--all").stdout == ""


def test_a_store_that_does_not_exist_is_refused_by_the_option(tmp_path: Path) -> None:
    result = invoke(silence, "list", "--store", str(tmp_path / "nowhere.db"))
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not (tmp_path / "nowhere.db").exists()


def test_a_file_that_is_not_the_store_is_left_alone(tmp_path: Path) -> None:
    """Pointing --store at the config (a slip of the hand) must not move the
    file aside and write the silence into a new store nobody reads."""
    wrong = tmp_path / "stations.yaml"
    wrong.write_text("stations: []\n", "utf-8")
    result = invoke(
        silence, "add", "--store", str(wrong), "--station", POND, "--end", "2h",
        "--author", "a", "--reason", "r",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == (
        f"{wrong}: not usable as the service's store (file is not a database); left as it is\n"
    )
    assert wrong.read_text("utf-8") == "stations: []\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stations.yaml"]
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    result = invoke(unanswered, "--store", str(other))
    assert (
        result.exit_code == 1
        and "not usable as the service's store (no such table" in result.stderr
    )


def test_a_store_locked_by_another_program_is_reported_and_nothing_changed(
    store: Path,
) -> None:
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # e.g. a sqlite3 shell left in a transaction
    try:
        result = invoke(
            silence, "add", "--store", str(store), "--station", POND, "--end", "2h",
            "--author", "a", "--reason", "r",
        )  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{store}: database is locked: another program holds")
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert invoke(silence, "list", "--store", str(store), "--all").stdout == ""


# -- acknowledgements ------------------------------------------------------------------------


def test_acking_an_incident_acknowledges_every_alert_active_in_it(
    store: Path, incident: str
) -> None:
    result = invoke(ack, "--store", str(store), incident, "--by", "张伟", "--comment", "已到场")
    assert result.exit_code == 0, result.output
    db = Store(store)
    try:
        active = db.incidents.alert_ids(incident)
        assert len(active) >= 3
        for one in [incident, *active]:
            (acked,) = db.people.acks(one)
            assert acked["by"] == "张伟" and acked["via"] == "cli"
            assert acked["comment"] == "已到场"
        assert not db.people.acks("maokeng-rain:rain-accumulation:x")
    finally:
        db.close()


def test_acking_one_alert_acknowledges_its_incident_too(store: Path, incident: str) -> None:
    db = Store(store)
    alert = db.incidents.alert_ids(incident)[0]
    db.close()
    assert invoke(ack, "--store", str(store), alert, "--by", "李娜").exit_code == 0
    db = Store(store)
    try:
        assert db.people.acknowledged(alert) and db.people.acknowledged(incident)
        others = [a for a in db.incidents.alert_ids(incident) if a != alert]
        assert others and not any(db.people.acknowledged(a) for a in others)
    finally:
        db.close()


def test_acking_an_unknown_id_says_so_and_writes_nothing(store: Path) -> None:
    result = invoke(ack, "--store", str(store), "maokeng-pond:nothing", "--by", "x")
    assert result.exit_code == 1
    assert result.stderr == f"no incident or alert 'maokeng-pond:nothing' in {store}\n"


# -- unanswered -----------------------------------------------------------------------------


def test_a_call_nobody_answered_is_listed_with_who_was_called(store: Path, incident: str) -> None:
    assert invoke(unanswered, "--store", str(store)).stdout == ""  # nobody called yet
    wang = Recipient("wang-qiang", "王强", "13800000001", "station.patrol")
    db = Store(store)
    with db.transaction():
        db.people.record_call(incident, wang, 1, time.time())
    db.close()
    # called but no call-and-answer running for it: not listed
    assert invoke(unanswered, "--store", str(store)).stdout == ""
    db = Store(store)
    with db.transaction():
        db.people.start_follow(incident, "red", time.time(), time.time() + 600)
    db.close()
    result = invoke(unanswered, "--store", str(store))
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert json.loads(line) == {
        "alert": incident,
        "incident": incident,
        "severity": "orange",  # the incident as the storm left it
        "station": POND,
        "unanswered": [{"name": "王强", "phone": "13800000001", "role": "station.patrol"}],
    }
    assert invoke(ack, "--store", str(store), incident, "--by", "王强").exit_code == 0
    assert invoke(unanswered, "--store", str(store)).stdout == ""  # acknowledged


# -- secrets --------------------------------------------------------------------------------


def test_hash_password_prints_a_hash_that_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke(hash_password_cmd, "--password", "长城-2026")
    assert result.exit_code == 0, result.output
    hashed = result.stdout.strip()
    assert hashed.startswith("scrypt$") and "长城" not in hashed
    assert check_password("长城-2026", hashed) and not check_password("长城-2025", hashed)


def test_hash_password_asks_twice_and_refuses_a_mismatch() -> None:
    result = invoke(hash_password_cmd, input="secret\nsecreT\nsecret\nsecret\n")
    assert result.exit_code == 0, result.output
    assert "Error: The two entered values do not match." in result.output
    assert check_password("secret", result.output.strip().splitlines()[-1])


def test_rotating_the_session_key_needs_a_command_center(tmp_path: Path) -> None:
    cfg = service_config(tmp_path)
    result = invoke(rotate_session_key, "--config", str(cfg))
    assert result.exit_code == 2
    assert f"{cfg}: no service.http section (no command center)" in result.output


def test_rotating_the_session_key_writes_it_and_says_how_long_the_old_one_lasts(
    tmp_path: Path,
) -> None:
    cfg = service_config(tmp_path, http={"port": 18080, "session_ttl": "12h"})
    result = invoke(rotate_session_key, "--config", str(cfg))
    assert result.exit_code == 0, result.output
    path, _, said = result.stdout.strip().partition(": ")
    assert Path(path).exists() and Path(path).stat().st_mode & 0o777 == 0o600
    assert said.startswith("new signing key ") and said.endswith("older keys verify for 12 h more")
    first = Path(path).read_bytes()
    result = invoke(rotate_session_key, "--config", str(cfg), "--retire-all")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("older keys retired now")
    assert Path(path).read_bytes() != first


def test_rotating_with_a_broken_config_lists_the_problem_not_a_traceback(tmp_path: Path) -> None:
    cfg = service_config(tmp_path, http={"port": 18080})
    service = yaml.safe_load((cfg / "service.yaml").read_text())
    service["service"]["http"]["session_ttl"] = "forever"
    (cfg / "service.yaml").write_text(yaml.safe_dump(service))
    result = invoke(rotate_session_key, "--config", str(cfg))
    assert result.exit_code == 2
    assert "service.yaml:" in result.stderr and "session_ttl" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_floodwatch_alerts_reads_the_store_and_leaves_another_file_alone(
    store: Path, tmp_path: Path
) -> None:
    from floodwatch.cli.app import main

    active = CliRunner().invoke(main, ["alerts", "--store", str(store), "--active"])
    assert active.exit_code == 0, active.output
    assert len(active.stdout.splitlines()) == 3
    wrong = tmp_path / "rules.yaml"
    wrong.write_text("rules: []\n")
    result = CliRunner().invoke(main, ["alerts", "--store", str(wrong)])
    assert result.exit_code == 1 and "not usable as the service's store" in result.stderr
    assert wrong.read_text() == "rules: []\n" and not list(tmp_path.glob("rules.yaml.*"))
