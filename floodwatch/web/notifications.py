"""What people were told: the command center's 通知 view (`GET /api/notifications`).

Three lists, from the store (the outbox, the calls, the retained broadcast
state) and, for recorded destinations (`record: true`, the demo), the texts
as the gateway received them:

- `sms`: one entry per person, each with the messages sent to them (grouped
  outbox rows count once), newest first: state, times, and the text;
- `calls`: each incident (or alert) whose notice called for an answer (叫应),
  with who was called at which tier, who answered, and its acknowledgement;
- `broadcasts`: each village box of each broadcast destination with the
  message it holds now (the retained JSON twin: severity, message type and
  the sentence it speaks), and, recorded, every message it received.
"""

from __future__ import annotations

import json
import time
from typing import Any

from floodwatch.config.notify import NotifySettings
from floodwatch.notify.broadcast import BroadcastDestination
from floodwatch.notify.record import Recorder, whole_text
from floodwatch.notify.records import Person
from floodwatch.notify.sms import reply_code
from floodwatch.rules.compile import CompiledConfig
from floodwatch.store import Store


def notifications(
    store: Store,
    settings: NotifySettings | None,
    compiled: CompiledConfig,
    recorder: Recorder | None = None,
    now: float | None = None,
    since: float = 0.0,
) -> dict[str, Any]:
    """The three lists; SMS messages made since `since` (wall clock)."""
    now = time.time() if now is None else now
    if settings is None:
        return {"sms": [], "calls": [], "broadcasts": []}
    return {
        "sms": sms(store, settings, recorder, since),
        "calls": calls(store, compiled),
        "broadcasts": broadcasts(store, settings, compiled, recorder, now),
    }


def sms(
    store: Store, settings: NotifySettings, recorder: Recorder | None, since: float = 0.0
) -> list[dict[str, Any]]:
    kinds = {name: d for name, d in settings.destinations.items() if d.type == "sms"}
    people: dict[str, dict[str, Any]] = {}
    messages: dict[str, dict[str, Any]] = {}
    for row in store.outbox(since):
        who = row["recipient"]
        if row["destination"] not in kinds or not isinstance(who, Person):
            continue
        person = people.setdefault(
            who.person,
            {"person": who.person, "name": who.name, "phone": who.phone,
             "roles": [], "messages": []},
        )  # fmt: skip
        role = who.role_zh
        if role and role not in person["roles"]:
            person["roles"].append(role)
        key = str(row["batch"] or row["key"])
        message = messages.get(key)
        if message is None:
            message = messages[key] = {
                "key": key,
                "destination": row["destination"],
                "alerts": [],
                "notes": [],
                "state": row["state"],
                "attempts": row["attempts"],
                "last_error": row["last_error"],
                "created": row["created"],
                "sent_at": row["done_at"],
                "recorded": bool(kinds[str(row["destination"])].record),
                "text": None,
                "parts": [],
            }
            if recorder is not None:
                parts = recorder.parts(key)
                message["parts"] = [p.text for p in parts]
                message["text"] = whole_text(message["parts"]) if parts else None
            person["messages"].append(message)
        if row["alert"] not in message["alerts"]:
            message["alerts"].append(row["alert"])
        note = str(row["note"]).partition(":")[0]
        if note and note not in message["notes"]:
            message["notes"].append(note)
    for person in people.values():
        person["messages"].sort(key=lambda m: m["created"], reverse=True)
    return sorted(people.values(), key=lambda p: str(p["person"]))


def calls(store: Store, compiled: CompiledConfig) -> list[dict[str, Any]]:
    ledger = store.people
    out = []
    for alert in ledger.called():
        follow = ledger.follow(alert)
        incident = store.incidents.get(alert)
        notice = store.incidents.notice(alert) if incident is not None else None
        station = notice.station if notice is not None else _station_of(store, alert)
        info = compiled.stations.get(station) if station else None
        out.append(
            {
                "alert": alert,
                "incident": incident is not None,
                "station": station,
                "station_name": info.model.name if info is not None else station,
                "severity": follow[0] if follow else None,
                "state": follow[3] if follow else None,
                "reply_code": reply_code(alert),
                "called": [
                    {
                        "person": c.recipient.person,
                        "name": c.recipient.name,
                        "role": c.recipient.role_zh or c.recipient.role,
                        "tier": c.tier,
                        "called_at": c.called_at,
                        "answered_at": c.answered_at,
                    }
                    for c in ledger.calls(alert)
                ],
                "unanswered": [r.name for r in ledger.unanswered(alert)],
                "acknowledged": ledger.current_ack(alert),
                "acknowledgements": ledger.acks(alert),
            }
        )
    return out


def broadcasts(
    store: Store,
    settings: NotifySettings,
    compiled: CompiledConfig,
    recorder: Recorder | None,
    now: float,
) -> list[dict[str, Any]]:
    villages: dict[str, str] = {}
    for info in compiled.stations.values():
        if info.model.village is not None:
            villages.setdefault(info.model.village.code, info.model.village.name)
    retained = store.people.retained()
    out = []
    for name, dest in settings.destinations.items():
        if not isinstance(dest, BroadcastDestination):
            continue
        for code, village in sorted(villages.items()):
            held = retained.get(dest.json_topic.format(village_code=code))
            twin: dict[str, Any] | None = None
            expires = None
            if held is not None and held[1] > now and held[0]:
                twin, expires = json.loads(held[0]), held[1]
            history = []
            if recorder is not None:
                history = [
                    {"at": b.at, "msg_type": b.twin.get("msgType"),
                     "severity": b.twin.get("severity"), "text": b.twin.get("text")}
                    for b in recorder.boxes
                    if b.destination == name and b.village == code
                ]  # fmt: skip
            out.append(
                {
                    "destination": name,
                    "village": code,
                    "village_name": village,
                    "recorded": dest.record,
                    "current": None
                    if twin is None
                    else {
                        "text": twin.get("text"),
                        "severity": twin.get("severity"),
                        "msg_type": twin.get("msgType"),
                        "response_type": twin.get("responseType"),
                        "station": twin.get("station"),
                        "station_name": twin.get("station_name"),
                        "alert": twin.get("alert"),
                        "identifier": twin.get("identifier"),
                        "sent": twin.get("sent"),
                        "expires_at": expires,
                    },
                    "history": history,
                }
            )
    return out


def _station_of(store: Store, alert: str) -> str | None:
    transitions = store.of_alert(alert)
    return str(transitions[-1]["station"]) if transitions else None
