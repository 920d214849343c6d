"""deploy/prometheus: the alerting rules are valid and do what their unit tests
say (`promtool test rules`: each alert fires when it should, with its text, and
not otherwise); the example scrape configuration is valid."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], cwd=cwd, check=False, capture_output=True, text=True, timeout=120
    )


def test_rules_are_valid() -> None:
    done = promtool("check", "rules", "floodwatch.rules.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout


def test_rules_pass_their_unit_tests() -> None:
    done = promtool("test", "rules", "floodwatch.rules.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_rule_is_tested_firing() -> None:
    rules = (PROMETHEUS / "floodwatch.rules.yml").read_text()
    tests = (PROMETHEUS / "floodwatch.rules.test.yml").read_text()
    names = [line.split(":", 1)[1].strip() for line in rules.splitlines() if "- alert:" in line]
    for name in names:
        block = tests.split(f"alertname: {name}\n")[1:]
        assert any(b.lstrip().startswith("exp_alerts:\n") for b in block), name


def test_the_example_scrape_config_is_valid(tmp_path: Path) -> None:
    config = (PROMETHEUS / "prometheus.yml").read_text()
    config = config.replace(
        "/etc/prometheus/floodwatch.rules.yml", str(PROMETHEUS / "floodwatch.rules.yml")
    )
    config = config.replace("/etc/prometheus/floodwatch.token", str(tmp_path / "token"))
    (tmp_path / "token").write_text("secret\n")
    (tmp_path / "prometheus.yml").write_text(config)
    done = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
