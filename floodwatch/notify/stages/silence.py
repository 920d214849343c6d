"""Silence stage: what a silence holds back from people. Pure.

Silences (maintenance windows) are for people: SMS and village broadcasts.
Machine destinations (Kafka, InfluxDB, webhook, console) receive every
transition whatever the silences, marked `silenced`, so their record stays
complete. An incident change reaches the people its silenced alerts would
have reached only through its other alerts; held back entirely when every
alert it is about is silenced. People who heard the incident always hear
that it was lowered or lifted: a village never keeps a stale warning because
a gauge went into maintenance meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence

from floodwatch.alerts.event import AlertEvent
from floodwatch.config.models import Station
from floodwatch.config.rosters import villages_of
from floodwatch.notify.records import Silence
from floodwatch.notify.stages.inhibit import shown
from floodwatch.rules.incidents.tracker import Change, IncidentChange


def silence_of(
    event: AlertEvent, silences: Sequence[Silence], stations: dict[str, Station]
) -> Silence | None:
    """The first silence in force that covers `event`, if any."""
    model = stations.get(event.station)
    villages = villages_of(model)
    town = model.town.code if model is not None and model.town else None
    for silence in silences:
        if silence.covers(event.rule, event.station, villages, town):
            return silence
    return None


def split(
    alerts: Sequence[AlertEvent], silences: Sequence[Silence], stations: dict[str, Station]
) -> tuple[list[AlertEvent], list[AlertEvent]]:
    """(not silenced, silenced) of `alerts`."""
    live: list[AlertEvent] = []
    held: list[AlertEvent] = []
    for alert in alerts:
        (held if silence_of(alert, silences, stations) else live).append(alert)
    return live, held


def about(change: IncidentChange) -> list[AlertEvent]:
    """The alerts an incident change is about: those it shows; for an all-clear
    or a lost gauge, the transition that caused it."""
    if change.change in (Change.ALL_CLEAR, Change.LOST_OBSERVATION):
        return [change.cause]
    return shown(change)
