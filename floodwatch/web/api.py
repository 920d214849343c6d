"""The command center's HTTP API and page, served by `floodwatch run` (and
`floodwatch demo`) on uvicorn: `create_app` puts together the routers of
`web/routes/` (one module per resource) under one access check.

Every route has an explicit access rule in `ACCESS` (`web/access.py`: public,
or the least role: viewer, operator or admin; and whether its token may come
in the URL), enforced here in one place (`authorize`, a dependency of the
whole app); a route without a rule is refused (fail closed), and a test
enumerates the routes. Errors are JSON `{"error": "..."}`, never a traceback;
bodies are limited in size before anything else runs (`web/guard.py`) and
validated by pydantic models; every response carries the browser security
headers. OpenAPI is published at `/openapi.json`.

Every route and dependency is `async def`: it runs on the event loop, the one
thread that uses the store, between two engine steps (a step's transaction
never awaits), so an API write never interleaves with the engine's. Only
password hashing goes to a worker thread, and it touches nothing shared.
`tests/web/test_api.py` fails on a handler that is not a coroutine.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from floodwatch.config.models import HttpSettings
from floodwatch.web import board
from floodwatch.web.access import ACCESS
from floodwatch.web.auth import Principal, Tokens
from floodwatch.web.auth import read_token_file as read_tokens
from floodwatch.web.guard import BodyLimit, SecurityHeaders
from floodwatch.web.keys import KeyRing, key_file
from floodwatch.web.routes import (
    alerts,
    auth,
    drills,
    health,
    incidents,
    maps,
    notifications,
    page,
    silences,
    sms_reply,
    stations,
    stream,
)
from floodwatch.web.routes.context import Context, error_response
from floodwatch.web.stream import Hub

if TYPE_CHECKING:
    from floodwatch.service.run import Service

__all__ = ["ACCESS", "all_routes", "create_app", "error_response"]

log = logging.getLogger(__name__)
MAX_BODY = 65_536


def create_app(settings: HttpSettings, service: Service, hub: Hub, recent: board.Recent) -> FastAPI:
    store = service.store
    assert store is not None
    ctx = Context(settings, service, store, store.people, hub, recent)
    machine = read_tokens(settings.token_file)
    tokens = Tokens(_keys(service, settings), settings.session_ttl.total_seconds())

    async def authorize(request: Request) -> Principal | None:
        route = request.scope.get("route")
        path = getattr(route, "path", request.url.path)
        rule = ACCESS.get((request.method, path))
        if rule is None:
            raise HTTPException(403, f"no access rule for {request.method} {path}")
        if rule.least is None:
            return None
        who = _principal(request, tokens, machine, rule.token_in_url)
        if who is None:
            raise HTTPException(401, "log in first (Authorization: Bearer <token>)")
        if who.role < rule.least:
            raise HTTPException(403, f"needs the {rule.least.name.lower()} role")
        request.state.principal = who
        return who

    app = FastAPI(
        title="floodwatch command center",
        version="1",
        dependencies=[Depends(authorize)],
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    _errors(app)
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(SecurityHeaders, images=_origin(settings.map_tiles))  # outermost

    app.include_router(health.router(ctx))
    page.mount(app)
    app.include_router(auth.router(ctx, tokens))
    app.include_router(alerts.router(ctx))
    app.include_router(incidents.router(ctx))
    app.include_router(notifications.router(ctx))
    app.include_router(silences.router(ctx))
    app.include_router(drills.router(ctx))
    app.include_router(stations.router(ctx))
    app.include_router(maps.router(ctx))
    app.include_router(stream.router(ctx))
    app.include_router(sms_reply.router(settings, service.dispatcher))
    return app


def all_routes(app: FastAPI) -> list[Any]:
    """Every route of the app, those of the included routers one by one (newer
    FastAPI keeps an included router as one entry of `app.routes`). Each has
    `path`, `methods` and, for an API route, `dependant` (with the app's
    dependencies); `original_route` is the route object itself."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before 0.165: included routes are copied in
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def _origin(url: str | None) -> str | None:
    """The origin (scheme://host:port) of the tile server, for the page's policy."""
    if url is None:
        return None
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _principal(
    request: Request, tokens: Tokens, machine: dict[str, Principal], in_url: bool
) -> Principal | None:
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if not token and in_url:
        token = request.query_params.get("token", "")
    if not token:
        return None
    return machine.get(token) or tokens.check(token, time.time())


def _keys(service: Service, settings: HttpSettings) -> KeyRing:
    """The session-signing keys, from their own file (a key older stores kept
    in `meta` is moved there and wiped from the database file)."""
    store = service.store
    assert store is not None
    path = key_file(service.store_path, settings.session_keys)
    grace = settings.session_ttl.total_seconds()
    legacy = store.meta("http_secret")
    ring = KeyRing.open(path, grace, bytes.fromhex(legacy) if legacy else None, time.time())
    if legacy is not None:
        store.forget_meta("http_secret")
        log.warning("session-signing key moved from the store to %s", path)
    return ring


def _errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def httperror_response(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10]]
        return error_response(422, "; ".join(problems))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(500, "internal error (logged)")
