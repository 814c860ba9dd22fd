"""The projector states the tables' primary keys itself (it is stdlib-only, for the kill
switch's fast path); they must stay those of the schema."""

from __future__ import annotations

from trackrecord.ledger import schema
from trackrecord.ledger.projections import PRIMARY_KEYS, TABLES


def test_projection_primary_keys_are_the_schemas() -> None:
    from_schema = {t.name: tuple(c.name for c in t.primary_key.columns) for t in schema.PROJECTION_TABLES}
    assert PRIMARY_KEYS == from_schema, "update PRIMARY_KEYS in ledger/projections.py with the schema"
    assert TABLES == tuple(from_schema)
