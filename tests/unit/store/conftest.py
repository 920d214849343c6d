from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from floodwatch.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A new store on a real SQLite file (`tmp_path / "fw.db"`)."""
    s = Store(tmp_path / "fw.db")
    yield s
    s.close()
