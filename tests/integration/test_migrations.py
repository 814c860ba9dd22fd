"""Alembic revisions build exactly the schema the code describes, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from trackrecord.ledger.db import HEAD_REVISION, create_db_engine, current_revision, migrate
from trackrecord.ledger.schema import metadata


def test_revisions_match_the_current_schema(database_url: str) -> None:
    engine = create_db_engine(database_url)
    migrate(engine)
    assert current_revision(engine) == HEAD_REVISION
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == [], differences
    migrate(engine)  # a second run is a no-op
    assert current_revision(engine) == HEAD_REVISION
    engine.dispose()
