"""Which stations a telemetry gateway may speak for.

A gauge publishes under its own station's topic (`hydro/<station>/<kind>`,
enforced by the broker's ACL, `deploy/mosquitto/floodwatch.acl`, and by the
decoder: a station in the payload must match the one in the topic). A
gateway publishes batches for many stations under `gateway/<its name>`, so
the broker cannot tell which stations it may report; `service.mqtt.gateways`
lists them, and a reading from a gateway for any other station — or from a
gateway not listed at all — is dead-lettered `not_allowed` (fail closed: one
compromised gateway or gauge cannot feed false levels for another pond).

The gateway is the `{gateway}` field of the topic pattern; a pattern with
that field needs the list (`floodwatch check` says so), and every station
named must exist (`floodwatch.config.gateways`).
"""

from __future__ import annotations

from collections.abc import Mapping

from floodwatch.readings import Reading, Rejected, RejectReason

FIELD = "gateway"  # the topic field that names the gateway


def screen(
    readings: list[Reading],
    gateway: str,
    allowed: Mapping[str, frozenset[str]],
    source: str | None,
) -> tuple[list[Reading], list[Rejected]]:
    """The readings `gateway` may send, and a `not_allowed` rejection for each other."""
    stations = allowed.get(gateway, frozenset())
    if all(r.station in stations for r in readings):
        return readings, []
    why = (
        f"gateway {gateway!r} is not listed in service.mqtt.gateways"
        if gateway not in allowed
        else None
    )
    kept, refused = [], []
    for r in readings:
        if r.station in stations:
            kept.append(r)
            continue
        detail = why or f"gateway {gateway!r} may not report station {r.station!r}"
        refused.append(Rejected(RejectReason.NOT_ALLOWED, detail, r, source=source))
    return kept, refused
