"""`backtest.forecasts`: two configs' time-to-crest forecasts over the same
history, scored on that rule's alerts alone — the lead of the first orange and
red before each event, and the episodes reaching orange or red with no event."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from floodwatch.alerts.state import Severity
from floodwatch.backtest.analysis import Event, EventsFile, Run, related
from floodwatch.backtest.forecasts import compare_forecasts, forecast_rules
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.testing import T0, compile_yaml
from tests.conftest import POND
from tests.integration.services import ROOT
from tests.unit.backtest.alerts import episode

H = timedelta(hours=1)
M = timedelta(minutes=1)
DAY = timedelta(days=1)
YELLOW, ORANGE, RED = Severity.YELLOW, Severity.ORANGE, Severity.RED
EVENTS = EventsFile(
    warning_window=timedelta(hours=24),
    min_severity=Severity.YELLOW,
    events=[Event(station="maokeng-pond", at=T0 + 3 * DAY, what="overtopped")],
)


def _config(tmp: Path, method: str) -> CompiledConfig:
    shutil.copytree(ROOT / "config", tmp, ignore=shutil.ignore_patterns("tests"))
    rules = tmp / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    assert "    method: auto" in text
    rules.write_text(text.replace("    method: auto", f"    method: {method}"), encoding="utf-8")
    return compile_config(load_config_dir(tmp))


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> tuple[CompiledConfig, CompiledConfig]:
    return (
        _config(tmp_path_factory.mktemp("trend") / "c", "trend"),
        compile_config(load_config_dir(ROOT / "config")),
    )


def _run(*episodes: list) -> Run:  # type: ignore[type-arg]
    alerts = sorted((a for ep in episodes for a in ep), key=lambda a: a.ts)
    return Run(alerts, 1000, {}, T0, T0 + 6 * DAY)


def test_the_forecast_rules_and_their_methods_as_bound(
    configs: tuple[CompiledConfig, CompiledConfig],
) -> None:
    trend, auto = configs
    assert forecast_rules(trend) == {"pond-overtop": "trend"}
    # auto: the water balance where the station gives its structure, else the trend
    assert forecast_rules(auto) == {"pond-overtop": "trend+water_balance"}
    assert forecast_rules(compile_yaml(stations=POND)) == {}


def test_each_event_gets_both_forecasts_leads_and_each_its_false_alarms(
    configs: tuple[CompiledConfig, CompiledConfig],
) -> None:
    trend, auto = configs
    event = 3 * DAY
    base = _run(
        # orange 2 h and red 40 min before the overtopping
        episode(
            "maokeng-pond",
            "pond-overtop",
            [(event - 2 * H, ORANGE), (event - 40 * M, RED), (event + H, None)],
        ),
        # a red that came to nothing, two days before (beyond the 24 h window)
        episode("maokeng-pond", "pond-overtop", [(DAY - 3 * H, RED), (DAY - 2 * H, None)]),
        # a yellow alone is no false alarm of a forecast scored from orange up
        episode(
            "maokeng-pond", "pond-overtop", [(4 * DAY + 6 * H, YELLOW), (4 * DAY + 7 * H, None)]
        ),
        # another rule's alerts do not count for the forecast
        episode("maokeng-pond", "pond-level", [(event - 5 * H, RED), (event + H, None)]),
    )
    other = _run(
        episode("maokeng-pond", "pond-overtop", [(event - 25 * M, RED), (event + H, None)]),
    )
    [row] = compare_forecasts(base, other, trend, auto, EVENTS, related(trend))
    assert row.rule == "pond-overtop"
    assert row.methods == ("trend", "trend+water_balance")
    assert row.false_alarms == (1, 0)
    [lead] = row.events
    assert lead.event.what == "overtopped"
    assert lead.lead == {ORANGE: (2 * H, None), RED: (40 * M, 25 * M)}


def test_a_rule_only_one_config_has_is_not_compared(
    configs: tuple[CompiledConfig, CompiledConfig],
) -> None:
    trend, _ = configs
    nothing = compile_yaml(stations=POND)
    assert compare_forecasts(_run(), _run(), trend, nothing, EVENTS, {}) == []


def test_without_events_each_side_counts_only_its_false_alarms(
    configs: tuple[CompiledConfig, CompiledConfig],
) -> None:
    trend, auto = configs
    none = EVENTS.model_copy(update={"events": []})
    base = _run(episode("maokeng-pond", "pond-overtop", [(H, ORANGE), (2 * H, None)]))
    [row] = compare_forecasts(base, _run(), trend, auto, none, {})
    assert row.events == [] and row.false_alarms == (1, 0)
