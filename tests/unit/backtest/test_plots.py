"""`backtest.plots`: one PNG per alert episode worth a look — the station's
series around the episode, its characteristic levels and warning lines, the
alert bands in the warning colours, the events; the other config's bands in a
strip of their own. Drawn from the history file itself, no display needed."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from floodwatch.alerts.state import Severity
from floodwatch.backtest import extra
from floodwatch.backtest.analysis import Episode, Event, Run
from floodwatch.backtest.plots import MAX_PLOTS, cjk_font, worth, write_plots
from floodwatch.backtest.words import Words
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.testing import T0, series
from tests.integration.services import ROOT
from tests.unit.backtest.alerts import episode

H = timedelta(hours=1)
RED, ORANGE, YELLOW, BLUE = Severity.RED, Severity.ORANGE, Severity.YELLOW, Severity.BLUE
# the red band (#d62020) at 18 % over white
RED_BAND = (248, 215, 215)


@pytest.fixture(scope="module")
def compiled() -> CompiledConfig:
    return compile_config(load_config_dir(ROOT / "config"))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rise = [310.5 + 0.02 * i for i in range(90)] + [312.3 - 0.02 * i for i in range(90)]
    readings = series("maokeng-pond", "level", rise) + series("maokeng-rain", "rain", [2.0] * 180)
    path = tmp_path_factory.mktemp("history") / "h.jsonl"
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in readings), encoding="utf-8")
    return path


def _episode(start: timedelta, top: Severity, station: str = "maokeng-pond") -> Episode:
    return Episode(f"{station}:{start}", "pond-level", station, T0 + start, T0 + start + H, top)


def _count(image: Path, colour: tuple[int, int, int]) -> int:
    with Image.open(image) as img:
        pixels = np.asarray(img.convert("RGB"), dtype=np.int16)
    return int((np.abs(pixels - np.array(colour)) <= 4).all(axis=-1).sum())


def test_only_episodes_reaching_the_floor_are_worth_a_plot_the_worst_first() -> None:
    eps = [_episode(timedelta(hours=h), top) for h, top in ((3, BLUE), (1, YELLOW), (2, RED))]
    assert [ep.top for ep in worth(eps, YELLOW)] == [YELLOW, RED]  # in time order
    assert worth(eps, Severity.INFO) == sorted(eps, key=lambda ep: ep.start)
    many = [_episode(timedelta(hours=h), ORANGE) for h in range(MAX_PLOTS + 5)]
    many.append(_episode(timedelta(hours=100), RED))  # listed last, beyond the cap
    chosen = worth(many, YELLOW)
    assert len(chosen) == MAX_PLOTS and chosen[-1].top is RED  # the red kept, latest last
    assert [ep.start for ep in chosen] == sorted(ep.start for ep in chosen)


def test_a_cjk_font_is_found_for_the_chinese_labels() -> None:
    assert cjk_font() is not None  # fonts-noto-cjk is installed here


def test_no_episode_draws_nothing(compiled: CompiledConfig, history: Path, tmp_path: Path) -> None:
    words = Words("en", compiled)
    assert write_plots([], [], None, compiled, history, None, [], words, tmp_path / "p", None) == []
    assert not (tmp_path / "p").exists()


def test_an_episode_is_drawn_with_its_alert_band(
    compiled: CompiledConfig, history: Path, tmp_path: Path
) -> None:
    alerts = episode("maokeng-pond", "pond-level", [(5 * H, ORANGE), (6 * H, RED), (8 * H, None)])
    run = Run(alerts, 360, {}, T0, T0 + 15 * H)
    [ep] = run.episodes()
    event = Event(station="maokeng-pond", at=T0 + 7 * H + timedelta(minutes=30), what="overtopped")
    words = Words("both", compiled)
    [png] = write_plots(
        [ep], alerts, None, compiled, history, None, [event], words, tmp_path, run.last
    )
    assert png == tmp_path / "01-maokeng-pond-pond-level.png"
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width > 600
    assert _count(png, RED_BAND) > 1000  # two hours of red, shaded


def test_the_other_configs_alerts_get_a_strip_of_their_own(
    compiled: CompiledConfig, history: Path, tmp_path: Path
) -> None:
    alerts = episode("maokeng-pond", "sensor-health/stale", [(5 * H, YELLOW), (6 * H, None)])
    other = episode("maokeng-pond", "pond-level", [(5 * H, RED), (7 * H, None)])
    [ep] = Run(alerts, 0, {}, T0, T0 + 15 * H).episodes()
    words = Words("en", compiled)
    without = write_plots(
        [ep], alerts, None, compiled, history, None, [], words, tmp_path / "a", None
    )
    [png] = write_plots(
        [ep], alerts, other, compiled, history, None, [], words, tmp_path / "b", None
    )
    assert png.name == "01-maokeng-pond-sensor-health_stale.png"  # no "/" in a file name
    # the strip shades red at half strength: #d62020 at 50 % over white
    strip, plain = _count(png, (234, 143, 143)), _count(without[0], (234, 143, 143))
    assert strip > 20 * max(plain, 50)


def test_without_matplotlib_the_error_names_the_extra(
    compiled: CompiledConfig, history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    words = Words("en", compiled)
    ep = _episode(H, RED)
    with pytest.raises(
        extra.MissingExtraError, match=r"matplotlib is not installed \(needed for the plots\)"
    ):
        write_plots([ep], [], None, compiled, history, None, [], words, tmp_path, None)
