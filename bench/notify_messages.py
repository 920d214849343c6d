"""Messages, SMS parts and reply codes per official for one storm, through the
dispatcher on a fake clock (no grouping, no escalation). docs/notify.md has the
figures before (per alert, the same script on the code before incidents) and
after (per incident).

    .venv/bin/python bench/notify_messages.py blocked 24
    .venv/bin/python bench/notify_messages.py open 36
"""

import json
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

from floodwatch.notify.dispatch import Dispatcher
from floodwatch.notify.routing import Router
from floodwatch.notify.sinks import load_config_dir, notify_settings
from floodwatch.notify.sms import Texts, message_text, segments
from floodwatch.rules.compile import compile_config
from floodwatch.rules.engine import Engine
from floodwatch.sim import SCENARIOS, simulate
from floodwatch.store import Store

scenario, hours = sys.argv[1], float(sys.argv[2])
c = compile_config(load_config_dir(Path(__file__).parent.parent / "config"))
readings = simulate(
    replace(SCENARIOS[scenario], hours=hours), quiet_ponds={"xiawu-pond": 203.8}
).readings
alerts = Engine(c).process(readings).alerts
settings = notify_settings(
    {
        "destinations": {"sms": {"type": "sms", "provider": {"url": "http://127.0.0.1:9/"}}},
        "routes": [
            {
                "to": ["sms"],
                "min_severity": "orange",
                "station_types": ["pond"],
                "recipients": [
                    "station.patrol",
                    "station.technical",
                    "station.administrative",
                    "village.warning_officer",
                ],
            },
            {
                "to": ["sms"],
                "min_severity": "orange",
                "station_types": ["rain_gauge"],
                "recipients": ["village.warning_officer"],
            },
        ],
        "answer": {"via": ["sms"], "severities": ["orange", "red"]},
    }
)
store = Store(Path(tempfile.mkdtemp()) / "fw.db")
d = Dispatcher(Router(settings, c), store)
try:
    from floodwatch.rules.incidents.tracker import IncidentTracker
    from floodwatch.service.incidents import record_step

    tracker = IncidentTracker(c.config.stations, c.config.engine.incidents)
    new = True
except ImportError:
    new = False
T = 1.8e9
for i, e in enumerate(alerts):
    with store.transaction():
        if new:
            step = record_step(store.incidents, store.record, tracker, c.config, [e], T + i)
            d.dispatch(step.alerts, T + i, step.changes, step.notices)
        else:
            d.dispatch(store.record([e], T + i), T + i)
texts = Texts(None, None)
msgs, parts, codes = Counter(), Counter(), {}
for row in store.deliveries():
    if row.destination != "sms":
        continue
    name = row.person.name
    msgs[name] += 1
    parts[name] += len(segments(message_text(texts, [row], True), 70, 3))
    codes.setdefault(name, set()).add(json.loads(row.event)["id"])
print(
    scenario,
    "new" if new else "old",
    "alerts",
    len(alerts),
    "messages",
    dict(msgs),
    "parts",
    dict(parts),
    "reply codes",
    {k: len(v) for k, v in codes.items()},
)
