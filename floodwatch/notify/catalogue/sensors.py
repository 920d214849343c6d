"""The sensor notices of the catalogue: each check of each gauge of the first
station a sensor rule watches, its notice and its all-clear, made by
`alerts.sensor_text` as the engine makes them.

Only the checks the gauge runs (`rules.kinds.health`): stuck where the rule's
`stuck_for` covers its kind, spike where it has a `max_step`, out of range
where it has a limit (rain never below 0); the sample figures are on the
wrong side of its own limits and `stuck_for`."""

from __future__ import annotations

from floodwatch.alerts import sensor_text
from floodwatch.alerts.messages import MEASURES, render
from floodwatch.alerts.state import Severity, Transition
from floodwatch.notify.catalogue.entries import Entry, make_event, with_
from floodwatch.rules.base import RuleContext
from floodwatch.rules.compile import Binding
from floodwatch.rules.kinds.health import CHECKS, Health


def sensor_entries(
    binding: Binding,
    found: dict[tuple[str, str], tuple[RuleContext, object]],
) -> list[Entry]:
    """Each check of each gauge of the rule's first station: notice and all-clear."""
    info = binding.station
    out = []
    rid = str(getattr(binding.rule, "id", "?"))
    for kind in info.model.kinds:
        m = MEASURES[kind]
        health = next(
            (p[1] for c in CHECKS if (p := found.get((f"{rid}/{c}", f"{info.id}/{kind}")))), None
        )
        if not isinstance(health, Health):
            continue
        lim = health.limits
        value = 310.0 if kind == "level" else 12.0
        whats = {"stale": sensor_text.stale(10)}
        if health.stuck_ms is not None:
            whats["stuck"] = sensor_text.stuck(m, value, health.stuck_ms // 60_000)
        if lim.max_step is not None:
            whats["spike"] = sensor_text.spike(m, max(5.0, 2 * lim.max_step), value)
        if lim.max is not None or lim.min is not None:
            bad = lim.max + 1.5 if lim.max is not None else (lim.min or 0.0) - 1.5
            whats["out_of_range"] = sensor_text.out_of_range(m, bad, lim.min, lim.max)
        whats["gauge_fault"] = sensor_text.gauge_fault()
        whats["over_limit"] = sensor_text.over_limit(m, value)
        for check, what in whats.items():
            pair = found.get((f"{rid}/{check}", f"{info.id}/{kind}"))
            if pair is None:
                continue
            ctx = pair[0]
            for step, text in ((Transition.FIRING, what), (Transition.RESOLVED, None)):
                back = sensor_text.BACK[check]
                zh, en = render(
                    place=ctx.place,
                    measure=m,
                    severity=Severity.INFO,
                    transition=step,
                    value=None,
                    threshold=None,
                    exercise=False,
                    what_zh=(text or back)[0],
                    what_en=(text or back)[1],
                )
                before = Severity.INFO if step is Transition.RESOLVED else None
                event = make_event(ctx, Severity.INFO, step, before, None, None, zh, en, None, None)
                event = with_(event, details={"check": check})
                title = f"`{ctx.rule}` {m.gauge_zh} ({kind})"
                out.append(Entry("sensors", ctx.rule, title, info.id, event))
    return out
