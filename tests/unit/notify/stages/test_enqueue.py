"""Enqueue stage (notify/stages/enqueue.py): one outbox row per (event,
target, note), its idempotency key naming what and to whom."""

from __future__ import annotations

from floodwatch.notify.records import Village
from floodwatch.notify.routing import Target
from floodwatch.notify.stages.enqueue import outgoing
from floodwatch.rules.incidents.text import notice, rule_names
from tests.unit.notify.stages.example import CONFIG, CREST, LEVEL, STATIONS, change_of


def test_enqueue_stage_keys_a_row_by_what_and_to_whom() -> None:
    change = change_of(LEVEL, CREST)
    note = notice(change, STATIONS, rule_names(CONFIG.config.rules))
    one = outgoing(note, Target("village", Village("330182104201")))
    again = outgoing(note, Target("village", Village("330182104201")))
    reminder = outgoing(note, Target("village", Village("330182104201")), "reminder:1")
    assert one.key == again.key != reminder.key and one.event.id == change.incident
