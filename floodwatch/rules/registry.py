"""Every rule kind, by its YAML `kind:` (see `rules/kind.py` for the contract).

Adding a kind: its config model in `config/models.py` (and in the `Rule`
union there), one module in `rules/kinds/` with its runtime instance and a
`RuleKind`, and one entry here. `tests/unit/rules/test_registry.py` checks
that every model has a kind and every kind its model.
"""

from __future__ import annotations

from floodwatch.rules.kind import RuleKind
from floodwatch.rules.kinds.compound import COMPOUND
from floodwatch.rules.kinds.health import SENSOR_HEALTH
from floodwatch.rules.kinds.rainfall import RAINFALL
from floodwatch.rules.kinds.threshold import FREEBOARD, LEVEL, RATE_OF_RISE
from floodwatch.rules.kinds.time_to_crest import TIME_TO_CREST

KINDS: dict[str, RuleKind] = {
    kind.name: kind
    for kind in (LEVEL, FREEBOARD, RATE_OF_RISE, TIME_TO_CREST, RAINFALL, COMPOUND, SENSOR_HEALTH)
}
