"""Who may do what in the command center: the one statement of it.

Every route of the app has an explicit rule in `ACCESS` (public, or the least
role: viewer, operator or admin; and whether its token may come in the URL).
`web/api.py` enforces it in one place (a dependency of the whole app); a route
without a rule is refused (fail closed), and a test enumerates the routes.
`capabilities` derives from the same table what an account may do, for the
page (`GET /api/me`): the page shows a control only where the API would allow
its call.
"""

from __future__ import annotations

from dataclasses import dataclass

from floodwatch.web.auth import Role


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
    ("GET", "/api/notifications"): VIEWER,
    ("GET", "/api/silences"): VIEWER,
    ("POST", "/api/silences"): OPERATOR,
    ("DELETE", "/api/silences/{silence_id}"): OPERATOR,
    ("GET", "/api/map"): VIEWER,
    ("GET", "/api/stations"): VIEWER,
    ("GET", "/api/stations/{station_id}"): VIEWER,
    ("GET", "/api/stream"): Rule(Role.VIEWER, token_in_url=True),  # EventSource: no headers
    ("POST", "/api/drills"): OPERATOR,
    ("DELETE", "/api/drills/{alert_id:path}"): OPERATOR,
    ("GET", "/metrics"): VIEWER,
}

# What the page may offer, by the route it calls (`GET /api/me`).
CAPABILITIES: dict[str, tuple[str, str]] = {
    "ack": ("POST", "/api/incidents/{incident_id:path}/ack"),
    "silence": ("POST", "/api/silences"),
    "drill": ("POST", "/api/drills"),
}


def capabilities(role: Role) -> dict[str, bool]:
    """What an account of `role` may do, from `ACCESS` itself."""
    out = {}
    for name, key in CAPABILITIES.items():
        least = ACCESS[key].least
        out[name] = least is None or role >= least
    return out
