"""The rules every text people read must keep (notify/catalogue/check.py),
checked over an entry at a time: each kind of defect found and said where,
and what is not a defect (a reply code, list numbers, a range, SMS part
numbers, the all-clear of an incident)."""

from __future__ import annotations

import msgspec
import pytest

from floodwatch.alerts.state import Transition
from floodwatch.notify.catalogue.check import problems
from floodwatch.notify.catalogue.entries import WHILE_INCIDENT, Entry, entries
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import compile_config

CONFIG = compile_config(load_config_dir("config"))
CATALOGUE = entries(CONFIG)


def test_the_example_catalogue_keeps_every_rule() -> None:
    assert problems(CONFIG, CATALOGUE) == []


def broken(
    zh: str,
    en: str,
    style: str = "rising",
    units: tuple[str, str] | None = ("米", "m"),
    **event: object,
) -> Entry:
    base = CATALOGUE[0]
    fields: dict[str, object] = {"message_zh": zh, "message_en": en, **event}
    event_ = msgspec.structs.replace(base.event, **fields)
    return Entry("rules", base.rule, "", base.station, event_, units=units, style=style)


@pytest.mark.parametrize(
    ("zh", "en", "style", "found"),
    [
        (
            "【橙色预警】毛坑山塘放水涵管疑似堵塞，判据0.37米（maokeng-pond.level.rate_of_rise "
            "0.366；maokeng-culvert.flow.value 0.054）。",
            "x 1 m",
            "rising",
            "Latin letters",
        ),
        ("【橙色预警】毛坑山塘水位311.62米，判据0.37。", "x 1 m", "rising", "without a unit"),
        ("水位1米。", "level 1 m (maokeng-pond).", "rising", "id 'maokeng-pond'"),
        ("水位1米。", "level 1 m；rising.", "rising", "full-width"),
        ("雨量1米。请做好转移准备。请做好转移准备。", "rain 1 m.", "rising", "said twice"),
        ("水位1米，已恢复正常。", "level 1 m.", "rising", "back to normal"),
        ("1h累计雨量30米。", "rain 1 m.", "rising", "Latin letters"),
        ("毛坑山塘水位距坝顶0.0米，预计0分钟后漫顶。", "level 1 m.", "rising", "zero minutes"),
        (
            "【预警降为橙色】距坝顶0.33米，已回到红色解除线0.25米以内。",
            "freeboard 0.33 m.",
            "falling",
            "lowered as if it rose",
        ),
        ("水位1米，已低于橙色解除线1米。", "level 1 m.", "rising", "all-clear while its incident"),
        ("水位1米。", "[Warning lifted] level 1 m.", "rising", "all-clear while its incident"),
    ],
)
def test_the_check_finds_each_kind_of_defect(zh: str, en: str, style: str, found: str) -> None:
    entry = broken(zh, en, style, transition=Transition.DOWNGRADED)
    assert any(found in line for line in problems(CONFIG, [entry])), problems(CONFIG, [entry])


def test_a_clean_entry_has_no_problem_and_a_broken_one_says_where() -> None:
    clean = broken("毛坑山塘水位311.62米。", "Maokeng pond level 311.62 m.")
    assert problems(CONFIG, [clean]) == []
    [line] = problems(CONFIG, [broken("水位311.62。", "level 311.62 m.", units=None)])
    base = CATALOGUE[0]
    ev = base.event
    assert line.startswith(f"rules {base.rule} {ev.severity.value} {ev.transition.value} [zh]: ")
    assert "figure 311.62 without a unit" in line


@pytest.mark.parametrize(
    ("zh", "en"),
    [
        ("水位1米。收到请回复3751。", "level 1 m."),  # the SMS reply code
        ("1.【橙色预警】水位1米。2.【黄色预警】雨量3毫米。", "level 1 m."),  # list numbers
        ("水位1～2米。", "level 1 to 2 m."),  # a range: the unit once
        ("(1/2)水位1米。", "(1/2) level 1 m."),  # SMS part numbers
        ("预计1小时30分钟后漫顶。", "overtops in 1 h 30 min."),
    ],
)
def test_figures_that_are_not_measures_need_no_unit(zh: str, en: str) -> None:
    assert problems(CONFIG, [broken(zh, en, units=None)]) == []


def test_the_loudspeakers_words_are_checked_like_the_chinese_text() -> None:
    entry = broken("水位1米。", "level 1 m.")
    entry.spoken = "毛坑山塘水位1。请注意安全。"
    assert any("[spoken]: figure 1 without a unit" in p for p in problems(CONFIG, [entry]))


def test_a_rules_measure_is_named_in_both_languages() -> None:
    found = problems(CONFIG, [broken("水位1。", "level 1.", units=("米", "m"))])
    assert any("the unit 米 is missing" in p for p in found)
    assert any("the unit m is missing" in p for p in found)


def test_only_an_incidents_all_clear_says_all_is_back_to_normal() -> None:
    base = CATALOGUE[0]
    said = "【预警解除】毛坑山塘水位已恢复正常。"

    def incident(change: str) -> Entry:
        event = msgspec.structs.replace(
            base.event, message_zh=said, message_en="All clear.", details={"change": change}
        )
        return Entry("incidents", base.rule, "", base.station, event)

    assert problems(CONFIG, [incident("all_clear")]) == []
    assert any("before the all-clear" in p for p in problems(CONFIG, [incident("lowered")]))


def test_a_rule_lifted_as_its_incident_ends_may_say_lifted_but_not_while_it_goes_on() -> None:
    lifted = broken(
        "【预警解除】水位1米。", "[Warning lifted] level 1 m.", transition=Transition.RESOLVED
    )
    assert problems(CONFIG, [lifted]) == []
    lifted.notes.append(WHILE_INCIDENT)
    assert len([p for p in problems(CONFIG, [lifted]) if "while its incident" in p]) == 2


def test_metric_paths_and_ids_are_found_in_english() -> None:
    found = problems(CONFIG, [broken("水位1米。", "level 1 m at pond-level, station_level.")])
    assert any("id 'pond-level'" in p for p in found)
    assert any("metric path or id" in p for p in found)
