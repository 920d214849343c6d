"""Incidents, the people-facing unit of the engine's alerts. Pure.

`tracker.py` groups the flood alerts of a station and its linked stations into
incidents (`IncidentTracker`, `IncidentChange`); `inhibit.py` holds the
inhibition rules within an incident; `text.py` says what people are told of
an incident change. Configured by `engine.incidents` (`config/incidents.py`).
"""
