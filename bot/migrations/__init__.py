"""Alembic migrations of the store. `paybot db upgrade` applies them; `paybot run` does it at start."""
