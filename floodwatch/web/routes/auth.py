"""Logging in (`POST /api/login`, a session token) and who the caller is
(`GET /api/me`)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from floodwatch.web.access import capabilities
from floodwatch.web.auth import LoginLimiter, Principal, Role, Tokens, check_login, dummy_hash
from floodwatch.web.routes.context import Body, Context, Who

log = logging.getLogger(__name__)
HASHES_AT_ONCE = 4  # password hashes running at once (memory and CPU bounded)


class Login(Body):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


def router(ctx: Context, tokens: Tokens) -> APIRouter:
    settings = ctx.settings
    users = {u.name: u for u in settings.users}
    dummy_hash()  # made now, so the first unknown name costs what the others do
    limiter = LoginLimiter(settings.login_limit)
    hashing = asyncio.Semaphore(HASHES_AT_ONCE)
    api = APIRouter()

    @api.post("/api/login")
    async def login(body: Login, request: Request) -> dict[str, Any]:
        """Limited per client address (429); per account, attempts after
        repeated failures are slowed down, never refused. The password hash
        runs also for an unknown name (the timing does not tell)."""
        client = request.client.host if request.client else "?"
        started = time.time()
        wait = limiter.blocked(client, started)
        if wait > 0:
            raise HTTPException(429, f"too many failed logins; try again in {wait:.0f} s")
        pause = limiter.delay(body.name, started)
        limiter.failed(client, body.name, started)  # until it succeeds: concurrent ones count
        await asyncio.sleep(pause)
        async with hashing:  # scrypt takes 16 MiB and a core: a few at a time
            user = await run_in_threadpool(
                check_login, users, body.name, body.password, lambda u: u.password_hash
            )
        now = time.time()
        if user is None:
            log.warning("failed login for %r from %s", body.name, client)
            raise HTTPException(401, "wrong name or password")
        limiter.forgive(client, body.name, started)
        who = Principal(user.name, Role.parse(user.role))
        log.info("login: %s (%s) from %s", who.name, user.role, client)
        return {"token": tokens.issue(who, now), "name": who.name, "role": user.role}

    @api.get("/api/me")
    async def me(who: Who) -> dict[str, Any]:
        """Who the caller is and what the account may do (the page shows only
        the controls whose calls the access table allows)."""
        return {
            "name": who.name,
            "role": who.role.name.lower(),
            "may": capabilities(who.role),
        }

    return api
