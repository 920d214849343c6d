"""The SMS gateway's reply push: `POST /api/sms/reply` (an acknowledgement of a
call-and-answer warning).

It needs the token of `service.http.sms_reply_token_file`, given as `?token=`
or an `X-Token` header; it accepts a JSON body `{"mobile"|"phone"|"from": …,
"text": …}`, the same as a form, or Yunpian's reply push (a form field
`sms_reply` holding that JSON).

An empty token file leaves the webhook off (404, and an error in the log at
start): an empty token would match a request that sends none.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from floodwatch.config.models import HttpSettings
from floodwatch.notify.dispatch import Dispatcher
from floodwatch.web.routes.context import error_response

log = logging.getLogger(__name__)
MAX_BODY = 16_384


def router(settings: HttpSettings, dispatcher: Dispatcher | None) -> APIRouter:
    token = _token(settings.sms_reply_token_file)

    api = APIRouter()

    @api.post("/api/sms/reply")
    async def sms_reply(request: Request) -> JSONResponse:
        """An SMS reply from a called person (token of the SMS gateway required)."""
        if dispatcher is None or token is None:
            return error_response(404, "the SMS reply webhook is not configured")
        given = request.query_params.get("token") or request.headers.get("x-token") or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return error_response(401, "wrong or missing token")
        body = await request.body()
        if len(body) > MAX_BODY:
            return error_response(413, f"body larger than {MAX_BODY} bytes")
        try:
            fields = await _fields(request, body)
        except ValueError as exc:
            return error_response(400, str(exc))
        phone = fields.get("mobile") or fields.get("phone") or fields.get("from")
        text = fields.get("text")
        if not isinstance(phone, str) or not isinstance(text, str):
            return error_response(400, "need the sender's number (mobile, phone or from) and text")
        alerts = dispatcher.reply(phone, text, time.time())
        return JSONResponse({"acknowledged": alerts})

    return api


def _token(path: str | None) -> str | None:
    """The gateway's token; None (the webhook off) without a file or with an empty one."""
    if not path:
        return None
    token = Path(path).read_text(encoding="utf-8").strip()
    if not token:
        log.error("%s is empty: the SMS reply webhook is off (POST /api/sms/reply is 404)", path)
        return None
    return token


async def _fields(request: Request, body: bytes) -> dict[str, Any]:
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        return data
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if "sms_reply" in fields:  # Yunpian's reply push
        try:
            data = json.loads(fields["sms_reply"])
        except ValueError as exc:
            raise ValueError(f"sms_reply is not JSON: {exc}") from exc
        if isinstance(data, dict):
            return data
    return fields
