"""The catalogue as Markdown (notify/catalogue/markdown.py): docs/messages.md is
the example config's; sections and headings in the catalogue's order, each
label with its level, transition and what it came from, and an incident's
SMS in one line or in parts."""

from __future__ import annotations

from pathlib import Path

import msgspec

from floodwatch.alerts.state import Severity, Transition
from floodwatch.notify.catalogue.entries import WHILE_INCIDENT, Entry, entries
from floodwatch.notify.catalogue.markdown import markdown
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import compile_config

CONFIG = compile_config(load_config_dir("config"))
CATALOGUE = entries(CONFIG)
RULE = next(e for e in CATALOGUE if e.section == "rules")


def test_docs_messages_md_is_the_example_catalogue() -> None:
    written = Path("docs/messages.md").read_text(encoding="utf-8")
    assert written == markdown(CATALOGUE, "config"), (
        "docs/messages.md is stale: floodwatch messages --config config --output docs/messages.md"
    )


def entry(section: str, zh: str, title: str = "T", **changes: object) -> Entry:
    event = msgspec.structs.replace(RULE.event, message_zh=zh, message_en="E.", **changes)
    return Entry(section, RULE.rule, title, "st-1", event)


def test_each_section_once_and_each_heading_over_its_entries() -> None:
    told = [
        entry(
            "rules",
            "一。",
            severity=Severity.ORANGE,
            transition=Transition.FIRING,
            previous_severity=None,
        ),
        entry(
            "rules",
            "二。",
            severity=Severity.RED,
            transition=Transition.ESCALATED,
            previous_severity=Severity.ORANGE,
        ),
        entry(
            "rules",
            "三。",
            severity=Severity.RED,
            transition=Transition.RESOLVED,
            previous_severity=Severity.ORANGE,
        ),
        entry("sensors", "四。", title="S"),
    ]
    text = markdown(told, "my-config")
    assert "`floodwatch messages --config my-config`" in text
    assert text.count("## Alerts of the rules") == 1 and text.count("## Sensor notices") == 1
    assert "## Incident messages" not in text
    assert text.count("### T — `st-1`") == 1 and "### S — `st-1`" in text
    assert "- **orange · firing**\n  - 中文：一。\n  - English: E." in text
    assert "- **red · escalated (from orange)**" in text
    assert "- **red · resolved**\n" in text  # a lifted alert does not say what it was
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_a_rule_told_while_its_incident_goes_on_is_marked_and_the_loudspeaker_shown() -> None:
    told = entry("rules", "一。", transition=Transition.RESOLVED)
    told.notes.append(WHILE_INCIDENT)
    told.spoken = "请注意。"
    text = markdown([told], "config")
    assert "— *while its incident stays red*" in text
    assert "  - 广播：请注意。" in text


def test_an_incident_message_shows_its_sms_in_one_line_or_in_parts() -> None:
    short = markdown([entry("incidents", "【橙色预警】水位1米。", title="raised")], "config")
    assert "- **raised**" in short
    assert "  - 短信：【橙色预警】水位1米。收到请回复3751。" in short
    long_text = "【红色预警】" + "毛坑山塘水位快速上涨，请立即转移。" * 8
    parts = markdown([entry("incidents", long_text, title="red")], "config", sms_chars=70)
    assert "  - 短信：\n    - " in parts
    lines = [line[6:] for line in parts.splitlines() if line.startswith("    - ")]
    assert len(lines) >= 2 and all(len(line) <= 70 for line in lines)
