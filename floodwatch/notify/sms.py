"""SMS: texts from templates, split to the provider's limit, grouped per recipient.

A destination of type `sms` holds one outbox row per (alert transition,
recipient). Its worker takes the due rows; each row of a recipient that is
not yet part of a message pulls in every other pending row of the same
recipient (alerts that came within `group_wait`) and they go out as one
message, whose membership is written to the outbox before it is sent, so a
crash resends the same message under the same idempotency key. A recipient
who got `rate_limit.count` messages within `rate_limit.per` waits (and what
waits is grouped); nothing is dropped, and a message raising an orange or red
warning, or calling for an answer, never waits.

Texts come from a Jinja2 template engineers can edit (sandboxed, undefined
names are errors). A text longer than one segment (70 characters for Chinese)
is sent as numbered parts cut at natural boundaries (`sms_parts`: never inside
a number with its unit or the reply instruction), at most `max_segments`;
beyond that it is trimmed with "…", keeping the reply instruction. Every part
of a drill starts with 【演练】; an actual warning never carries it.

Why one module over 400 lines: a sink is one module (its destination model
beside its channel, docs/architecture.md), and the SMS model's provider,
rate limit and segment settings are read by the grouping and splitting here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
import jinja2
import jinja2.sandbox
from pydantic import Field

from floodwatch.alerts.messages import COLOUR_ZH, EXERCISE_ZH, UNIT_ZH
from floodwatch.alerts.state import Severity, Status, Transition
from floodwatch.config.base import Model, Problems
from floodwatch.config.destinations import DestinationBase
from floodwatch.config.values import Duration
from floodwatch.notify import sms_parts
from floodwatch.notify.channel import BaseChannel, Channel, Sink, Wiring
from floodwatch.notify.outcome import Outcome, Sent, classify_http, http_failure
from floodwatch.notify.ports import SmsLog
from floodwatch.notify.records import Delivery, Person, Recipient
from floodwatch.notify.sms_parts import segments


class SmsProvider(Model):
    """How to talk to the SMS gateway.

    `generic`: POST `url` with `headers` and a body rendered from `body` (a
    Jinja2 template given `phone`, `text`, `key`), sent as JSON (`format: json`,
    the template must render a JSON object) or as a form. Success is a 2xx
    and, if `success_field` is set, that field of the JSON answer equal to
    `success_value`.
    `yunpian`: the Yunpian v2 single-send API (see docs/notify.md), `url`
    defaulting to https://sms.yunpian.com/v2/sms/single_send.json, the API key
    read from `api_key_file`.
    """

    type: Literal["generic", "yunpian"] = "generic"
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    format: Literal["json", "form"] = "json"
    body: str = Field(
        '{"phone": {{ phone|tojson }}, "text": {{ text|tojson }}, "id": {{ key|tojson }}}',
        description="generic: Jinja2 template of the request body",
    )
    success_field: str | None = None
    success_value: str | int | None = None
    api_key_file: str | None = Field(None, description="yunpian: file holding the API key")


class RateLimit(Model):
    count: int = Field(ge=1)
    per: Duration


class SmsDestination(DestinationBase):
    people = True
    recordable = True

    type: Literal["sms"]
    provider: SmsProvider | None = Field(None, description="the gateway")
    template: str | None = Field(
        None, description="Jinja2 template file (relative to the config directory)"
    )
    segment_chars: int = Field(70, ge=20, description="characters per segment (Chinese)")
    max_segments: int = Field(3, ge=1, description="longer texts are trimmed")
    rate_limit: RateLimit | None = Field(
        RateLimit(count=6, per=timedelta(minutes=10)),
        description="per recipient; later messages wait (and are grouped), never dropped",
    )
    group_wait: Duration = Field(
        timedelta(seconds=10),
        description="alerts for one recipient within this window go as one message",
    )

    def problems(self) -> Problems:
        yield from super().problems()
        if self.record:
            return
        if self.provider is None:
            yield ("provider",), "an sms destination needs a provider"
        elif self.provider.type == "generic" and not self.provider.url:
            yield ("provider", "url"), "a generic sms provider needs a url"
        elif self.provider.type == "yunpian" and not self.provider.api_key_file:
            yield ("provider", "api_key_file"), "yunpian needs api_key_file"


DEFAULT_TEMPLATE = (
    "{{ note }}{{ message }}{% if reply_code %}收到请回复{{ reply_code }}。{% endif %}"
)
NOTES_ZH = {
    "reminder": "【提醒·未确认】",
    "resend": "【再次叫应】",
    "escalation": "【叫应未复·升级报告】",
    "refresh": "",
}
log = logging.getLogger(__name__)
YUNPIAN_URL = "https://sms.yunpian.com/v2/sms/single_send.json"
YUNPIAN_RETRY = {8, 9, 22, 33, 53}  # Yunpian codes for "too many to this number now"


def reply_code(alert_id: str) -> str:
    """The 4-digit code a person replies with to acknowledge one alert."""
    return str(1000 + int(hashlib.sha256(alert_id.encode()).hexdigest()[:8], 16) % 9000)


class Texts:
    """Renders one alert transition for one person from the template.

    A template that cannot be read or parsed, or that fails on an alert (an
    unknown name, a filter on a missing value), is reported in the log with
    the reason and the alert goes out with the default text: a broken
    template never keeps a warning from being sent."""

    def __init__(self, template: str | None, config_dir: Path | None) -> None:
        env = jinja2.sandbox.SandboxedEnvironment(
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
        )
        self.default = env.from_string(DEFAULT_TEMPLATE)
        self.template = self.default
        self.name = "the default template"
        if template is not None:
            path = Path(template)
            if not path.is_absolute() and config_dir is not None:
                path = config_dir / path
            self.name = str(path)
            try:
                self.template = env.from_string(path.read_text(encoding="utf-8"))
            except (OSError, jinja2.TemplateError) as exc:
                line = getattr(exc, "lineno", None)
                where = f"{path}:{line}" if line else str(path)
                log.error("SMS template %s unusable (%s); sending the default text", where, exc)

    def render(self, delivery: Delivery, answer: bool) -> str:
        alert = delivery.alert
        person = delivery.recipient if isinstance(delivery.recipient, Person) else None
        context: dict[str, Any] = {
            "event": alert.to_json(),  # the template's view: the alert as JSON
            "message": alert.message_zh.removeprefix(EXERCISE_ZH),
            "note": NOTES_ZH.get(delivery.note.split(":")[0], ""),
            "station": alert.station_name,
            "colour": COLOUR_ZH[alert.severity],
            "transition": alert.transition.value,
            "value": alert.value,
            "threshold": alert.threshold,
            "unit": alert.unit,
            "unit_zh": UNIT_ZH.get(alert.unit, ""),
            "minutes_to_crest": (alert.forecast or {}).get("minutes_to_crest"),
            "recipient": person.name if person else "",
            "role": person.role if person else "",
            "reply_code": reply_code(alert.id) if answer else "",
        }
        try:
            text = self.template.render(context)
        except Exception as exc:  # any template failure: the default text goes instead
            log.error("SMS template %s failed on %s (%s); sent the default text",
                      self.name, alert.id, exc)  # fmt: skip
            text = self.default.render(context)
        return " ".join(text.split())


def compose(texts: list[str], exercise: bool) -> str:
    """One message out of one or more alert texts (the drill prefix once, first)."""
    body = [t.replace(EXERCISE_ZH, "") for t in texts]
    text = (
        body[0]
        if len(body) == 1
        else f"【{len(body)}条预警信息】" + "".join(f"{i}.{t}" for i, t in enumerate(body, 1))
    )
    return (EXERCISE_ZH if exercise else "") + text


def message_text(texts: Texts, rows: list[Delivery], answer: bool) -> str:
    """The whole text of one message carrying `rows` (one recipient's)."""
    exercise = rows[0].alert.status is Status.EXERCISE
    return compose([texts.render(r, answer) for r in rows], exercise)


def fits(text: str, dest: SmsDestination) -> bool:
    """Whether `text` goes in the destination's `max_segments` untrimmed."""
    return sms_parts.fits(text, dest.segment_chars, dest.max_segments)


class Provider(Protocol):
    """One SMS gateway. `send` is called once per part, with a key unique to the
    part and stable across retries; it never raises (failures are Outcomes)."""

    async def send(self, phone: str, text: str, key: str) -> Outcome: ...


class GenericProvider:
    def __init__(self, settings: SmsProvider, client: httpx.AsyncClient, timeout: float) -> None:
        assert settings.url is not None
        self.settings = settings
        self.client = client
        self.timeout = timeout
        env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
        self.body = env.from_string(settings.body)

    async def send(self, phone: str, text: str, key: str) -> Outcome:
        s = self.settings
        rendered = self.body.render(phone=phone, text=text, key=key)
        headers = {**s.headers, "Idempotency-Key": key}
        if s.format == "json":
            headers["Content-Type"] = "application/json; charset=utf-8"
            request: dict[str, Any] = {"content": rendered.encode()}
        else:
            request = {"data": json.loads(rendered)}
        try:
            response = await self.client.post(
                s.url or "", headers=headers, timeout=self.timeout, **request
            )
        except httpx.HTTPError as exc:
            return http_failure(exc, self.timeout)
        outcome = classify_http(response)
        if outcome.ok and s.success_field is not None:
            answer = _json(response)
            if answer.get(s.success_field) != s.success_value:
                return Outcome(False, error=f"gateway answered {response.text[:200]}")
        return outcome


class YunpianProvider:
    """Yunpian (云片) v2 single send: a form POST of apikey, mobile, text and uid
    (our key); the answer is JSON with `code` 0 on success."""

    def __init__(self, settings: SmsProvider, client: httpx.AsyncClient, timeout: float) -> None:
        assert settings.api_key_file is not None
        self.url = settings.url or YUNPIAN_URL
        self.api_key = Path(settings.api_key_file).read_text().strip()
        self.client = client
        self.timeout = timeout

    async def send(self, phone: str, text: str, key: str) -> Outcome:
        form = {"apikey": self.api_key, "mobile": phone, "text": text, "uid": key}
        headers = {"Accept": "application/json;charset=utf-8"}
        try:
            response = await self.client.post(
                self.url, data=form, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            return http_failure(exc, self.timeout)
        answer = _json(response)
        code = answer.get("code")
        if response.status_code == 200 and code == 0:
            return Outcome(True)
        error = f"yunpian HTTP {response.status_code} code {code}: {answer.get('msg', '')}"
        if code in YUNPIAN_RETRY:
            return Outcome(False, retry=True, after=60.0, error=error)
        outcome = classify_http(response)
        return Outcome(False, retry=outcome.retry, after=outcome.after, error=error)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def provider(dest: SmsDestination, client: httpx.AsyncClient) -> Provider:
    assert dest.provider is not None
    timeout = dest.timeout.total_seconds()
    if dest.provider.type == "yunpian":
        return YunpianProvider(dest.provider, client, timeout)
    return GenericProvider(dest.provider, client, timeout)


class SmsChannel(BaseChannel):
    """The sms destination's delivery: grouping, rate limit, parts."""

    def __init__(
        self,
        name: str,
        dest: SmsDestination,
        store: SmsLog,
        client: httpx.AsyncClient,
        config_dir: Path | None,
        answer_via: Iterable[str] = (),
        gateway: Provider | None = None,
    ) -> None:
        self.name = name
        self.dest = dest
        self.store = store
        self.provider = gateway or provider(dest, client)  # a given one: a recording
        self.texts = Texts(dest.template, config_dir)
        self.calls = name in set(answer_via)  # its texts ask for a reply

    async def deliver(self, due: list[Delivery]) -> list[Sent]:
        """Each due message in turn. After a failure worth retrying (the gateway
        answers 5xx or not at all) the rest are not tried in this round: they
        wait for the retry with the same error, so a hanging gateway costs one
        timeout before its failure is known, not one per waiting message."""
        out: list[Sent] = []
        seen: set[str] = set()
        for n, row in enumerate(due):
            if row.key in seen:
                continue
            rows = self._message(row)
            seen.update(r.key for r in rows)
            held = None if any(_urgent(r) for r in rows) else self._held(row.recipient)
            if held is not None:
                out.append(Sent(rows, Outcome(False, held=held)))
                continue
            outcome = await self._send(rows)
            out.append(Sent(rows, outcome))
            if outcome.retry:
                later = Outcome(False, retry=True, after=outcome.after, error=outcome.error)
                out.extend(Sent([r], later) for r in due[n + 1 :] if r.key not in seen)
                break
        return out

    def _message(self, row: Delivery) -> list[Delivery]:
        """The rows that go out together with `row` (fixed once chosen): the
        recipient's pending rows, oldest first, as many as fit in
        `max_segments` without trimming (at least `row`)."""
        if row.batch is not None:
            return self.store.in_batch(row.batch) or [row]
        pending = [r for r in self.store.pending_for(self.name, row.recipient) if r.batch is None]
        rows = [row]
        texts = [self._text(row)]
        for other in pending:
            if other.key == row.key:
                continue
            text = self._text(other)
            if not fits(compose([*texts, text], False), self.dest):
                break
            rows.append(other)
            texts.append(text)
        batch = rows[0].key if len(rows) == 1 else _batch_key(rows)
        self.store.set_batch([r.key for r in rows], batch)
        return [replace(r, batch=batch) for r in rows]

    def _text(self, row: Delivery) -> str:
        return self.texts.render(row, self.calls)

    def _held(self, recipient: Recipient | None) -> float | None:
        limit = self.dest.rate_limit
        if limit is None:
            return None
        now = time.time()
        per = limit.per.total_seconds()
        if self.store.sent_to(self.name, recipient, now - per) < limit.count:
            return None
        return now + per / limit.count

    async def _send(self, rows: list[Delivery]) -> Outcome:
        phone = rows[0].person.phone
        text = message_text(self.texts, rows, self.calls)
        parts = segments(text, self.dest.segment_chars, self.dest.max_segments)
        batch = rows[0].batch or rows[0].key
        for i, part in enumerate(parts):
            key = batch if len(parts) == 1 else f"{batch}-{i + 1}"
            outcome = await self.provider.send(phone, part, key)
            if not outcome.ok:
                return outcome
        return Outcome(True)


def channel(wiring: Wiring[SmsDestination]) -> Channel:
    via = wiring.settings.answer.via if wiring.settings.answer else []
    return SmsChannel(wiring.name, wiring.dest, wiring.store, wiring.client, wiring.config_dir, via)


def _urgent(row: Delivery) -> bool:
    """Never held by the rate limit: an orange or red warning raised, and the
    calls of call-and-answer."""
    if row.note.startswith(("resend", "escalation")):
        return True
    alert = row.alert
    return alert.severity.rank >= Severity.ORANGE.rank and alert.transition in (
        Transition.FIRING,
        Transition.ESCALATED,
    )


def _batch_key(rows: list[Delivery]) -> str:
    return hashlib.sha256("\x1f".join(sorted(r.key for r in rows)).encode()).hexdigest()[:32]


SINK = Sink(SmsDestination, channel)
