"""The catalogue's sensor notices (notify/catalogue/sensors.py): each check a
gauge runs, its notice and its all-clear, worded as maintenance, never as a
flood warning; and only the checks the engine can raise for that gauge."""

from __future__ import annotations

from floodwatch.alerts.state import Severity, Transition
from floodwatch.notify.catalogue.entries import contexts
from floodwatch.notify.catalogue.sensors import sensor_entries
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import Binding, CompiledConfig, compile_config
from floodwatch.testing import compile_yaml
from tests.conftest import POND

EXAMPLE = compile_config(load_config_dir("config"))
COLOURS = ("蓝色", "黄色", "橙色", "红色", "预警解除", "恢复正常")


def health(compiled: CompiledConfig, station: str) -> Binding:
    return next(
        b
        for b in compiled.bindings
        if b.station.id == station and getattr(b.rule, "kind", "") == "sensor_health"
    )


def checks(compiled: CompiledConfig, station: str) -> dict[str, str]:
    """check -> the notice's Chinese text, for the station's gauges."""
    found = sensor_entries(health(compiled, station), contexts(compiled))
    return {
        f"{e.station}/{e.event.details['check']}": e.zh
        for e in found
        if e.event.transition is Transition.FIRING
    }


def test_each_check_of_the_pond_level_gauge_has_a_notice_and_an_all_clear() -> None:
    found = sensor_entries(health(EXAMPLE, "maokeng-pond"), contexts(EXAMPLE))
    assert [(e.event.details["check"], e.event.transition) for e in found] == [
        (check, step)
        for check in ("stale", "stuck", "spike", "out_of_range", "gauge_fault", "over_limit")
        for step in (Transition.FIRING, Transition.RESOLVED)
    ]
    for entry in found:
        event = entry.event
        assert event.severity is Severity.INFO and entry.section == "sensors"
        assert entry.rule == f"sensor-health/{event.details['check']}"
        assert entry.title == f"`{entry.rule}` 水位计 (level)" and entry.station == "maokeng-pond"
        assert event.previous_severity is (
            Severity.INFO if event.transition is Transition.RESOLVED else None
        )
        if event.transition is Transition.FIRING:
            assert entry.zh.startswith("【设备告警】毛坑村毛坑山塘水位计"), entry.zh
            assert entry.zh.endswith("请安排维护。") and entry.en.endswith(
                "Please send maintenance."
            )
        else:
            assert entry.zh.startswith("【设备告警解除】毛坑村毛坑山塘水位计"), entry.zh
            assert entry.en.startswith("[Sensor OK] Maokeng pond (Maokeng village): level gauge")
        assert not any(word in entry.zh for word in COLOURS), entry.zh  # maintenance, not a flood


def test_the_figures_are_those_of_the_gauges_own_limits_and_rule() -> None:
    said = checks(EXAMPLE, "maokeng-pond")
    assert said["maokeng-pond/out_of_range"] == (
        "【设备告警】毛坑村毛坑山塘水位计读数314.50米，超出量程305～313米，"
        "该读数不参与预警判断。请安排维护。"
    )
    assert said["maokeng-pond/stuck"] == (
        "【设备告警】毛坑村毛坑山塘水位计读数310.00米已6小时未变化，暂不参与预警判断。请安排维护。"
    )  # stuck_for: 6h
    assert said["maokeng-pond/stale"] == (
        "【设备告警】毛坑村毛坑山塘水位计已10分钟无数据上报，失联期间现有预警保持不变。请安排维护。"
    )


RULE = """rules:
  - {id: health, kind: sensor_health, stations: [p1, r1, c1], stale_after: 2, stuck_for: 1h}
"""


def test_a_gauge_without_limits_or_stuck_check_is_told_only_what_it_can_be_told() -> None:
    """The culvert's flow meter declares no limits and flow is not in
    `stuck_kinds`: no out-of-range, spike or stuck notice (the engine raises
    none); a notice for them would read "读数12立方米每秒，超出量程"."""
    compiled = compile_yaml(stations=POND, rules=RULE)
    assert list(checks(compiled, "c1")) == ["c1/stale", "c1/gauge_fault", "c1/over_limit"]
    assert list(checks(compiled, "p1")) == [
        "p1/stale",
        "p1/stuck",
        "p1/spike",
        "p1/out_of_range",
        "p1/gauge_fault",
        "p1/over_limit",
    ]
    assert "已1小时未变化" in checks(compiled, "p1")["p1/stuck"]  # stuck_for: 1h


def test_a_lower_limit_alone_is_told_with_a_reading_below_it() -> None:
    stations = POND.replace(
        "limits: {level: {min: 300.0, max: 315.0, max_step: 0.3}}", "limits: {level: {min: 300.0}}"
    )
    said = checks(compile_yaml(stations=stations, rules=RULE), "p1")
    assert said["p1/out_of_range"] == (
        "【设备告警】测试山塘水位计读数298.50米，低于量程下限300米，该读数不参与预警判断。请安排维护。"
    )
    assert "p1/spike" not in said  # no max_step


def test_rain_is_never_below_zero_so_a_rain_gauge_can_read_out_of_range() -> None:
    said = checks(compile_yaml(stations=POND, rules=RULE), "r1")
    assert said["r1/out_of_range"] == (
        "【设备告警】测试雨量站雨量计读数-1.5毫米，低于量程下限0毫米，该读数不参与预警判断。请安排维护。"
    )
    assert "r1/stuck" not in said  # rain is often 0 for hours: not in stuck_kinds


def test_a_spike_told_is_larger_than_the_gauges_max_step() -> None:
    stations = POND.replace("max_step: 0.3", "max_step: 8.0")
    said = checks(compile_yaml(stations=stations, rules=RULE), "p1")
    assert "读数突然上跳16.00米，上次可信读数为310.00米" in said["p1/spike"]


def test_a_station_the_rule_does_not_watch_has_no_notice() -> None:
    compiled = compile_yaml(stations=POND, rules=RULE)
    binding = health(compiled, "p1")
    assert sensor_entries(binding, {}) == []  # no instance found for it
