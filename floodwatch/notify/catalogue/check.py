"""The rules every text people read must keep, checked over a catalogue
(`floodwatch messages --check`, and `tests/unit/notify/catalogue/test_check.py`):

- units: every figure in a Chinese text is followed by a Chinese unit (米,
  米/小时, 毫米, 立方米每秒, 分钟, 小时 …), every figure in an English text by an
  English one (m, m/h, mm, m³/s, min, h …); a rule's text carries its
  measure's unit in both languages;
- no ids: no Latin letters at all in Chinese texts (no ids, metric paths or
  "1h"); no station id, rule id or metric path in English texts;
- English texts use ASCII punctuation and no Chinese characters;
- no sentence is said twice in one text;
- a rule's text never says "恢复正常" / "back to normal", nor an incident's
  before its all-clear;
- the all-clear belongs to the incident: a rule lowered, or lifted while its
  incident goes on, never says 解除 / "lifted" / "all clear" (a lowered rule's
  incident is always still on);
- a hazard that grows worse as its number falls (freeboard, minutes to the
  crest) is never lowered "以内" or "below" its reset line;
- nothing says "0分钟后" or "距坝顶0.0米": at the crest the dam is overtopping.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from floodwatch.notify.catalogue.entries import Entry
    from floodwatch.rules.compile import CompiledConfig

NUMBER = r"[+\-]?\d+(?:\.\d+)?"
ZH_UNIT = r"(?:立方米每秒|米/小时|毫米|米|分钟|小时|秒|天|条|个)"
EN_UNIT = r"(?:m³/s|m/h|mm|m|min|h|s|-hour|-minute)\b"
# Figures that are not measures: an SMS reply code, list numbers, warning grades.
ZH_BARE = re.compile(rf"收到请回复\d+|\d+\.(?=【)|{NUMBER}(?=～{NUMBER})")
EN_BARE = re.compile(rf"{NUMBER}(?= to {NUMBER})|{NUMBER} h {NUMBER} min")
FULL_WIDTH = re.compile(r"[\u3000-\u303f\uff00-\uffef\u4e00-\u9fff]")
SENTENCE_ZH = re.compile(r"[^。！？]+[。！？]")
SENTENCE_EN = re.compile(r"[^.!?]+(?:[.!?](?=\s|$)|$)")


# The words of an all-clear: the incident's alone (a rule's only when the incident ends with it).
ALL_CLEAR = re.compile(r"解除|恢复正常|(?i:all[- ]clear|back to normal|lifted)")


def _incident_goes_on(entry: Entry) -> bool:
    """A rule entry told while its incident goes on: lowered (its own alert is
    still on), or lifted while its incident stays red."""
    return entry.event.transition.value == "downgraded" or "while-incident" in entry.notes


def _bare_figures(text: str, unit: str, allowed: re.Pattern[str]) -> list[str]:
    text = allowed.sub("", text)
    return [
        m.group()
        for m in re.finditer(rf"(?<![0-9A-Za-z_.]){NUMBER}(?!\s?{unit}|\d|\.\d)", text)
        if not _is_grade(text, m)
    ]


def _is_grade(text: str, match: re.Match[str]) -> bool:
    """'(1/2)' part numbers and similar are not figures of a measure."""
    return text[max(0, match.start() - 1) : match.start()] in "(/" and match.group().isdigit()


def _ids(compiled: CompiledConfig) -> list[str]:
    config = compiled.config
    ids = [s.id for s in config.stations] + [r.id for r in config.rules]
    return sorted(set(ids), key=len, reverse=True)


def problems(compiled: CompiledConfig, entries: list[Entry]) -> list[str]:
    """Every broken rule, as "<where>: <what>" lines (none: the catalogue is clean)."""
    ids = _ids(compiled)
    path = re.compile(r"\b[a-z_]+\.[a-z_]+\.[a-z_]+\b|\b[a-z]+_[a-z_]+\b")
    out: list[str] = []
    for entry in entries:
        ev = entry.event
        where = f"{entry.section} {entry.rule} {ev.severity.value} {ev.transition.value}"
        texts = [("zh", entry.zh), ("en", entry.en)]
        if entry.spoken:
            texts.append(("spoken", entry.spoken))
        for lang, text in texts:
            zh = lang != "en"
            unit, bare = (ZH_UNIT, ZH_BARE) if zh else (EN_UNIT, EN_BARE)
            for figure in _bare_figures(text, unit, bare):
                out.append(f"{where} [{lang}]: figure {figure} without a unit: {text}")
            if zh and re.search(r"[A-Za-z_]", text):
                found = re.findall(r"[A-Za-z_][\w./-]*", text)
                out.append(f"{where} [{lang}]: Latin letters {found} in a Chinese text: {text}")
            if not zh:
                out.extend(_english_problems(where, text, ids, path))
            sentences = [
                s.strip() for s in (SENTENCE_ZH if zh else SENTENCE_EN).findall(text) if s.strip()
            ]
            repeated = {s for s in sentences if sentences.count(s) > 1}
            if repeated:
                out.append(f"{where} [{lang}]: said twice {sorted(repeated)}: {text}")
            if re.search(r"(?<![\d.])0(?:\.0+)?分钟后|距坝顶0(?:\.0+)?米", text):
                out.append(f"{where} [{lang}]: says zero minutes or metres to go: {text}")
            out.extend(_all_clear_problems(f"{where} [{lang}]", text, entry))
        out.extend(_entry_problems(where, entry))
    return out


def _all_clear_problems(where: str, text: str, entry: Entry) -> list[str]:
    """The all-clear is the incident's: no rule says all is back to normal, an
    incident only in its all-clear, and no rule says 解除 while its incident goes on."""
    out: list[str] = []
    normal = "恢复正常" in text or "back to normal" in text
    if normal and entry.section == "rules":
        out.append(f"{where}: a rule's text says all is back to normal: {text}")
    if normal and entry.section == "incidents" and entry.event.details.get("change") != "all_clear":
        out.append(f"{where}: back to normal before the all-clear: {text}")
    if entry.section == "rules" and ALL_CLEAR.search(text) and _incident_goes_on(entry):
        out.append(f"{where}: a rule says all-clear while its incident goes on: {text}")
    return out


def _entry_problems(where: str, entry: Entry) -> list[str]:
    """Checks of an entry as a whole: its units are named, a falling hazard lowers right."""
    out: list[str] = []
    if entry.units is not None:
        zh_unit, en_unit = entry.units
        if zh_unit not in entry.zh:
            out.append(f"{where} [zh]: the unit {zh_unit} is missing: {entry.zh}")
        if en_unit not in entry.en:
            out.append(f"{where} [en]: the unit {en_unit} is missing: {entry.en}")
    if entry.style != "rising" and entry.event.transition.value == "downgraded":
        if "以内" in entry.zh or "已低于" in entry.zh or "now below" in entry.en:
            out.append(f"{where}: a falling-is-worse hazard lowered as if it rose: {entry.zh}")
    return out


def _english_problems(where: str, text: str, ids: list[str], path: re.Pattern[str]) -> list[str]:
    """What an English text must not carry: full-width marks, config ids, metric paths."""
    out: list[str] = []
    if FULL_WIDTH.search(text):
        found = FULL_WIDTH.findall(text)
        out.append(f"{where} [en]: full-width or Chinese {found}: {text}")
    for name in ids:
        if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
            out.append(f"{where} [en]: id {name!r} in the text: {text}")
    if path.search(text):
        out.append(f"{where} [en]: metric path or id {path.search(text)}: {text}")
    return out
