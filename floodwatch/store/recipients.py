"""The one codec of a delivery's recipient and its column text (the outbox
`recipient`, the calls ledger's `recipient`).

The text is what it always was, so stores written before keep loading and
their rows keep matching (grouping, rate limits and who-heard-before look rows
up by it): a person is their JSON object (`person`, `name`, `phone`, `role`;
written with sorted keys, unescaped; read in any key order), a village is its
code, no recipient is ''. A village code never starts with '{'.
"""

from __future__ import annotations

import json

from floodwatch.notify.records import Person, Recipient, Village


def encode(recipient: Recipient | None) -> str:
    """The column text of `recipient` (byte for byte as stores have held it)."""
    if recipient is None:
        return ""
    if isinstance(recipient, Village):
        return recipient.code
    return json.dumps(person_json(recipient), ensure_ascii=False, sort_keys=True)


def decode(text: str) -> Recipient | None:
    """The recipient of a column's text; raises ValueError on a malformed person."""
    if not text:
        return None
    if text.startswith("{"):
        return decode_person(text)
    return Village(text)


def decode_person(text: str) -> Person:
    """A person from their JSON (any key order, as either column wrote it; a
    field missing from an old row reads as ''). Raises ValueError if `text` is
    not a JSON object."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"stored recipient is not a person: {text!r}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"stored recipient is not a person: {text!r}")
    fields = (str(raw.get(k, "")) for k in ("person", "name", "phone", "role"))
    return Person(*fields)


def person_json(person: Person) -> dict[str, str]:
    return {
        "person": person.person,
        "name": person.name,
        "phone": person.phone,
        "role": person.role,
    }
