"""The stages of the alert path, each small and pure, in the order `Dispatcher`
runs them (`floodwatch/notify/dispatch.py`):

1. **silence** (`silence.py`): which silence, if any, holds a transition or an
   incident change back from people. Machine destinations are never silenced.
2. **inhibit** (`inhibit.py`, over `floodwatch/rules/incidents/inhibit.py`): which
   alerts of an incident its notifications leave out.
3. **incident grouping** (`floodwatch/rules/incidents/tracker.py`, run when the
   transitions are recorded, `floodwatch/service/incidents.py`): the flood
   alerts of a station and its linked stations → incident changes, and the
   notice people receive for each (`floodwatch/rules/incidents/text.py`).
4. **route** (`route.py`): machine destinations per alert transition; people
   per incident change (the routes of the alerts it shows), per alert for
   notices outside incidents; the lost-observation route.
5. **follow** (`follow.py`): everyone told of an incident — by route,
   reminder, resend or escalation — hears its later changes; escalation tiers
   skip people already called.
6. **wording** (`wording.py`): "升级为…" / "降为…" only to those who heard the
   incident before; anyone told for the first time, and every follow-up,
   reads the incident as it stands ("【橙色预警】…").
7. **enqueue** (`enqueue.py`): outbox rows with idempotency keys.

A new stage is one module here and one line in the dispatcher.
"""
