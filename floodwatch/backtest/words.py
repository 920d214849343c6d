"""How the backtest report speaks: Chinese, English or both, in the service's
time zone, with station and rule names (not ids).

`Words(lang, compiled)`: `lang` is `zh`, `en` or `both` (Chinese, then the
English in brackets where it differs); times are shown in the config's
`engine.timezone` with their offset (`2026-07-09 15:40 +08:00`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from floodwatch.alerts.state import Severity
from floodwatch.backtest.analysis import STANDING, LeadValue
from floodwatch.rules.compile import CompiledConfig

Lang = Literal["zh", "en", "both"]
LANGS: tuple[Lang, ...] = ("zh", "en", "both")

SEVERITY_ZH = {
    Severity.INFO: "设备",
    Severity.BLUE: "蓝色",
    Severity.YELLOW: "黄色",
    Severity.ORANGE: "橙色",
    Severity.RED: "红色",
}
TRANSITION_ZH = {"firing": "发布", "escalated": "升级", "downgraded": "降级", "resolved": "解除"}

# key → (zh, en)
TEXT: dict[str, tuple[str, str]] = {
    "title": ("预警规则回测报告", "floodwatch backtest"),
    "config": ("配置", "config"),
    "compared": ("对比配置", "compared with"),
    "input": ("输入", "input"),
    "readings": ("条读数", "readings"),
    "set_aside": ("未采用", "set aside"),
    "none": ("无", "none"),
    "run_time": ("运行时间", "run time"),
    "zone": ("时区", "time zone"),
    "totals": ("汇总", "Totals"),
    "alerts_reaching": ("达到等级的预警", "alerts reaching"),
    "count": ("次数", "count"),
    "episodes": ("预警过程", "episodes"),
    "time_in_alert": ("预警时长", "time in alert"),
    "events": ("事件", "Events"),
    "time": ("时间", "time"),
    "station": ("测站", "station"),
    "rule": ("规则", "rule"),
    "what": ("情况", "what"),
    "result": ("结果", "result"),
    "lead": ("预见期", "lead time"),
    "hit": ("命中", "hit"),
    "miss": ("漏报", "miss"),
    "false_alarms": ("误报", "False alarms"),
    "start": ("开始", "start"),
    "top": ("最高等级", "top"),
    "lasted": ("持续", "lasted"),
    "per_station": ("按测站和规则", "Per station and rule"),
    "plots": ("预警过程图", "Episodes"),
    "no_plots": ("没有值得绘图的预警过程。", "No episode worth a plot."),
    "no_false": ("无。", "None."),
    "change": ("修改的影响", "What the change does"),
    "added": ("新增", "added"),
    "removed": ("取消", "removed"),
    "severity": ("等级", "severity"),
    "transition": ("变化", "transition"),
    "lead_before": ("修改前预见期", "lead before"),
    "lead_after": ("修改后预见期", "lead after"),
    "lead_change": ("变化", "change"),
    "forecasts": ("预报方法对比", "Forecasts side by side"),
    "event": ("事件", "event"),
    "pdf_missing": ("PDF 未生成", "PDF not written"),
}


@dataclass(frozen=True)
class Words:
    lang: Lang
    compiled: CompiledConfig

    def __call__(self, key: str) -> str:
        zh, en = TEXT[key]
        return self.pick(zh, en)

    def pick(self, zh: str, en: str) -> str:
        if self.lang == "zh":
            return zh
        if self.lang == "en" or zh == en:
            return en
        return f"{zh} ({en})"

    def when(self, ts: datetime) -> str:
        """The time in the service's zone, with its offset."""
        local = ts.astimezone(self.compiled.zone)
        offset = local.strftime("%z")
        return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"

    def station(self, sid: str) -> str:
        info = self.compiled.stations.get(sid)
        if info is None:
            return sid
        return self.pick(info.model.name, info.model.name_en or info.model.name)

    def rule(self, rid: str) -> str:
        base, _, check = rid.partition("/")
        for rule in self.compiled.config.rules:
            if rule.id == base:
                name = rule.name or rule.id
                named = self.pick(name, rule.name_en or name)
                return f"{named}/{check}" if check else named
        return rid

    def severity(self, severity: Severity) -> str:
        return self.pick(SEVERITY_ZH[severity], severity.value)

    def transition(self, transition: str) -> str:
        return self.pick(TRANSITION_ZH.get(transition, transition), transition)

    def duration(self, delta: timedelta | None) -> str:
        return duration(delta)

    def lead(self, value: LeadValue, window: timedelta) -> str:
        if value == STANDING:
            limit = duration(window)
            return self.pick(
                f"事件前已在预警中（≥ {limit}）", f"already active before the event (≥ {limit})"
            )
        return duration(value if isinstance(value, timedelta) else None)


def duration(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    hours, rest = divmod(abs(minutes), 60)
    sign = "-" if minutes < 0 else ""
    return f"{sign}{hours}h{rest:02d}m" if hours else f"{sign}{rest}m"
