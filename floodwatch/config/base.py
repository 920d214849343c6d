"""The base of every config model: strict (unknown keys are errors), frozen, and
finite (YAML's `.nan` and `.inf` are refused wherever a number is asked for)."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict

from floodwatch.config.errors import Loc

Problems = Iterator[tuple[Loc, str]]


class Model(BaseModel):
    # allow_inf_nan: YAML's .nan and .inf are no limit, hysteresis or coordinate
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )

    def problems(self) -> Problems:
        """Local invariants of this model, as (path relative to it, message)."""
        return iter(())
