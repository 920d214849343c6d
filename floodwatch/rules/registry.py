"""Every rule kind, by its YAML `kind:` (see `rules/kind.py` for the contract).

Adding a kind: one module in `rules/kinds/` with its config model (a
`config.models.RuleBase` subclass, `kind: Literal["<name>"]`), its runtime
instance and a `RuleKind` whose `model` is that model, and one entry here.
`KINDS` is the one list of kinds: the config loader validates `rules:` with
their models (`floodwatch.notify.sinks.CONFIG_TYPES`, `config/config_types.py`),
compile and build call them by `kind:`. `tests/unit/rules/test_registry.py`
checks each kind's model and name.
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
