"""Moved to `floodwatch.store` (the one owner of SQL); kept importable while
other branches move over."""

from floodwatch.store import OUTBOX_COLUMNS, Delivery, Outgoing, Store

__all__ = ["OUTBOX_COLUMNS", "Delivery", "Outgoing", "Store"]
