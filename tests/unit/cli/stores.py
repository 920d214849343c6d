"""A service store after a storm, made once per test module by the real
service step (no broker): 25 alert transitions, an active red incident at
maokeng-pond, and the engine snapshot beside it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.service.run import Service
from floodwatch.sim import simulate
from tests.integration.services import service_config

STORE = Path("var") / "floodwatch.db"


def storm_store(directory: Path) -> Path:
    """The store `floodwatch run` keeps after the blocked-culvert storm."""
    cfg = service_config(directory)
    service = Service(load_config_dir(cfg))
    service.open()
    storm = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings
    service.step(
        [Incoming(json.dumps(r.to_json()).encode(), "hydro", "canonical", "mqtt") for r in storm]
    )
    service.close()
    return directory / STORE


def copy_of(store: Path, directory: Path) -> Path:
    """The store (and its snapshot) copied into `directory`, for one test to change."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in store.parent.glob(f"{store.name}*"):
        shutil.copy(path, directory / path.name)
    return directory / store.name
