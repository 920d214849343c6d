"""The command center's HTTP API and page, served by `floodwatch run` (and
`floodwatch demo`) on uvicorn.

Every route has an explicit access rule in `ACCESS` (public, or the least
role: viewer, operator or admin; and whether its token may come in the URL),
enforced in one place (`authorize`, a dependency of the whole app); a route
without a rule is refused (fail closed), and a test enumerates the routes.
Errors are JSON `{"error": "..."}`, never a traceback; bodies are limited in
size before anything else runs (`web/guard.py`) and validated by pydantic
models; every response carries the browser security headers. OpenAPI is
published at `/openapi.json`.

Every route and dependency is `async def`: it runs on the event loop, the one
thread that uses the store, between two engine steps (a step's transaction
never awaits), so an API write never interleaves with the engine's. Only
password hashing goes to a worker thread, and it touches nothing shared.
`tests/web/test_api.py` fails on a handler that is not a coroutine.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from floodwatch.alerts.state import Severity
from floodwatch.config.models import HttpSettings
from floodwatch.readings import format_ts, ms_to_dt, parse_ts, ts_to_ms
from floodwatch.service import operations
from floodwatch.web import board
from floodwatch.web.auth import (
    LoginLimiter,
    Principal,
    Role,
    Tokens,
    check_login,
    dummy_hash,
)
from floodwatch.web.auth import read_token_file as read_tokens
from floodwatch.web.guard import BodyLimit, SecurityHeaders
from floodwatch.web.incidents import view as incident_view
from floodwatch.web.keys import KeyRing, key_file
from floodwatch.web.metrics import registry_for
from floodwatch.web.stream import Hub

if TYPE_CHECKING:
    from floodwatch.service.run import Service

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_BODY = 65_536
HASHES_AT_ONCE = 4  # password hashes running at once (memory and CPU bounded)


@dataclass(frozen=True)
class Rule:
    """Who may call a route: `least` role (None: anyone), and whether the
    session token may come as `?token=` (only where a browser cannot send a
    header: EventSource)."""

    least: Role | None
    token_in_url: bool = False


PUBLIC = Rule(None)
VIEWER, OPERATOR = Rule(Role.VIEWER), Rule(Role.OPERATOR)

# (method, path) -> who may call it (public ones with why).
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): PUBLIC,  # health checks
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/"): PUBLIC,  # the page shell; it logs in before it shows anything
    ("GET", "/static"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,  # the API's description, no data
    ("POST", "/api/login"): PUBLIC,  # limited per address, slowed per account
    ("POST", "/api/sms/reply"): PUBLIC,  # checks the SMS gateway's own token
    ("GET", "/api/me"): VIEWER,
    ("GET", "/api/status"): VIEWER,
    ("GET", "/api/alerts"): VIEWER,
    ("GET", "/api/alerts/{alert_id:path}"): VIEWER,
    ("POST", "/api/alerts/{alert_id:path}/ack"): OPERATOR,
    ("GET", "/api/incidents"): VIEWER,
    ("GET", "/api/incidents/{incident_id:path}"): VIEWER,
    ("POST", "/api/incidents/{incident_id:path}/ack"): OPERATOR,
    ("GET", "/api/silences"): VIEWER,
    ("POST", "/api/silences"): OPERATOR,
    ("DELETE", "/api/silences/{silence_id}"): OPERATOR,
    ("GET", "/api/stations"): VIEWER,
    ("GET", "/api/stations/{station_id}"): VIEWER,
    ("GET", "/api/stream"): Rule(Role.VIEWER, token_in_url=True),  # EventSource: no headers
    ("POST", "/api/drills"): OPERATOR,
    ("DELETE", "/api/drills/{alert_id:path}"): OPERATOR,
    ("GET", "/metrics"): VIEWER,
}


async def principal(request: Request) -> Principal:
    """Who is asking (set by `authorize`, which runs first for every route)."""
    who = getattr(request.state, "principal", None)
    if who is None:
        raise HTTPException(401, "log in first (Authorization: Bearer <token>)")
    return who  # type: ignore[no-any-return]


Who = Annotated[Principal, Depends(principal)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Login(Body):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Ack(Body):
    comment: str = Field("", max_length=500)


class NewDrill(Body):
    station: str = Field(min_length=1, max_length=64)
    severity: Literal["blue", "yellow", "orange", "red"]


class NewSilence(Body):
    stations: list[str] = Field(default_factory=list, max_length=100)
    rules: list[str] = Field(default_factory=list, max_length=100)
    villages: list[str] = Field(default_factory=list, max_length=100)
    towns: list[str] = Field(default_factory=list, max_length=100)
    starts: datetime | None = None
    ends: datetime
    reason: str = Field(min_length=1, max_length=500)


def create_app(settings: HttpSettings, service: Service, hub: Hub, recent: board.Recent) -> FastAPI:
    from floodwatch.web.sms_reply import sms_reply_route

    store = service.store
    assert store is not None
    ledger = store.people
    users = {u.name: u for u in settings.users}
    machine = read_tokens(settings.token_file)
    tokens = Tokens(_keys(service, settings), settings.session_ttl.total_seconds())
    dummy_hash()  # made now, so the first unknown name costs what the others do
    limiter = LoginLimiter(settings.login_limit)
    hashing = asyncio.Semaphore(HASHES_AT_ONCE)
    registry = registry_for(service)

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
    app.add_middleware(SecurityHeaders)  # outermost: also on a 413

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        problems = service.not_ready()
        if problems:
            return JSONResponse({"ready": False, "problems": problems}, status_code=503)
        return JSONResponse({"ready": True})

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.post("/api/login")
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

    @app.get("/api/me")
    async def me(who: Who) -> dict[str, str]:
        return {"name": who.name, "role": who.role.name.lower()}

    @app.get("/api/status")
    async def status() -> dict[str, Any]:
        clock = service.clock_ms()
        drilling = any(e["status"] == "exercise" for e in store.active())
        return {
            "exercise": service.compiled.exercise or drilling,
            "event_clock": format_ts(ms_to_dt(clock)) if clock is not None else None,
            "timezone": service.compiled.zone.key,
            "ready": not service.not_ready(),
        }

    @app.get("/api/alerts")
    async def alerts(
        request: Request,
        active: bool = False,
        severity: Annotated[list[Severity] | None, Query()] = None,
        station: str | None = None,
        town: str | None = None,
        rule: str | None = None,
        status: Literal["actual", "exercise"] | None = None,
        since: AwareDatetime | None = None,
        until: AwareDatetime | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> list[dict[str, Any]]:
        """Active alerts (most severe first, then oldest) or the transition history
        (newest first). A filter that cannot match (an unknown parameter or value, a
        time without a zone, `since` after `until`) is 422 naming the valid values,
        never an empty list."""
        _known_parameters(request, ALERT_FILTERS)
        if since is not None and until is not None and since > until:
            raise HTTPException(
                422, f"since ({since.isoformat()}) is after until ({until.isoformat()})"
            )
        stations = None if station is None else [station]
        if town is not None:
            in_town = [
                sid
                for sid, info in service.compiled.stations.items()
                if info.model.town is not None and info.model.town.code == town
            ]
            stations = in_town if stations is None else [s for s in stations if s in in_town]
        since_ms = None if since is None else int(since.timestamp() * 1000)
        until_ms = None if until is None else int(until.timestamp() * 1000)
        if not active:
            return store.history(
                stations=stations,
                rule=rule,
                status=status,
                severities=None if severity is None else [s.value for s in severity],
                since_ms=since_ms,
                until_ms=until_ms,
                limit=limit,
            )
        out = []
        for event in store.active():
            ts = _ms(event["ts"])
            if (
                (severity and event["severity"] not in severity)
                or (stations is not None and event["station"] not in stations)
                or (rule and event["rule"] != rule)
                or (status and event["status"] != status)
                or (since_ms is not None and ts < since_ms)
                or (until_ms is not None and ts > until_ms)
            ):
                continue
            out.append(board.alert_summary(event, ledger, store))
        rank = {s: i for i, s in enumerate(["red", "orange", "yellow", "blue", "info"])}
        out.sort(key=lambda e: (rank[str(e["severity"])], str(e["episode_start"])))
        return out[:limit]

    @app.get("/api/alerts/{alert_id:path}")
    async def alert(alert_id: str) -> dict[str, Any]:
        found = board.timeline(alert_id, ledger, store)
        if found is None:
            raise HTTPException(404, f"no alert {alert_id!r}")
        return found

    @app.post("/api/alerts/{alert_id:path}/ack")
    async def ack(alert_id: str, body: Ack, who: Who) -> dict[str, Any]:
        if board.timeline(alert_id, ledger, store) is None:
            raise HTTPException(404, f"no alert {alert_id!r}")
        now = time.time()
        done = store.incidents.covered(alert_id)  # the alert and its incident
        with store.transaction():
            for one in done:
                ledger.acknowledge(one, who.name, "web", body.comment, now)
        log.info("alert %s acknowledged by %s: %s", alert_id, who.name, body.comment)
        for one in done:
            hub.publish(
                {
                    "event": "ack",
                    "data": json.dumps({"id": one, "by": who.name}, ensure_ascii=False),
                }
            )
        return {"acknowledged": alert_id, "by": who.name, "at": now, "covers": done}

    @app.get("/api/incidents")
    async def incidents_(
        all: bool = False, limit: Annotated[int, Query(ge=1, le=5000)] = 200
    ) -> list[dict[str, Any]]:
        """Active incidents (or all, newest first) with their active alerts."""
        found = store.incidents.list(active=not all, limit=limit)
        return [incident_view(i, ledger, service.compiled, recent) for i in found]

    @app.get("/api/incidents/{incident_id:path}")
    async def incident(incident_id: str) -> dict[str, Any]:
        found = store.incidents.get(incident_id)
        if found is None:
            raise HTTPException(404, f"no incident {incident_id!r}")
        return incident_view(found, ledger, service.compiled, recent)

    @app.post("/api/incidents/{incident_id:path}/ack")
    async def ack_incident(incident_id: str, body: Ack, who: Who) -> dict[str, Any]:
        incidents = store.incidents
        if incidents.get(incident_id) is None:
            raise HTTPException(404, f"no incident {incident_id!r}")
        now = time.time()
        done = incidents.covered(incident_id)
        with store.transaction():
            for one in done:
                ledger.acknowledge(one, who.name, "web", body.comment, now)
        log.info("incident %s acknowledged by %s: %s", incident_id, who.name, body.comment)
        for one in done:
            hub.publish(
                {
                    "event": "ack",
                    "data": json.dumps({"id": one, "by": who.name}, ensure_ascii=False),
                }
            )
        return {"acknowledged": done, "by": who.name, "at": now}

    @app.get("/api/silences")
    async def silences(all: bool = False) -> list[dict[str, object]]:
        return [s.to_json() for s in ledger.silences(None if all else time.time())]

    @app.post("/api/silences", status_code=201)
    async def new_silence(body: NewSilence, who: Who) -> dict[str, object]:
        now = time.time()
        try:
            with store.transaction():
                made = ledger.add_silence(
                    starts=body.starts.timestamp() if body.starts else now,
                    ends=body.ends.timestamp(),
                    author=who.name,
                    reason=body.reason,
                    stations=body.stations,
                    rules=body.rules,
                    villages=body.villages,
                    towns=body.towns,
                )
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return made.to_json()

    @app.delete("/api/silences/{silence_id}")
    async def end_silence(silence_id: str) -> dict[str, str]:
        with store.transaction():
            ended = ledger.end_silence(silence_id, time.time())
        if not ended:
            raise HTTPException(404, f"no silence {silence_id!r} in force")
        return {"ended": silence_id}

    @app.post("/api/drills", status_code=201)
    async def start_drill(body: NewDrill, who: Who) -> dict[str, Any]:
        """Start a drill (演练) alert at a station: status exercise end to end."""
        if body.station not in service.compiled.stations:
            raise HTTPException(404, f"no station {body.station!r}")
        event = operations.start_drill(service, body.station, Severity(body.severity), who.name)
        log.info("drill %s started by %s", event.id, who.name)
        return event.to_json()

    @app.delete("/api/drills/{alert_id:path}")
    async def end_drill(alert_id: str, who: Who) -> dict[str, Any]:
        event = operations.end_drill(service, alert_id)
        if event is None:
            raise HTTPException(404, f"no drill {alert_id!r} running")
        log.info("drill %s ended by %s", alert_id, who.name)
        return event.to_json()

    @app.get("/api/stations")
    async def stations() -> list[dict[str, Any]]:
        return board.station_rows(service.compiled, recent, store.active(), service.clock_ms())

    @app.get("/api/stations/{station_id}")
    async def station(station_id: str) -> dict[str, Any]:
        info = service.compiled.stations.get(station_id)
        if info is None:
            raise HTTPException(404, f"no station {station_id!r}")
        [row] = board.station_rows(
            service.compiled, recent, store.active(), service.clock_ms(), only={station_id}
        )
        clock = service.clock_ms() or int(time.time() * 1000)
        start = clock - board.DAY_MS
        series = {
            kind: [[ms, v] for ms, v in recent.since(station_id, kind, start)]
            for kind in info.model.kinds
        }
        history = store.history(stations=[station_id], since_ms=start, limit=5000)[::-1]
        return {
            **row,
            "series": series,
            "thresholds": board.thresholds(service.compiled, station_id, clock),
            "alerts": history,
            "from": start,
            "to": clock,
        }

    @app.get("/api/stream")
    async def stream(request: Request) -> EventSourceResponse:
        last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        return EventSourceResponse(hub.events(store, last), ping=15)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    sms_reply_route(app, settings, service.dispatcher)
    return app


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


ALERT_FILTERS = (
    "active",
    "severity",
    "station",
    "town",
    "rule",
    "status",
    "since",
    "until",
    "limit",
)


def _known_parameters(request: Request, known: tuple[str, ...]) -> None:
    """A misspelt filter (`?severty=red`) is refused, not ignored."""
    unknown = sorted(set(request.query_params) - set(known))
    if unknown:
        raise HTTPException(
            422, f"unknown query parameter {unknown[0]!r}; valid: {', '.join(known)}"
        )


def error_response(status: int, message: str) -> JSONResponse:
    """Every error of the app: JSON `{"error": message}`, never a traceback."""
    return JSONResponse({"error": message}, status_code=status)


def _ms(ts: object) -> int:
    return ts_to_ms(parse_ts(str(ts)))
