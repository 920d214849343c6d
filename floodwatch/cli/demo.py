"""`floodwatch demo`: a July storm at a small pond whose outlet culvert blocks,
replayed through the engine (and, with the board, through a real service and
the demo's recorded warning chain), told in the terminal in Chinese
(`--lang zh`), English (`en`) or English with both alert texts (`both`)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import EASED_ZH
from floodwatch.alerts.state import Severity
from floodwatch.backtest.words import SEVERITY_ZH, TRANSITION_ZH
from floodwatch.cli.options import config_option, load_or_exit, scenario_option
from floodwatch.notify.record import BoxMessage
from floodwatch.readings import Reading
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.rules.engine import Engine
from floodwatch.rules.incidents.text import rule_names
from floodwatch.rules.incidents.tracker import IncidentTracker
from floodwatch.sim import SCENARIOS, simulate
from floodwatch.web.demo import Sms

POND = "maokeng-pond"  # the pond whose level the demo draws
COLOURS = {
    Severity.RED: "red",
    Severity.ORANGE: "bright_yellow",
    Severity.YELLOW: "yellow",
    Severity.BLUE: "blue",
    Severity.INFO: "white",
}
ROLE_ZH = {"operator": "值班员", "viewer": "只读", "admin": "管理员"}

# key -> (zh, en)
WORDS: dict[str, tuple[str, str]] = {
    "title": ("floodwatch 演示 — {what}", "floodwatch demo — {what}"),
    "config": (
        "配置：{dir}  测站：{stations}个  规则绑定：{bindings}条",
        "config: {dir}  stations: {stations}  rule bindings: {bindings}",
    ),
    "crest": (
        "（模拟中{pond}于当地时间 {at} 水位到达坝顶）",
        "(the simulated pond reaches its dam crest at {at} local time)",
    ),
    "board": (
        "指挥中心看板：{url}  登录：{accounts}",
        "command center: {url}  log in as {accounts}",
    ),
    "account": ("{name} / {password}（{role}）", "{name} / {password} ({role})"),
    "port_taken": (
        "端口 {port} 已被占用：本次不启动看板（可用 --port 换一个端口）",
        "port {port} is taken: no board this time (use --port)",
    ),
    "level": ("{at}  {pond}水位 {value:.2f} 米  {bar}", "{at}  pond level {value:7.2f} m  {bar}"),
    "sms": ("        短信 → {names}：{text}", "        SMS → {names}: {text}"),
    "box": ("        村广播 {village}：{text}", "        broadcast {village}: {text}"),
    "reply": (
        "{at}  {name}回复短信“{text}”：叫应已应答，预警已确认",
        "{at}  {name} replied by SMS “{text}”: call answered, warning acknowledged",
    ),
    "over": (
        "暴雨过程结束，看板继续运行于 {url}，按 Ctrl+C 退出",
        "The storm is over; the board keeps running at {url} — Ctrl+C to stop",
    ),
    "over_no_board": (
        "暴雨过程结束（看板未启动），按 Ctrl+C 退出",
        "The storm is over (no board) — Ctrl+C to stop",
    ),
    "summary": (
        "共 {shown} 条预警事件；结束时仍在生效 {active} 条",
        "{shown} alert events; still active at the end: {active}",
    ),
    "still": (
        "  {severity} {station} {rule}（自 {since} 起）",
        "  {severity:6} {station} {rule} (since {since})",
    ),
    "chain_sms": (
        "通知：短信 {messages} 条，发给 {people} 人",
        "notifications: {messages} SMS messages to {people} people",
    ),
    "chain_call": (
        "叫应 {station}：已呼叫 {called}；{ack}",
        "call-and-answer {station}: called {called}; {ack}",
    ),
    "ack_by": ("当前预警已由{by}确认", "the current warning acknowledged by {by}"),
    "no_ack": ("当前预警尚未确认", "the current warning not acknowledged"),
    "ack_before": (
        "{by}已应答此前的叫应，预警升级后重新叫应，尚未应答",
        "{by} answered an earlier call; called again when the warning was raised, not answered yet",
    ),
    "nobody": ("无", "nobody"),
    "chain_box": ("村广播 {village}（当前）：{text}", "broadcast {village} (now): {text}"),
    "silent": ("无", "nothing"),
    "separator": ("、", ", "),
}


class Teller:
    """The demo's terminal output (`web.demo.Narrator`)."""

    def __init__(self, compiled: CompiledConfig, lang: str) -> None:
        self.compiled = compiled
        self.lang = lang
        self.zh = lang == "zh"
        self.rules = rule_names(compiled.config.rules)
        self.villages = {  # code -> its name in the terminal's language
            s.model.village.code: s.model.village.name
            if self.zh
            else s.model.village.name_en or s.model.village.code
            for s in compiled.stations.values()
            if s.model.village is not None
        }
        self.shown = 0
        self.last_hour = -1
        self.messages = 0
        self.people: set[str] = set()
        self.boxes = 0

    def say(self, key: str, **values: object) -> str:
        zh, en = WORDS[key]
        return (zh if self.zh else en).format(**values)

    def local(self, ts: datetime) -> str:
        return ts.astimezone(self.compiled.zone).strftime("%H:%M")

    def station(self, sid: str) -> str:
        info = self.compiled.stations.get(sid)
        return info.model.name if self.zh and info is not None else sid

    def rule(self, rid: str) -> str:
        return self.rules[rid][0] if self.zh and rid in self.rules else rid

    def severity(self, severity: Severity) -> str:
        return SEVERITY_ZH[severity] if self.zh else severity.value

    # -- web.demo.Narrator --------------------------------------------------------

    def alert(self, event: AlertEvent) -> None:
        self.shown += 1
        colour = COLOURS[event.severity]
        when = self.local(event.ts)
        if self.zh:
            # a rule eased while its incident goes on is not "解除" (the incident's word)
            eased = event.message_zh.startswith(EASED_ZH)
            what = "回落" if eased else TRANSITION_ZH[event.transition.value]
            where = f"{self.station(event.station)}·{self.rule(event.rule)}"
            head = f"{when}  {self.severity(event.severity)}{what}  {where}"
        else:
            head = (
                f"{when}  {event.severity.value.upper():6} {event.transition.value:10} {event.rule}"
            )
        click.secho(head, fg=colour, bold=event.severity is Severity.RED)
        if self.lang in ("zh", "both"):
            click.echo(f"        {event.message_zh}")
        if self.lang in ("en", "both"):
            click.echo(f"        {event.message_en}")

    def sweep(self, ts: datetime, readings: list[Reading]) -> None:
        level = next((r.value for r in readings if r.station == POND), None)
        local = ts.astimezone(self.compiled.zone)
        if local.hour != self.last_hour and level is not None:
            self.last_hour = local.hour
            bar = "█" * max(0, int((level - 310.0) * 20))
            line = self.say(
                "level", at=f"{local:%H:%M}", pond=self.station(POND), value=level, bar=bar
            )
            click.secho(line, dim=True)

    def sms(self, message: Sms) -> None:
        self.messages += len(message.names)
        self.people.update(message.names)
        names = self.say("separator").join(message.names)
        click.secho(self.say("sms", names=names, text=message.text), fg="cyan")

    def box(self, message: BoxMessage) -> None:
        self.boxes += 1
        text = str(message.twin.get("text", ""))
        village = self.villages.get(message.village, message.village_name)
        click.secho(self.say("box", village=village, text=text), fg="magenta")

    def reply(self, at: datetime, name: str, text: str, acknowledged: list[str]) -> None:
        line = self.say("reply", at=self.local(at), name=name, text=text)
        click.secho(line, fg="green")

    def port_taken(self, port: int) -> None:
        click.echo(self.say("port_taken", port=port))

    def storm_over(self, url: str | None) -> None:
        click.echo()
        click.secho(self.say("over", url=url) if url else self.say("over_no_board"), bold=True)

    # -- the end --------------------------------------------------------------------

    def _ack(self, call: dict[str, Any]) -> str:
        now, before = call["acknowledged"], call["acknowledgements"]
        if now is not None:
            return self.say("ack_by", by=now["by"])
        if before:
            return self.say(
                "ack_before", by=self.say("separator").join({a["by"]: 0 for a in before})
            )
        return self.say("no_ack")

    def ends(
        self, ends: list[tuple[Severity, str, str, datetime]], told: dict[str, Any] | None
    ) -> None:
        click.echo()
        click.secho(self.say("summary", shown=self.shown, active=len(ends)), bold=True)
        for severity, station, rule, since in ends:
            click.echo(
                self.say(
                    "still",
                    severity=self.severity(severity),
                    station=self.station(station),
                    rule=self.rule(rule),
                    since=self.local(since),
                )
            )
        if told is None:
            return
        messages = sum(len(p["messages"]) for p in told["sms"])
        click.echo(self.say("chain_sms", messages=messages, people=len(told["sms"])))
        sep = self.say("separator")
        for call in told["calls"]:
            called = [c["name"] for c in call["called"]]
            click.echo(
                self.say(
                    "chain_call",
                    station=call["station_name"] if self.zh else call["station"],
                    called=sep.join(called) or self.say("nobody"),
                    ack=self._ack(call),
                )
            )
        for box in told["broadcasts"]:
            now = box["current"]
            village = self.villages.get(box["village"], box["village_name"])
            text = now["text"] if now else self.say("silent")
            click.echo(self.say("chain_box", village=village, text=text))


@click.command()
@config_option
@scenario_option
@click.option(
    "--speed",
    type=float,
    default=2400.0,
    show_default=True,
    help="simulated seconds per real second",
)
@click.option("--fast", is_flag=True, help="no pacing: run at full speed")
@click.option("--lang", type=click.Choice(["zh", "en", "both"]), default="both", show_default=True)
@click.option(
    "--board/--no-board",
    default=True,
    show_default=True,
    help="serve the command center's board and run the recorded warning chain",
)
@click.option("--port", type=int, default=8080, show_default=True, help="the board's port")
@click.option("--stay", is_flag=True, help="keep serving the board after the storm (Ctrl-C)")
def demo(
    config_dir: Path,
    scenario: str,
    speed: float,
    fast: bool,
    lang: str,
    board: bool,
    port: int,
    stay: bool,
) -> None:
    """Replay a July storm at a small pond whose outlet culvert blocks, and show
    the warnings as they happen, in the terminal and on the command center's
    board, with the SMS, calls and village broadcasts they cause (recorded,
    nothing sent; no broker needed)."""
    import logging

    # The terminal tells the warning chain itself; the service's own log lines
    # (English, for operators) would only repeat it. Errors still show.
    logging.getLogger("floodwatch").setLevel(logging.ERROR)
    loaded = load_or_exit(config_dir)
    compiled = compile_config(loaded)
    teller = Teller(compiled, lang)
    sc = replace(SCENARIOS[scenario], hours=14.0)
    result = simulate(sc, quiet_ponds={"xiawu-pond": 203.8})
    what = sc.description_zh if teller.zh and sc.description_zh else sc.description
    click.secho(teller.say("title", what=what), bold=True)
    click.echo(
        teller.say(
            "config",
            dir=config_dir,
            stations=len(compiled.stations),
            bindings=len(compiled.bindings),
        )
    )
    if result.crest_reached:
        click.echo(
            teller.say("crest", pond=teller.station(POND), at=teller.local(result.crest_reached))
        )
    by_time: dict[datetime, list[Reading]] = {}
    for reading in result.readings:
        by_time.setdefault(reading.ts, []).append(reading)
    sweeps = sorted(by_time.items())
    pause = 0.0 if fast else 300 / speed

    if board:
        import asyncio

        from floodwatch.web.demo import DEMO_USERS, run_demo_board

        accounts = teller.say("separator").join(
            teller.say("account", name=n, password=p, role=ROLE_ZH[r] if teller.zh else r)
            for n, (r, p) in DEMO_USERS.items()
        )
        url = f"http://127.0.0.1:{port}/"
        click.secho(teller.say("board", url=url, accounts=accounts), bold=True)
        click.echo()
        outcome = asyncio.run(
            run_demo_board(
                loaded,
                sweeps,
                port=port,
                pause=pause,
                stay=stay,
                narrator=teller,
                config_dir=config_dir,
            )
        )
        ends = [(a.severity, a.station, a.rule, a.episode_start) for a in outcome.active]
        told = outcome.told
    else:
        click.echo()
        engine = Engine(compiled)
        # the incident tracker words a rule eased while its incident goes on, as in service
        incidents = IncidentTracker(compiled.config.stations, compiled.config.engine.incidents)
        for ts, readings in sweeps:
            out = engine.process(readings)
            out.extend(engine.advance(ts))
            teller.sweep(ts, readings)
            for event in incidents.apply(out.alerts, out.figures).alerts:
                teller.alert(event)
            if pause:
                time.sleep(pause)
        last = engine.flush()
        for event in incidents.apply(last.alerts, last.figures).alerts:
            teller.alert(event)
        ends = [(a.severity, a.station, a.rule, a.since) for a in engine.active_alerts()]
        told = None
    teller.ends(ends, told)
