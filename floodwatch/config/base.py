"""The base of every config model: strict (unknown keys are errors), frozen."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict

from floodwatch.config.errors import Loc

Problems = Iterator[tuple[Loc, str]]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def problems(self) -> Problems:
        """Local invariants of this model, as (path relative to it, message)."""
        return iter(())
