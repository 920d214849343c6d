"""The catalogue of every text (notify/catalogue/entries.py): every rule, level
and transition of the example config, the texts told while an incident goes
on, the dam overtopping, and that it says what the engine says in replayed
storms; `floodwatch messages` writing and checking it. The checks of the
texts: test_check.py; the Markdown: test_markdown.py."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import msgspec
from click.testing import CliRunner

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import EvacuationStage, Severity, Transition
from floodwatch.cli.app import main
from floodwatch.notify.cap import response_type
from floodwatch.notify.catalogue.entries import WHILE_INCIDENT, entries
from floodwatch.notify.sinks import load_config_dir
from floodwatch.replay.run import run_readings
from floodwatch.rules.compile import compile_config
from floodwatch.sim import simulate

CONFIG = compile_config(load_config_dir("config"))
CATALOGUE = entries(CONFIG)
FIGURE = re.compile(r"[+\-]?\d+(?:\.\d+)?")


def shape(text: str) -> str:
    return FIGURE.sub("#", text)


def test_it_covers_every_rule_level_and_transition_and_the_incident_changes() -> None:
    seen = {(e.rule, e.event.severity, e.event.transition) for e in CATALOGUE}
    for rule in ("pond-level", "rain-accumulation"):
        for sev in (Severity.BLUE, Severity.YELLOW, Severity.ORANGE, Severity.RED):
            for step in Transition:
                if (sev, step) in {(Severity.RED, Transition.DOWNGRADED)}:
                    continue  # nothing is lowered to red
                if (sev, step) == (Severity.BLUE, Transition.ESCALATED):
                    continue  # nothing is raised to blue from below
                assert (rule, sev, step) in seen, (rule, sev, step)
    changes = {e.event.details.get("change") for e in CATALOGUE if e.section == "incidents"}
    assert changes >= {"raised", "escalated", "downgraded", "lost_observation", "all_clear"}
    assert any("/stale" in e.rule for e in CATALOGUE)


def storm_events() -> list[AlertEvent]:
    start = simulate("blocked").readings[0].ts
    runs = [
        simulate("blocked"),
        simulate("flash"),
        simulate("open"),
        simulate("blocked", spike_at=start + timedelta(hours=3)),
        simulate("blocked", silence_from=start + timedelta(hours=6)),
    ]
    return [e for run in runs for e in run_readings(CONFIG, run.readings).alerts]


def test_the_catalogue_says_what_the_engine_says_in_replayed_storms() -> None:
    """Every text of five simulated storms, figures masked, is in the catalogue
    of the same rule and station: the catalogue cannot drift from the engine."""
    known: dict[tuple[str, str], set[str]] = {}
    for entry in CATALOGUE:
        if entry.section == "incidents":
            continue
        station = entry.station.split("/")[0]
        known.setdefault((entry.rule, station), set()).update({shape(entry.zh), shape(entry.en)})
    checked = 0
    for event in storm_events():
        shapes = known.get((event.rule, event.station))
        if shapes is None:
            continue
        checked += 1
        assert shape(event.message_zh) in shapes, event.message_zh
        assert shape(event.message_en) in shapes, event.message_en
    assert checked >= 40


def test_every_lowered_or_lifted_rule_is_also_told_while_its_incident_goes_on() -> None:
    """The tracker's wording (`messages.while_incident`) is in the catalogue for
    each rule's lowered and lifted texts, and keeps the catalogue's rules."""
    rules = [e for e in CATALOGUE if e.section == "rules"]
    ending = [e for e in rules if e.event.transition in (Transition.DOWNGRADED,
              Transition.RESOLVED) and WHILE_INCIDENT not in e.notes]  # fmt: skip
    going_on = [e for e in rules if WHILE_INCIDENT in e.notes]
    assert len(going_on) == len(ending) >= 20
    assert {e.rule for e in going_on} == {e.rule for e in ending}
    for entry in going_on:
        assert entry.zh.startswith("【单项回落】"), entry.zh
        assert entry.zh.endswith("。毛坑山塘红色预警仍在持续，险情未除。"), entry.zh
        assert entry.en.startswith("[Condition eased] "), entry.en
        assert entry.en.endswith(". Maokeng pond stays at RED warning; the danger is not over.")
        assert entry.spoken is None  # villages hear the incident, not a rule
    rise = next(
        e for e in going_on if e.rule == "pond-rise" and e.event.transition is Transition.RESOLVED
    )
    assert rise.zh == (
        "【单项回落】毛坑村毛坑山塘水位上涨速率已回落到0.22米/小时，低于黄色预警线。"
        "毛坑山塘红色预警仍在持续，险情未除。"
    )
    lifted = [e for e in ending if e.event.transition is Transition.RESOLVED]
    assert all("【预警解除】" in e.zh for e in lifted)  # said only when the incident ends


def test_the_command_writes_the_catalogue_and_checks_it(tmp_path: Path) -> None:
    out = tmp_path / "messages.md"
    result = CliRunner().invoke(
        main, ["messages", "--config", "config", "--output", str(out), "--check"]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "## Incident messages" in text and "坝顶" in text
    assert "keep the rules" in result.output


def test_a_red_warning_never_tells_villages_only_to_prepare() -> None:
    any_alert = next(e for e in CATALOGUE if e.event.severity is not Severity.INFO).event
    event = msgspec.structs.replace(
        any_alert,
        transition=Transition.ESCALATED,
        severity=Severity.RED,
        stage=EvacuationStage.PREPARE,
    )
    assert response_type(event) == "Evacuate"


def test_the_loudspeaker_says_the_dam_is_overtopping_not_zero_minutes_to_go() -> None:
    over = next(e for e in CATALOGUE if "overtopping" in e.notes and e.event.value == 0.0)
    assert over.spoken is not None and "已经漫坝" in over.spoken
    assert "0分钟" not in over.spoken and "距坝顶0.0米" not in over.spoken


def test_the_catalogue_shows_the_crest_edge() -> None:
    # at the crest, past it and under a minute to it (docs/messages.md shows each)
    said = {e.zh: e.spoken for e in CATALOGUE if e.section == "rules"}
    at = (
        "【红色预警·漫坝】毛坑村毛坑山塘水位312.00米，已到达坝顶。"
        "请立即组织下游群众转移，人员撤离坝体。"
    )
    assert said[at] == "毛坑村请注意：毛坑山塘水位已到达坝顶，请立即转移。"
    past = next(zh for zh in said if "毛坑山塘水位已超过坝顶0.05米。" in zh)
    assert past.startswith("【红色预警】")
    soon = next(zh for zh in said if "预计1分钟内水位到达坝顶，短于红色预警线" in zh)
    assert said[soon] == "毛坑村请注意：毛坑山塘水位距坝顶不足0.1米，预计1分钟内漫坝，请立即转移。"
    assert not any("坝顶0.00米" in zh or "坝顶0.0米" in (said[zh] or "") for zh in said)
