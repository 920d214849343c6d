"""What one kind of rule provides: the seams between the YAML, the compile
step, the runtime, the fast path and the texts.

Every kind is one module in `rules/kinds/` holding its config model, its
runtime instance(s) and a `RuleKind` object, plus one entry in
`rules/registry.py` (`KINDS`). The config model (pydantic, a subclass of
`config.models.RuleBase` whose `kind` is one `Literal` name, with its local
invariants and file:line errors) is the kind's `model`; the config layer is
given the registry's models (`config/config_types.py`), so a kind's YAML is
validated with no entry anywhere else. Compile and build call
the kind through this protocol only — they never switch on rule types — and
the fast path learns each instance's quiet region from the instance itself
(`RuleInstance.fast_bound()`; `None` means "always exact": fail closed).

When each method is called:
- `reads(rule)` — at compile, once per (rule, station): the reading kind the
  station must report (None: any station may carry it).
- `bind(rule, index, info, ctx)` — at compile, after `reads` passed:
  everything resolved against the station (thresholds, links, structure);
  problems go to `ctx.issues` with their YAML path, never raised. Its
  binding is discarded when it added problems.
- `history(binding)` — at build, before any instance exists: how much
  history (ms) each (station, kind) series must keep for it.
- `linked(binding)` — for partitioning: the stations it reads besides its own
  (they are keyed together, so one engine sees them all).
- `attach(compiled, binding, series)` — at build, after the rings exist: make
  the runtime instance(s) and hang them on the series whose readings drive
  them (`rules`, or `dependents` for readings of other series). Each instance
  answers `fast_bound()` and says its texts through `messages`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from floodwatch.config.errors import Loc

if TYPE_CHECKING:
    from floodwatch.config.models import RuleBase
    from floodwatch.rules.build import Series
    from floodwatch.rules.compile import Binding, CompiledConfig, StationInfo


class Issues(Protocol):
    def add(self, loc: Loc, message: str) -> None:
        """Record one problem at the YAML path `loc` (file:line found by the loader)."""


@dataclass(frozen=True)
class BindContext:
    """What `bind` may look at besides its rule and station."""

    stations: dict[str, StationInfo]
    zone: ZoneInfo
    issues: Issues


SeriesKey = tuple[str, str]  # (station id, reading kind)


class RuleKind(Protocol):
    @property
    def name(self) -> str:
        """The YAML `kind:`."""

    @property
    def model(self) -> type[RuleBase]:
        """Its config model (a `RuleBase` subclass in the kind's module)."""

    def reads(self, rule: Any) -> str | None: ...

    def bind(self, rule: Any, index: int, info: StationInfo, ctx: BindContext) -> Binding: ...

    def history(self, binding: Binding) -> Iterator[tuple[SeriesKey, int]]: ...

    def linked(self, binding: Binding) -> set[str]: ...

    def attach(
        self, compiled: CompiledConfig, binding: Binding, series: dict[SeriesKey, Series]
    ) -> None: ...
