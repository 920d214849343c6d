"""Who would be told: gaps in the rosters and routes of a valid config. Pure.

`floodwatch check` prints these as `warning:` lines (exit 0): the config is
valid, but a flood alert may reach nobody.

- A station with flood rules (any level above `info`) that nobody answers
  for: a pond or reservoir without a roster of its own (its 行政/技术/巡查
  责任人); any other station when no role resolves to a person — no roster of
  its own, of a village it lies in or covers, or of its town.
- A rule whose flood alerts match no route to a destination that would
  deliver them (an SMS route whose recipients resolve to nobody counts as
  nobody), at any of its stations and levels. Without `service.notify` at all
  alerts go to the store and the board only; that is a choice, not a gap.
"""

from __future__ import annotations

from datetime import UTC, datetime

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.config.errors import ConfigIssue
from floodwatch.config.loader import LoadedConfig
from floodwatch.config.notify import ROLES
from floodwatch.config.rosters import Rosters
from floodwatch.notify.routing import Router
from floodwatch.rules.compile import Binding, CompiledConfig

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
DAMS = ("pond", "reservoir")  # each needs its own 三个责任人, not only a village's or town's


def gaps(loaded: LoadedConfig, compiled: CompiledConfig) -> list[ConfigIssue]:
    """Every station nobody answers for and every rule that reaches nobody."""
    config = compiled.config
    flood: dict[str, list[Binding]] = {}
    for binding in compiled.bindings:
        if _severities(binding):
            flood.setdefault(binding.station.id, []).append(binding)
    out: list[ConfigIssue] = []
    rosters = Rosters(config)
    own = {r.station for r in config.rosters if r.station and r.roles()}  # with someone in it
    unanswered = [
        sid
        for sid, info in compiled.stations.items()
        if sid in flood
        and (sid not in own if info.model.type in DAMS else not rosters.resolve(ROLES, sid))
    ]
    index = {s.id: i for i, s in enumerate(config.stations)}
    if not config.rosters and unanswered:
        out.append(
            loaded.issue(  # at the first of them: a file:line to start from
                ("stations", min(index[sid] for sid in unanswered), "id"),
                f"no rosters: nobody is responsible for the {len(unanswered)} stations with "
                "flood rules; add people: and rosters: (docs/notify.md)",
            )
        )
    else:
        for sid in sorted(unanswered, key=index.__getitem__):
            rules = sorted({_rule_id(b) for b in flood[sid]})
            dam = compiled.stations[sid].model.type in DAMS
            why = (
                "no roster of its own: nobody answers for the dam as 行政/技术/巡查责任人"
                if dam
                else "no roster: nobody is responsible for it (none of its own, its "
                "villages' or its town's)"
            )
            out.append(
                loaded.issue(
                    ("stations", index[sid], "id"),
                    f"station {sid!r} has flood rules ({', '.join(rules)}) and {why}",
                )
            )
    notify = config.service.notify
    if notify is None:
        return out
    router = Router(notify, compiled)
    reached: dict[int, bool] = {}
    for binding in compiled.bindings:
        for severity in _severities(binding):
            event = _probe(binding, severity)
            reached[binding.rule_index] = reached.get(binding.rule_index, False) or bool(
                router.targets(event)
            )
    for rule_index, any_target in sorted(reached.items()):
        if not any_target:
            rule = config.rules[rule_index]
            out.append(
                loaded.issue(
                    ("rules", rule_index, "id"),
                    f"rule {rule.id!r} routes to nobody: no route in service.notify.routes "
                    "takes its alerts to a destination with someone to tell",
                )
            )
    return out


def _rule_id(binding: Binding) -> str:
    return str(getattr(binding.rule, "id", "?"))


def _severities(binding: Binding) -> list[Severity]:
    """The warning levels a rule can raise at its station: its bound levels, the
    levels of its model (a rainfall rule binds none: its windows are its own),
    or its one `severity` (a compound rule)."""
    found = [level.severity for level in binding.levels]
    levels = getattr(binding.rule, "levels", None)
    if isinstance(levels, dict):
        found += [Severity(s) for s in levels]
    single = getattr(binding.rule, "severity", None)
    if single is not None:
        found.append(Severity(single))
    return [s for s in dict.fromkeys(found) if s is not Severity.INFO]


def _probe(binding: Binding, severity: Severity) -> AlertEvent:
    """An alert of `binding` at `severity`, as routing sees it."""
    return AlertEvent(
        id="check",
        rule=_rule_id(binding),
        kind=str(getattr(binding.rule, "kind", "")),
        station=binding.station.id,
        station_name=binding.station.place.name,
        severity=severity,
        previous_severity=None,
        transition=Transition.FIRING,
        ts=_EPOCH,
        episode_start=_EPOCH,
        value=None,
        threshold=None,
        unit="",
        message_zh="",
        message_en="",
    )
