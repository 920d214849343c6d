"""`floodwatch.cli.app` on its own, in process with click's CliRunner: the
group (version, help naming every command, stop signals released for all but
the long-running commands), `schema`, `simulate` (to a file, its summary, a
spike and a silence), `replay` (alerts and rejected rows to their files, the
--max-rejected share and its failure, an unknown time zone), `keys`,
`test-rules` (pass, fail, an invalid file), `alerts` on a store a service
wrote (transitions, active, incidents), `backtest`'s early refusals, and
`run`/`bridge` refusing a broken config. The commands beside it have their own
tests (tests/unit/cli/test_{check,demo,duty,...}.py)."""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal
from click.testing import CliRunner, Result

from floodwatch.cli import app
from floodwatch.cli.app import HANDLE_STOP_SIGNALS, main
from floodwatch.notify.sinks import load_config_dir
from floodwatch.service import signals
from floodwatch.service.run import Service
from floodwatch.web import demo
from tests.web.conftest import STORM, _hashed, sweeps

EXAMPLE = Path(__file__).resolve().parents[3] / "config"


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(autouse=True)
def root_logging() -> Iterator[None]:
    """`run` and `bridge` set up the root logger (onto the runner's stderr) before
    they load the config: put pytest's back after each test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_group_names_every_command_and_its_version() -> None:
    helped = cli("--help")
    assert helped.exit_code == 0
    for name in ("check", "schema", "replay", "simulate", "demo", "run", "bridge", "keys",
                 "backtest", "test-rules", "alerts", "silence", "ack", "unanswered",
                 "hash-password", "rotate-session-key", "messages", "import", "backup",
                 "sl651", "sl651-gateway"):  # fmt: skip
        assert f"\n  {name} " in helped.output, name
    version = cli("--version")
    assert version.exit_code == 0 and version.output.startswith("main, version ")
    assert cli("no-such-command").exit_code == 2


@pytest.fixture
def held() -> Iterator[None]:
    """As `python -m floodwatch` starts: stop signals held (`signals.hold`)."""
    before = signal.getsignal(signal.SIGTERM)
    signals.hold()
    try:
        yield
    finally:
        signals.release()
        signal.signal(signal.SIGTERM, before)


def test_only_the_long_running_commands_keep_the_stop_signals(held: None, tmp_path: Path) -> None:
    assert {"run", "bridge", "sl651-gateway"} == HANDLE_STOP_SIGNALS
    broken = tmp_path / "config"
    broken.mkdir()
    (broken / "rules.yaml").write_text("rules: [\n", encoding="utf-8")
    refused = cli("run", "--config", str(broken))  # a long-running command: kept
    assert refused.exit_code == 2 and "rules.yaml" in refused.output
    assert signal.getsignal(signal.SIGTERM) == signals._remember
    assert cli("keys", "--config", str(EXAMPLE)).exit_code == 0  # any other: released
    assert signal.getsignal(signal.SIGTERM) != signals._remember


def test_bridge_refuses_a_broken_config_before_anything_starts(tmp_path: Path) -> None:
    broken = tmp_path / "config"
    shutil.copytree(EXAMPLE, broken)
    (broken / "stations.yaml").write_text("stations: 7\n", encoding="utf-8")
    got = cli("bridge", "--config", str(broken))
    assert got.exit_code == 2 and "stations.yaml" in got.output
    missing = cli("run", "--config", str(tmp_path / "missing"))
    assert missing.exit_code == 2


def test_schema_is_the_config_files_json_schema() -> None:
    got = cli("schema")
    assert got.exit_code == 0
    schema = json.loads(got.stdout)
    assert {"stations", "rules", "service"} <= set(schema["properties"])


def test_simulate_writes_readings_and_tells_the_storm(tmp_path: Path) -> None:
    out = tmp_path / "storm.jsonl"
    start = "2026-07-06T16:00:00Z"  # without an offset: UTC
    got = cli("simulate", "--scenario", "blocked", "--hours", "3", "--output", str(out),
              "--start", start, "--spike-at", "1", "--silence-from", "2")  # fmt: skip
    assert got.exit_code == 0, got.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert got.stderr.startswith("blocked: ") and f"\n{len(rows)} readings; max level" in got.stderr
    assert rows[0]["ts"] == start
    pond = [r for r in rows if r["station"] == "maokeng-pond" and r["kind"] == "level"]
    jumps = [b["value"] - a["value"] for a, b in itertools.pairwise(pond)]
    assert max(jumps) > 4  # the +5 m spike at hour 1
    assert max(r["ts"] for r in pond) < "2026-07-06T18:00:01"  # silent from hour 2
    to_stdout = cli("simulate", "--scenario", "blocked", "--hours", "1")
    assert to_stdout.exit_code == 0 and to_stdout.stdout.count("\n") > 10
    assert cli("simulate", "--scenario", "no-such").exit_code == 2


@pytest.fixture(scope="module")
def storm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("storm") / "storm.jsonl"
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in STORM), encoding="utf-8")
    return path


def test_replay_writes_the_alerts_and_the_refused_rows_beside_them(
    storm: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(storm.read_text() + "not json\n", encoding="utf-8")
    out = tmp_path / "alerts.jsonl"
    got = cli("replay", "--config", str(EXAMPLE), "--input", str(source), "--output", str(out))
    assert got.exit_code == 0, got.output
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert events and {e["transition"] for e in events} >= {"firing"}
    rejected = [
        json.loads(x) for x in (tmp_path / "alerts.rejected.jsonl").read_text().splitlines()
    ]
    assert len(rejected) == 1
    assert "lines/s)" in got.stderr
    assert got.stdout == ""


def test_replay_fails_when_more_than_the_allowed_share_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    good = json.dumps(STORM[0].to_json())
    source.write_text(f"{good}\nbad\nbad\n{good}\n", encoding="utf-8")
    args = ["replay", "--config", str(EXAMPLE), "--input", str(source),
            "--dead-letter", str(tmp_path / "dead.jsonl")]  # fmt: skip
    assert cli(*args, "--max-rejected", "50%").exit_code == 0
    assert cli(*args, "--max-rejected", "0.5").exit_code == 0
    over = cli(*args, "--max-rejected", "40%")
    assert over.exit_code == 1
    assert "more than the 40% allowed by --max-rejected" in over.stderr
    assert len((tmp_path / "dead.jsonl").read_text().splitlines()) == 2
    for bad, why in (("half", "is not a share"), ("150%", "is not between 0% and 100%"),
                     ("-0.1", "is not between")):  # fmt: skip
        refused = cli(*args, "--max-rejected", bad)
        assert refused.exit_code == 2 and why in refused.output, bad
    zone = cli(*args, "--timezone", "Mars/Olympus")
    assert zone.exit_code == 2 and "--timezone" in zone.output


def test_keys_prints_each_stations_kafka_key_and_partition() -> None:
    got = cli("keys", "--config", str(EXAMPLE))
    assert got.exit_code == 0
    rows = dict(line.split("\t") for line in got.output.splitlines())
    assert rows["maokeng-pond"] == rows["maokeng-culvert"]  # linked: one key
    assert set(rows) == {s.id for s in load_config_dir(EXAMPLE).config.stations}
    parts = cli("keys", "--config", str(EXAMPLE), "--partitions", "6")
    for line in parts.output.splitlines():
        station, key, partition = line.split("\t")
        assert key == rows[station] and 0 <= int(partition) < 6


def test_rule_tests_pass_fail_or_are_invalid(tmp_path: Path) -> None:
    passed = cli("test-rules", str(EXAMPLE / "tests" / "rules.test.yaml"))
    assert passed.exit_code == 0, passed.output
    assert " 0 failed" in passed.stderr
    config = tmp_path / "config"
    shutil.copytree(EXAMPLE, config)
    tests = config / "tests" / "rules.test.yaml"
    text = tests.read_text(encoding="utf-8")
    tests.write_text(text.replace("{at: 30m, rule: pond-level", "{at: 35m, rule: pond-level", 1))
    failed = cli("test-rules", str(tests))
    assert failed.exit_code == 1 and " 1 failed" in failed.stderr
    tests.write_text("tests: 3\n", encoding="utf-8")
    invalid = cli("test-rules", str(tests))
    assert invalid.exit_code == 2 and "rules.test.yaml" in invalid.stderr
    assert cli("test-rules").exit_code == 2  # a file is required


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store of a service that ran the storm."""
    work = tmp_path_factory.mktemp("service")
    with pytest.MonkeyPatch.context() as mp, start_blocking_portal() as loop:
        mp.setattr(demo, "hash_password", _hashed)
        service = Service(demo.demo_settings(load_config_dir(EXAMPLE), work, 8080))
        loop.call(service.open)
        for item in sweeps(STORM):
            loop.call(service.step, [item])
        loop.call(service.close)
    return work / "floodwatch.db"


def test_alerts_prints_what_a_service_stored(store: Path) -> None:
    every = [json.loads(x) for x in cli("alerts", "--store", str(store)).stdout.splitlines()]
    active = [
        json.loads(x) for x in cli("alerts", "--store", str(store), "--active").stdout.splitlines()
    ]
    assert every and active and len(active) < len(every)
    assert {e["id"] for e in active} <= {e["id"] for e in every}
    assert {e["transition"] for e in every} >= {"firing", "resolved"}
    incidents = cli("alerts", "--store", str(store), "--incidents")
    found = [json.loads(x) for x in incidents.stdout.splitlines()]
    assert found and all("alerts" in i for i in found)
    now = cli("alerts", "--store", str(store), "--incidents", "--active").stdout.splitlines()
    assert 0 < len(now) <= len(found)
    assert cli("alerts", "--store", str(store.with_name("missing.db"))).exit_code == 2


def test_backtest_refuses_bad_events_and_unreadable_history_before_running(
    tmp_path: Path, storm: Path
) -> None:
    events = tmp_path / "events.yaml"
    events.write_text("events: [\n", encoding="utf-8")
    report = tmp_path / "report"
    got = cli("backtest", "--config", str(EXAMPLE), "--input", str(storm), "--events",
              str(events), "--report", str(report), "--no-pdf", "--quiet")  # fmt: skip
    assert got.exit_code == 2 and "events.yaml" in got.stderr
    history = tmp_path / "history.csv"
    history.write_text("a,b\n1,2\n", encoding="utf-8")
    odd = cli("backtest", "--config", str(EXAMPLE), "--input", str(history),
              "--report", str(report), "--no-pdf", "--quiet")  # fmt: skip
    assert odd.exit_code == 2
    assert odd.stderr.strip() == f"{history}: no column kind, station, ts, value"
    assert not report.exists()


def test_backtest_writes_its_report_then_fails_on_refused_input(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    history.write_text("what is this\n", encoding="utf-8")
    report = tmp_path / "report"
    got = cli("backtest", "--config", str(EXAMPLE), "--input", str(history),
              "--report", str(report), "--no-pdf", "--quiet")  # fmt: skip
    assert got.exit_code == 1
    assert got.stdout.startswith("0 readings, 0 alert transitions\nreport: ")
    assert "refused 1 of 1 input rows" in got.stderr
    assert (report / "report.md").is_file() and not (report / "report.pdf").exists()


def test_a_share_is_a_fraction_or_a_percentage() -> None:
    assert app._share(None, None, " 5% ") == 0.05  # type: ignore[arg-type]
    assert app._share(None, None, "1") == 1.0  # type: ignore[arg-type]
    assert app._share(None, None, "0%") == 0.0  # type: ignore[arg-type]
