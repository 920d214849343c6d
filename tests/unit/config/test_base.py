"""`config.base.Model`, the base of every config model: an unknown key is an
error (a misspelt `hysteresis` must not be dropped silently), a loaded model
cannot be changed, keys may be given by alias or name, numbers are finite,
and a model has no local problems unless it says so."""

from __future__ import annotations

import math

import pytest
from pydantic import Field, ValidationError

from floodwatch.config.base import Model, Problems
from floodwatch.config.models import SensorLimits


class Dwell(Model):
    for_: str = Field("10m", alias="for")
    margin: float = 0.0


class Positive(Model):
    margin: float

    def problems(self) -> Problems:
        if self.margin <= 0:
            yield ("margin",), f"must be above 0, got {self.margin:g}"


def test_an_unknown_key_is_an_error_naming_it() -> None:
    with pytest.raises(ValidationError) as err:
        Dwell.model_validate({"for": "5m", "hysterisis": 0.05})
    [error] = err.value.errors()
    assert (error["type"], error["loc"]) == ("extra_forbidden", ("hysterisis",))


def test_a_key_is_taken_by_its_yaml_alias_and_by_its_name() -> None:
    assert Dwell.model_validate({"for": "5m"}).for_ == "5m"
    assert Dwell.model_validate({"for_": "5m"}).for_ == "5m"


def test_a_loaded_model_cannot_be_changed() -> None:
    dwell = Dwell()
    with pytest.raises(ValidationError, match="frozen"):
        dwell.margin = 1.0  # type: ignore[misc]
    assert hash(dwell) == hash(Dwell())  # frozen models are values


@pytest.mark.parametrize("given", [math.nan, math.inf, -math.inf, "nan", "inf"])
def test_nan_and_inf_are_no_number_of_a_config(given: object) -> None:
    # SensorLimits(max=.nan): every reading would pass the plausibility check
    with pytest.raises(ValidationError) as err:
        SensorLimits.model_validate({"max": given})
    assert [e["type"] for e in err.value.errors()] == ["finite_number"]
    with pytest.raises(ValidationError):
        Dwell.model_validate({"margin": given})


def test_a_model_has_no_problems_unless_it_says_so() -> None:
    assert list(Dwell().problems()) == []
    assert list(Positive(margin=0.5).problems()) == []
    assert list(Positive(margin=0).problems()) == [(("margin",), "must be above 0, got 0")]
