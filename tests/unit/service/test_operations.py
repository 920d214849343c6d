"""Operations alerts across a restart (service/operations.py): the config's and
a destination's `info` alerts still open in the store when floodwatch stops
are the service's again when it starts — resolved when the problem is gone,
never raised twice while it lasts. On a real store, no broker."""

from __future__ import annotations

import time
from pathlib import Path

from floodwatch.alerts.state import Transition
from floodwatch.notify.health import Health
from floodwatch.notify.sinks import load_config_dir
from floodwatch.service import operations
from floodwatch.service.run import Service
from tests.integration.services import service_config


def _service(cfg: Path) -> Service:
    service = Service(load_config_dir(cfg), config_dir=cfg)
    service.open()
    return service


def _operations(service: Service) -> list[tuple[str, str, str]]:
    """(rule, subject, transition) of every stored operations transition, in order."""
    assert service.store is not None
    rows = service.store.history(limit=100)
    return [
        (str(r["rule"]), str(r["details"]["subject"]), str(r["transition"]))  # type: ignore[index]
        for r in reversed(rows)
        if r["station"] == "floodwatch"
    ]


def _active(service: Service) -> list[str]:
    assert service.store is not None
    return [str(b["rule"]) for b in service.store.active() if b["station"] == "floodwatch"]


def test_a_config_alert_open_at_a_restart_is_resolved_by_a_start_on_a_good_config(
    tmp_path: Path,
) -> None:
    cfg = service_config(tmp_path)
    first = _service(cfg)
    good = (cfg / "rules.yaml").read_text()
    (cfg / "rules.yaml").write_text(good.replace("rules:", "rules: [", 1))
    assert first.reload() is False
    assert _active(first) == [operations.CONFIG_RULE]
    first.close()  # stopped while the YAML was still broken

    (cfg / "rules.yaml").write_text(good)  # fixed while it was down
    second = _service(cfg)
    try:
        assert _active(second) == []
        assert _operations(second) == [
            (operations.CONFIG_RULE, "config", Transition.FIRING.value),
            (operations.CONFIG_RULE, "config", Transition.RESOLVED.value),
        ]
        assert second.reload_problem is None
    finally:
        second.close()


def test_a_destination_failing_across_a_restart_is_resolved_once_it_works(
    tmp_path: Path,
) -> None:
    cfg = service_config(tmp_path)
    first = _service(cfg)
    since = time.time() - 600
    operations.destination_trouble(first, "duty-sms", since, "503 from the gateway")
    first.close()

    second = _service(cfg)
    try:
        assert _active(second) == [operations.DELIVERY_RULE]
        told: list[tuple[str, float | None, str]] = []

        def trouble(name: str, when: float | None, error: str) -> None:
            told.append((name, when, error))
            operations.destination_trouble(second, name, when, error)

        health = Health("duty-sms", 60.0, trouble)
        operations.carry_trouble(second, {"duty-sms": health})
        assert (health.since, health.error) == (since, "503 from the gateway")
        health.failed("503 again")  # still failing: nothing raised twice
        health.report("503 again")
        assert told == [] and _active(second) == [operations.DELIVERY_RULE]
        health.works()
        assert told == [("duty-sms", None, "")]
        assert _active(second) == []
        assert [t for r, _, t in _operations(second) if r == operations.DELIVERY_RULE] == [
            Transition.FIRING.value,
            Transition.RESOLVED.value,
        ]
    finally:
        second.close()


def test_the_alert_of_a_destination_no_longer_configured_ends_at_start(tmp_path: Path) -> None:
    cfg = service_config(tmp_path)
    first = _service(cfg)
    operations.destination_trouble(first, "old-webhook", time.time() - 60, "connection refused")
    first.close()

    second = _service(cfg)
    try:
        operations.carry_trouble(second, {})
        assert _active(second) == []
        assert second.store is not None
        [resolved] = [
            r
            for r in second.store.history(limit=10)
            if r["rule"] == operations.DELIVERY_RULE and r["transition"] == "resolved"
        ]
        assert resolved["message_zh"] == "通知渠道old-webhook已从配置中删除，不再报告其故障"
    finally:
        second.close()
