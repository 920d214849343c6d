"""Hot reload: state carried into an engine built from a (changed) config."""

from __future__ import annotations

import pytest

from floodwatch.notify.sinks import load_config_dir, load_config_files
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine
from floodwatch.rules.reload import carry_over, changes
from tests.integration.services import ROOT, storm_days

CONFIG = compile_config(load_config_dir(ROOT / "config"))
READINGS = storm_days(4)


def _key(e: object) -> tuple[object, ...]:
    return (e.id, e.transition.value, e.severity.value, e.ts)  # type: ignore[attr-defined]


REFERENCE = [_key(e) for e in Engine(CONFIG).process(READINGS).alerts]


@pytest.mark.parametrize("cut", [300, 700, 1500, 2600, 3500])
def test_reloading_the_same_config_anywhere_changes_nothing(cut: int) -> None:
    """Windows, latches, episodes, staleness and the reorder buffer all carry over:
    the alerts are those of an engine that never reloaded."""
    old = Engine(CONFIG)
    got = [_key(e) for e in old.process(READINGS[:cut]).alerts]
    new = Engine(CONFIG)
    carry_over(old, new)
    got += [_key(e) for e in new.process(READINGS[cut:]).alerts]
    assert got == REFERENCE


def test_the_change_report_names_moved_thresholds_and_the_alerts_they_touch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for f in (ROOT / "config").glob("*.yaml"):
        text = f.read_text()
        if f.name == "rules.yaml":
            text = text.replace("red:    {enter: crest - 0.2}", "red:    {enter: crest - 0.3}")
        (tmp_path / f.name).write_text(text)
    changed = compile_config(load_config_files(sorted(tmp_path.glob("*.yaml"))))
    engine = Engine(CONFIG)
    engine.process(READINGS[:700])
    active = engine.active_alerts()
    report = changes(CONFIG, changed, active)
    assert (
        "threshold moved: pond-level at maokeng-pond, red: enter 311.8, exit 311.75 -> "
        "enter 311.7, exit 311.65" in report
    )
    touched = [line for line in report if line.startswith("active alert affected")]
    assert touched == [
        f"active alert affected: {a.id} ({a.severity.value} since "
        f"{a.since.isoformat().replace('+00:00', 'Z')})"
        for a in active
        if a.rule == "pond-level" and a.station in ("maokeng-pond", "xiawu-pond")
    ]


def test_an_overtopping_level_keeps_its_own_state_when_a_red_forecast_level_is_added() -> None:
    """Time to crest ends with a second red (overtopping): levels of one severity
    pair up from the top, so the new red forecast level starts off."""
    from types import SimpleNamespace

    from floodwatch.alerts.state import Severity
    from floodwatch.rules.latch import Latch
    from floodwatch.rules.reload import _copy_latch

    y, o, r = Severity.YELLOW, Severity.ORANGE, Severity.RED
    old = SimpleNamespace(ctx=SimpleNamespace(levels=(y, o, r)), latch=Latch([0] * 3, [0] * 3))
    old.latch.restore(
        {"on": [True, True, True], "enter_since": [None] * 3, "exit_since": [None] * 3}
    )
    new = SimpleNamespace(ctx=SimpleNamespace(levels=(y, o, r, r)), latch=Latch([0] * 4, [0] * 4))
    _copy_latch(old, new)
    assert new.latch.state()["on"] == [True, True, False, True]
