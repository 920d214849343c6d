"""`floodwatch messages`: every text a config can make people read.

`entries.py` — the rule texts and the CAP spoken sentences, by rule, level and
transition; `sensors.py` — the sensor notices; `incidents.py` — the incident
messages of a storyline run through the real tracker; `markdown.py` — the
catalogue as Markdown (SMS parts included); `check.py` — the rules the texts
keep. Made by the same functions the engine and the senders call.
"""
