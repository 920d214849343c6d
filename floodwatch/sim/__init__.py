"""Physically based scenario generator: rain → runoff → pond water balance."""

from floodwatch.sim.scenarios import SCENARIOS, Scenario, SimResult, simulate

__all__ = ["SCENARIOS", "Scenario", "SimResult", "simulate"]
