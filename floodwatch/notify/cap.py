"""Village broadcast messages: CAP 1.2 XML and its JSON twin. Pure.

One message per alert transition per village. `msgType` is Alert for the
first message of an alert in a village, Update (with `references` to the
previous message) while it changes, Cancel on the all-clear. Times carry the
local offset (+08:00), no `Z`, no fractions, as the OASIS schema requires.
The JSON twin carries a ready-to-speak Chinese sentence for the loudspeaker.

Times: `sent` is the wall-clock time the message originated (CAP's meaning),
given by the caller — the broadcast channel uses the time its outbox row was
made, so a resend of the same row after a crash is the identical message;
`expires` is `sent` plus the destination's expiry (the same clock as the
MQTT message expiry); `onset` is the event time of the transition (the
reading that caused it). Event time never goes into `sent`: a backlog caught
up hours late would otherwise be stamped, and expire, in the past.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.messages import COLOUR_ZH, EXERCISE_ZH, duration_zh
from floodwatch.alerts.state import EvacuationStage, Severity, Status, Transition
from floodwatch.config.values import parse_duration

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_SEVERITY = {
    Severity.RED: "Extreme",
    Severity.ORANGE: "Severe",
    Severity.YELLOW: "Moderate",
    Severity.BLUE: "Minor",
}
URGENCY = {
    Severity.RED: "Immediate",
    Severity.ORANGE: "Expected",
    Severity.YELLOW: "Expected",
    Severity.BLUE: "Future",
}
ACTION_ZH = {
    "Evacuate": "请立即转移。",
    "Prepare": "请做好转移准备。",
    "Monitor": "请注意防范，听从村干部安排。",
    "AllClear": "请听从村干部安排。",
}


@dataclass(frozen=True)
class Village:
    code: str
    name: str


@dataclass(frozen=True)
class Previous:
    """The last message sent about the same alert in the same village."""

    identifier: str
    sent: str


@dataclass(frozen=True)
class Broadcast:
    identifier: str
    sent: str
    msg_type: str  # Alert, Update, Cancel
    xml: str
    json: dict[str, Any]


def cap_time(ts: datetime, zone: ZoneInfo) -> str:
    """2026-07-15T06:50:00+08:00: local offset, whole seconds."""
    return ts.astimezone(zone).replace(microsecond=0).isoformat()


def response_type(event: AlertEvent) -> str:
    if event.transition is Transition.RESOLVED:
        return "AllClear"
    stage = event.stage
    severity = event.severity
    # A stage can call for more than the colour does, never for less: a red
    # warning with rain at its prepare stage still says evacuate.
    if stage is EvacuationStage.EVACUATE or severity is Severity.RED:
        return "Evacuate"
    if stage is EvacuationStage.PREPARE or severity is Severity.ORANGE:
        return "Prepare"
    return "Monitor"


def sentence(event: AlertEvent, village: Village, crest: float | None, response: str) -> str:
    """What the loudspeaker says, e.g. 芭蕉村请注意：茂坑山塘水位距坝顶0.4米，
    预计35分钟后漫顶，请立即转移。Under a minute to the crest "…，预计1分钟内漫坝，…";
    a reading at the crest (under 0.005 m over) "…水位已到达坝顶，…", over it
    "…已经漫坝，洪水正在漫过坝顶，…"."""
    prefix = EXERCISE_ZH if event.status is Status.EXERCISE else ""
    station = event.station_name
    head = f"{prefix}{village.name}请注意："
    if event.transition is Transition.RESOLVED:
        return f"{head}{station}预警已解除。{ACTION_ZH['AllClear']}"
    details = event.details or {}
    level = details.get("level")
    if level is None and event.unit == "m" and event.kind == "level":
        level = event.value
    forecast = event.forecast or {}
    minutes = forecast.get("minutes_to_crest")
    colour = COLOUR_ZH[event.severity]
    over = forecast.get("overtopping") or (
        crest is not None and isinstance(level, int | float) and level >= crest
    )
    at_crest = (
        crest is not None
        and isinstance(level, int | float)
        and f"{max(0.0, level - crest):.2f}" == "0.00"
    )
    if over and at_crest:
        what = f"{station}水位已到达坝顶"  # as the alert says it: not "漫过坝顶" by 0.00 m
    elif over:
        what = f"{station}已经漫坝，洪水正在漫过坝顶"
    elif crest is not None and isinstance(level, int | float):
        left = f"{max(0.0, crest - level):.1f}"
        # within 5 cm of the crest: never "距坝顶0.0米"
        what = f"{station}水位距坝顶{'不足0.1' if left == '0.0' else left}米"
        if minutes is not None and minutes >= 1:
            what += f"，预计{round(minutes)}分钟后漫顶"
        elif minutes is not None:  # under a minute (or the trend at the crest already)
            what += "，预计1分钟内漫坝"
    elif event.kind == "rainfall" and event.value is not None:
        window = _window_zh(str(details.get("window", "")))
        what = f"{station}{window}累计雨量{event.value:.0f}毫米，已达{colour}预警"
    else:
        what = f"{station}出现险情，已发布{colour}预警"
    return f"{head}{what}，{ACTION_ZH[response]}"


def _window_zh(window: str) -> str:
    """A rain window as said aloud: "3h" → 3小时, "1d" → 24小时 (empty if unknown)."""
    try:
        return duration_zh(int(parse_duration(window).total_seconds() * 1000))
    except ValueError:
        return ""


def identifier(
    sender: str, alert_id: str, transition: str, onset: str, sent: str, village: str
) -> str:
    """Stable for one transition (alert, transition, its event time) made at
    one time for one village; two transitions made in the same second differ."""
    parts = (alert_id, transition, onset, sent, village)
    digest = hashlib.sha256("\x1f".join(parts).encode())
    return f"{sender.split('@', maxsplit=1)[0]}-{digest.hexdigest()[:20]}"


def _xml(  # noqa: PLR0913 — keyword-only: one per CAP element of the document
    *,
    ident: str,
    sender: str,
    sent: str,
    status: str,
    msg_type: str,
    previous: Previous | None,
    info: list[tuple[str, str]],
    alert_id: str,
    village: Village,
) -> str:
    """The CAP 1.2 document: one `info` block (its elements in schema order),
    one `parameter` (the alert id), one `area` (the village and its GB/T 2260
    code). Serialised by ElementTree in the CAP namespace as the default one."""
    alert = ElementTree.Element(_q("alert"))
    for tag, text in (
        ("identifier", ident),
        ("sender", sender),
        ("sent", sent),
        ("status", status),
        ("msgType", msg_type),
        ("scope", "Public"),
    ):
        _child(alert, tag, text)
    if previous is not None:
        _child(alert, "references", f"{sender},{previous.identifier},{previous.sent}")
    block = _child(alert, "info")
    for tag, text in info:
        _child(block, tag, text)
    parameter = _child(block, "parameter")
    _child(parameter, "valueName", "floodwatch:alert")
    _child(parameter, "value", alert_id)
    area = _child(block, "area")
    _child(area, "areaDesc", village.name)
    geocode = _child(area, "geocode")
    _child(geocode, "valueName", "GB/T 2260")
    _child(geocode, "value", village.code)
    body = ElementTree.tostring(
        alert, encoding="unicode", default_namespace=CAP_NS, short_empty_elements=False
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _q(tag: str) -> str:
    return f"{{{CAP_NS}}}{tag}"


def _child(parent: ElementTree.Element, tag: str, text: str | None = None) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, _q(tag))
    element.text = text
    return element


def build(
    event: AlertEvent,
    village: Village,
    *,
    sender: str,
    zone: ZoneInfo,
    expiry: timedelta,
    previous: Previous | None,
    crest: float | None = None,
    sent_at: datetime,
) -> Broadcast:
    """The CAP message and JSON twin of one transition for one village,
    originated at `sent_at` (wall clock): the same arguments give the same
    message."""
    onset = cap_time(event.ts, zone)
    sent_dt = sent_at
    sent = cap_time(sent_dt, zone)
    resolved = event.transition is Transition.RESOLVED
    msg_type = "Cancel" if resolved else ("Update" if previous is not None else "Alert")
    ident = identifier(sender, event.id, event.transition.value, onset, sent, village.code)
    severity = event.severity
    response = response_type(event)
    status = "Exercise" if event.status is Status.EXERCISE else "Actual"
    expires = cap_time(sent_dt + expiry, zone)
    speak = sentence(event, village, crest, response)
    headline = event.message_zh.split("】")[0] + "】" if "】" in event.message_zh else ""
    event_name = "暴雨预警" if event.kind == "rainfall" else "山塘水库险情预警"
    xml = _xml(
        ident=ident,
        sender=sender,
        sent=sent,
        status=status,
        msg_type=msg_type,
        previous=previous,
        info=[
            ("language", "zh-CN"),
            ("category", "Met" if event.kind == "rainfall" else "Safety"),
            ("event", event_name),
            ("responseType", response),
            ("urgency", "Past" if resolved else URGENCY.get(severity, "Unknown")),
            ("severity", CAP_SEVERITY.get(severity, "Unknown")),
            ("certainty", "Observed" if resolved else "Likely"),
            ("onset", onset),
            ("expires", expires),
            ("senderName", "floodwatch"),
            ("headline", headline + event.station_name),
            ("description", event.message_zh),
            ("instruction", speak),
        ],
        alert_id=event.id,
        village=village,
    )
    twin = {
        "identifier": ident,
        "sent": sent,
        "onset": onset,
        "expires": expires,
        "status": status,
        "msgType": msg_type,
        "references": None
        if previous is None
        else f"{sender},{previous.identifier},{previous.sent}",
        "village": {"code": village.code, "name": village.name},
        "severity": severity.value,
        "cap_severity": CAP_SEVERITY.get(severity, "Unknown"),
        "responseType": response,
        "alert": event.id,
        "station": event.station,
        "station_name": event.station_name,
        "text": speak,
    }
    return Broadcast(ident, sent, msg_type, xml, twin)
