"""Alembic's environment: runs on the connection bot.migrate hands it (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from bot.repo.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
