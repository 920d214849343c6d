"""`type: sms` — texts to persons through an SMS gateway, grouped, rate
limited, in parts (channel: notify/sms.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from floodwatch.config.base import Model, Problems
from floodwatch.config.destinations.base import DestinationBase
from floodwatch.config.values import Duration


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
