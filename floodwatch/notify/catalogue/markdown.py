"""The catalogue as Markdown (docs/messages.md for the example config)."""

from __future__ import annotations

from itertools import groupby

from floodwatch.notify.catalogue.entries import WHILE_INCIDENT, Entry
from floodwatch.notify.sms import compose
from floodwatch.notify.sms_parts import segments

SECTIONS = {
    "rules": (
        "Alerts of the rules",
        "Per rule (at the first station it watches), per warning level and transition. "
        "Engineers and the command center see these; people are told per incident (below). "
        "广播 is what the village loudspeakers say (CAP). The all-clear belongs to the "
        "incident: a rule lowered or lifted while its incident goes on says that one "
        "condition has eased and that the incident goes on at its colour (【单项回落】, "
        "shown here as *while its incident stays red*); a rule says 【预警解除】 only when "
        "its incident ends with it, and 【预警降为…】 when the incident is lowered with it.",
    ),
    "sensors": (
        "Sensor notices",
        "For maintenance: each check the gauges of the first station the sensor rule "
        "watches run (stuck, spike and out of range only where configured). Never broadcast "
        "to villages.",
    ),
    "incidents": (
        "Incident messages",
        "What people receive (SMS, call-and-answer, broadcast): one message per change of "
        "an incident, from a storyline run through the incident tracker — every rule of "
        "the incident raised level by level, its level gauge silent during the warning "
        "and back, then everything lowered and lifted. 短信 is the SMS asking for an "
        "answer (an example reply code), in parts of at most 70 characters cut at natural "
        "boundaries (docs/notify.md).",
    ),
}


def markdown(entries: list[Entry], config_dir: str, sms_chars: int = 70) -> str:
    lines = [
        "# Messages",
        "",
        f"Every text the config in `{config_dir}` can make people read, written by "
        f"`floodwatch messages --config {config_dir}`. Figures are examples on either side "
        "of each line; the wording is what the engine sends. Drills add 【演练】 / "
        "[EXERCISE] in front. The rules these texts keep are in "
        "`floodwatch/notify/catalogue/check.py` (`floodwatch messages --check`).",
        "",
    ]
    for section, group in groupby(entries, key=lambda e: e.section):
        title, intro = SECTIONS[section]
        lines += [f"## {title}", "", intro, ""]
        for heading, items in groupby(group, key=lambda e: (e.title, e.station)):
            lines += [f"### {heading[0]} — `{heading[1]}`", ""]
            for entry in items:
                ev = entry.event
                label = (
                    entry.title
                    if section == "incidents"
                    else f"{ev.severity.value} · {ev.transition.value}"
                    + (
                        f" (from {ev.previous_severity.value})"
                        if ev.previous_severity and ev.transition.value != "resolved"
                        else ""
                    )
                    + (" — *while its incident stays red*" if WHILE_INCIDENT in entry.notes else "")
                )
                if section != "incidents":
                    lines.append(f"- **{label}**")
                else:
                    lines.append(f"- **{label}**")
                lines.append(f"  - 中文：{entry.zh}")
                lines.append(f"  - English: {entry.en}")
                if entry.spoken:
                    lines.append(f"  - 广播：{entry.spoken}")
                if section == "incidents":
                    lines += _sms(entry, sms_chars)
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _sms(entry: Entry, chars: int) -> list[str]:
    """The message as an SMS asking for an answer (example reply code), in parts."""
    parts = segments(compose([f"{entry.zh}收到请回复3751。"], exercise=False), chars, 3)
    if len(parts) == 1:
        return [f"  - 短信：{parts[0]}"]
    return ["  - 短信：", *(f"    - {part}" for part in parts)]
