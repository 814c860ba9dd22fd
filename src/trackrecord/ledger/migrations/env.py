"""Alembic environment: runs on the connection handed over by trackrecord.ledger.migrate."""

from __future__ import annotations

from alembic import context

from trackrecord.ledger.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
