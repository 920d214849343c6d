"""`backtest.words`: how the backtest report speaks — Chinese, English or both
(Chinese, then the English in brackets where it differs), times in the
config's zone with their offset, stations and rules by their names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from floodwatch.alerts.state import Severity
from floodwatch.backtest.analysis import STANDING
from floodwatch.backtest.words import LANGS, TEXT, Words, duration
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.testing import compile_yaml
from tests.conftest import POND
from tests.integration.services import ROOT


@pytest.fixture(scope="module")
def compiled() -> CompiledConfig:
    return compile_config(load_config_dir(ROOT / "config"))


def test_each_language_picks_its_words(compiled: CompiledConfig) -> None:
    zh, en, both = (Words(lang, compiled) for lang in LANGS)
    assert (zh("hit"), en("hit"), both("hit")) == ("命中", "hit", "命中 (hit)")
    assert both.pick("测站", "station") == "测站 (station)"
    assert both.pick("m³/s", "m³/s") == "m³/s"  # the same in both: said once
    for key, (z, e) in TEXT.items():
        assert z and e, key
    with pytest.raises(KeyError):
        en("no-such-key")


def test_times_are_in_the_configs_zone_with_their_offset(compiled: CompiledConfig) -> None:
    at = datetime(2026, 7, 9, 7, 40, tzinfo=UTC)
    assert Words("en", compiled).when(at) == "2026-07-09 15:40 +08:00"  # Asia/Shanghai
    utc = compile_yaml(floodwatch="engine: {timezone: UTC}", stations=POND)
    assert Words("en", utc).when(at) == "2026-07-09 07:40 +00:00"
    assert Words("en", compile_yaml(stations=POND)).when(at).endswith("+08:00")  # the default


def test_stations_and_rules_by_name_and_unknown_ids_as_they_are(compiled: CompiledConfig) -> None:
    zh, en, both = (Words(lang, compiled) for lang in LANGS)
    assert (zh.station("maokeng-pond"), en.station("maokeng-pond")) == ("毛坑山塘", "Maokeng pond")
    assert en.station("gone-pond") == "gone-pond"
    assert both.rule("pond-level") == "山塘水位 (pond level)"
    assert en.rule("pond-overtop") == "overtopping forecast"
    assert zh.rule("sensor-health/stale").endswith("/stale")  # a check of a health rule
    assert en.rule("no-such-rule") == "no-such-rule"


def test_a_name_without_its_english_falls_back_to_the_chinese() -> None:
    compiled = compile_yaml(stations=POND)  # c1 has no name_en
    assert Words("en", compiled).station("c1") == "测试涵管"
    assert Words("both", compiled).station("c1") == "测试涵管"


def test_severities_and_transitions(compiled: CompiledConfig) -> None:
    zh, both = Words("zh", compiled), Words("both", compiled)
    assert [zh.severity(s) for s in Severity] == ["设备", "蓝色", "黄色", "橙色", "红色"]
    assert both.severity(Severity.RED) == "红色 (red)"
    assert [zh.transition(t) for t in ("firing", "escalated", "downgraded", "resolved")] == [
        "发布",
        "升级",
        "降级",
        "解除",
    ]
    assert zh.transition("silenced") == "silenced"  # not one of ours: as it is


def test_durations_in_hours_and_minutes_and_signed() -> None:
    assert duration(None) == "—"
    assert duration(timedelta(minutes=7)) == "7m"
    assert duration(timedelta(hours=3, minutes=5)) == "3h05m"
    assert duration(timedelta(hours=-1, minutes=-30)) == "-1h30m"
    assert duration(timedelta(minutes=-20)) == "-20m"
    assert duration(timedelta(seconds=59)) == "0m"


def test_a_lead_time_standing_since_before_the_window_says_so(compiled: CompiledConfig) -> None:
    window = timedelta(hours=24)
    en, zh = Words("en", compiled), Words("zh", compiled)
    assert en.lead(STANDING, window) == "already active before the event (≥ 24h00m)"
    assert zh.lead(STANDING, window) == "事件前已在预警中（≥ 24h00m）"
    assert en.lead(timedelta(hours=2), window) == "2h00m"
    assert en.lead(None, window) == "—"
    assert en.duration(timedelta(minutes=90)) == "1h30m"
