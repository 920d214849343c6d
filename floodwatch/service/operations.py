"""Alerts made outside the engine: operations alerts about floodwatch itself (a
config that does not load, a destination failing) and drills started by a
duty officer. Each is stored and routed like any alert
(`Service.record_and_announce`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import msgspec

from floodwatch.alerts.event import AlertEvent, episode_id
from floodwatch.alerts.messages import Place
from floodwatch.alerts.operations import STATION
from floodwatch.alerts.state import Severity, Status, Transition
from floodwatch.config.errors import ConfigIssue
from floodwatch.notify.health import Health
from floodwatch.readings import ms_to_dt

if TYPE_CHECKING:
    from floodwatch.service.run import Service

CONFIG_RULE = "floodwatch/config"  # the operations alert of a config that does not load
DELIVERY_RULE = "floodwatch/delivery"  # … of a destination failing or refusing
DRILL_RULE = "floodwatch/drill"  # a drill started by a duty officer


def take_back(service: Service) -> None:
    """At start, with the store open: the operations alerts still open from
    before the restart are the service's again (`OperationsAlerts.restore`).
    The config's is resolved at once — this start loaded the config."""
    assert service.store is not None
    service.operations.restore(
        AlertEvent.from_json(body) for body in service.store.active() if body["station"] == STATION
    )
    if (CONFIG_RULE, "config") in service.operations.open:
        config_alert(service, [])


def carry_trouble(service: Service, healths: dict[str, Health]) -> None:
    """Once the destinations are built: each one whose `floodwatch/delivery`
    alert was open at the restart is still failing until it works
    (`Health.carried`); the alert of a destination no longer configured ends."""
    for (rule, name), event in list(service.operations.open.items()):
        if rule != DELIVERY_RULE:
            continue
        health = healths.get(name)
        if health is not None:
            since = event.details.get("since")
            error = event.details.get("error")
            health.carried(
                float(since) if isinstance(since, int | float) else time.time(),
                str(error or ""),
            )
            continue
        service.record_and_announce(
            service.operations.resolve(
                DELIVERY_RULE,
                name,
                int(time.time() * 1000),
                f"通知渠道{name}已从配置中删除，不再报告其故障",
                f"destination {name} is no longer configured; its failure is no longer reported",
            )
        )


def config_alert(service: Service, issues: list[ConfigIssue]) -> None:
    """Raise (or resolve) the `info` operations alert on the config."""
    now = int(time.time() * 1000)
    if issues:
        first = str(issues[0])
        event = service.operations.raise_(
            CONFIG_RULE,
            "config",
            now,
            f"配置文件有误，仍按原配置运行：{first}",
            f"config reload failed, still running on the previous config: {first}",
            {"issues": [str(i) for i in issues]},
        )
    else:
        event = service.operations.resolve(
            CONFIG_RULE,
            "config",
            now,
            "配置已更新，错误已消除",
            "config reloaded; the error is gone",
        )
    service.record_and_announce(event)


def start_drill(service: Service, station: str, severity: Severity, by: str) -> AlertEvent:
    """A drill (演练) alert at `station`, started by a duty officer: status
    exercise end to end, so only exercise-bound destinations get it."""
    from floodwatch.alerts.messages import COLOUR_ZH

    assert service.store is not None
    info = service.compiled.stations[station]
    now = int(time.time() * 1000)
    while service.store.known(episode_id(DRILL_RULE, station, now)):
        now += 1  # two officers in the same millisecond: two drills, not one
    colour = COLOUR_ZH[severity]
    event = AlertEvent(
        id=episode_id(DRILL_RULE, station, now),
        rule=DRILL_RULE,
        kind="drill",
        station=station,
        station_name=info.model.name,
        severity=severity,
        previous_severity=None,
        transition=Transition.FIRING,
        ts=ms_to_dt(now),
        episode_start=ms_to_dt(now),
        value=None,
        threshold=None,
        unit="",
        status=Status.EXERCISE,
        message_zh=f"【演练】【{colour}预警】{info.place.zh}{colour}预警演练（{by}发起），"
        "请按预案组织演练。",
        message_en=f"[EXERCISE] [{severity.value.upper()} warning] {info.place.en}: a "
        f"{severity.value} warning drill started by {by}; run the drill as planned.",
        details={"by": by},
    )
    service.record_and_announce(event)
    return event


def end_drill(service: Service, alert_id: str) -> AlertEvent | None:
    """Resolve a drill started by `start_drill`; None if no such drill is active."""
    assert service.store is not None
    for body in service.store.active():
        if body["id"] == alert_id and body["rule"] == DRILL_RULE:
            started = AlertEvent.from_json(body)
            info = service.compiled.stations.get(started.station)
            place = (
                info.place
                if info is not None
                else Place(started.station_name, started.station_name)
            )
            now = ms_to_dt(int(time.time() * 1000))
            event = msgspec.structs.replace(
                started,
                transition=Transition.RESOLVED,
                previous_severity=started.severity,
                ts=now,
                message_zh=f"【演练】【预警解除】{place.zh}预警演练结束。",
                message_en=f"[EXERCISE] [All clear] {place.en}: the drill is over.",
            )
            service.record_and_announce(event)
            return event
    return None


def destination_trouble(service: Service, name: str, since: float | None, error: str) -> None:
    """A destination failing for too long or refusing (or working again)."""
    now = int(time.time() * 1000)
    if since is not None:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
        event = service.operations.raise_(
            DELIVERY_RULE,
            name,
            now,
            f"通知渠道{name}自{when}起发送失败：{error}",
            f"destination {name} failing since {when}: {error}",
            {"since": since, "error": error},
        )
    else:
        event = service.operations.resolve(
            DELIVERY_RULE, name, now, f"通知渠道{name}已恢复", f"destination {name} works again"
        )
    service.record_and_announce(event)
