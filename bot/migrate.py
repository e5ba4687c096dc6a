"""Schema migrations with alembic, driven from code (no alembic.ini).

`upgrade(engine)` brings any database to the newest revision. A database made
before migrations existed (tables, no alembic_version) is adopted by stamping
it at the first revision, then upgraded like any other.
"""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

FIRST_REVISION = "0001"


def _config(connection: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("bot").joinpath("migrations")))
    cfg.attributes["connection"] = connection
    return cfg


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: not under migrations yet)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    """The newest revision shipped with this version of paybot."""
    return str(ScriptDirectory.from_config(_config(None)).get_current_head())


MIGRATION_LOCK = 7_243_001  # a PostgreSQL advisory lock key: one migrating process at a time


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Upgrade the database to `revision`; returns the revision it is at afterwards.

    Two processes upgrading at once take turns: on PostgreSQL an advisory lock
    held until the migration commits, on SQLite the write lock every
    transaction takes (BEGIN IMMEDIATE). The second one finds the work done."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg = _config(conn)
        tables = set(inspect(conn).get_table_names())
        if "transfer" in tables and "alembic_version" not in tables:
            command.stamp(cfg, FIRST_REVISION)
        command.upgrade(cfg, revision)
    return current(engine)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)
