"""Moved to `floodwatch.store.ledger` (the one owner of SQL); kept importable
while other branches move over. Schema changes: a new step in
`store/migrations.py`."""

from floodwatch.store.ledger import Call, Ledger, Silence

__all__ = ["Call", "Ledger", "Silence"]
