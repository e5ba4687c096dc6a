"""The SQL store's engine (SQLite in WAL, or PostgreSQL by URL) and the adapters' own unit of work.

Nothing here runs at import time; `make_engine` builds an engine when the caller asks for one.

SQLite is opened for durability and for one writer at a time: WAL journal,
synchronous=FULL, a busy timeout, and BEGIN IMMEDIATE for every transaction so
two processes never both think they hold the write lock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from bot.repo.schema import metadata

__all__ = [
    "WAL_SWITCH_PATIENCE",
    "Engine",
    "UnitOfWork",
    "database_url",
    "make_engine",
    "make_reader",
    "reach",
    "try_write",
]


def database_url(url: str | None, sqlite_path: str | Path) -> str:
    """The SQLAlchemy URL: DATABASE_URL when set (postgres:// accepted), else the SQLite file."""
    if url:
        for old in ("postgres://", "postgresql://"):
            if url.startswith(old):
                return "postgresql+psycopg://" + url[len(old) :]
        return url
    return f"sqlite:///{Path(sqlite_path)}"


WAL_SWITCH_PATIENCE = 30.0  # seconds, the same as the busy timeout


def _journal_to_wal(cur: Any) -> None:
    """Put the database in WAL mode, waiting out another connection doing the same.

    Two processes opening a new database at once both switch it to WAL, and
    SQLite answers the loser "database is locked" at once, without calling
    the busy handler, so the wait is here."""
    deadline = time.monotonic() + WAL_SWITCH_PATIENCE
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def make_engine(url: str, *, create_tables: bool = True) -> Engine:
    """An engine for `url`, with SQLite tuned for durability.

    `create_tables` makes any missing table straight from the models (tests,
    simulations); a real store is brought up to date by bot.migrate instead."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN
            cur = dbapi_conn.cursor()
            _journal_to_wal(cur)
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # On the driver's connection: SQLAlchemy's statement machinery costs more than this fixed statement
            # (bench.store). Its errors are SQLAlchemy's, as they were (a busy store is a StoreError).
            try:
                conn.connection.driver_connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise OperationalError("BEGIN IMMEDIATE", None, err) from err

    else:
        engine = create_engine(url, pool_pre_ping=True)
    if create_tables:
        metadata.create_all(engine)
    return engine


def make_reader(url: str) -> Engine:
    """An engine for reads only, with none of `make_engine`'s hooks: on SQLite no BEGIN IMMEDIATE, so in WAL mode
    it reads while another connection holds the write lock (the Mangopay adapter reads people's identities so,
    while the worker's own transaction may hold it). It makes no table."""
    return sqlalchemy.create_engine(url, connect_args={"check_same_thread": False} if url.startswith("sqlite") else {})


class UnitOfWork:
    """Opens one transaction; nothing is saved unless `commit()` is called."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                if session.in_transaction():
                    # Detach first, so objects read here stay readable (a rollback
                    # would expire them); nothing uncommitted reaches the database.
                    session.expunge_all()
                    session.rollback()


def reach(engine: Engine) -> None:
    """Ask the database something (one round trip); raises what the driver raises when it cannot answer."""
    with engine.begin() as conn:
        conn.execute(text("SELECT 1"))


def try_write(engine: Engine) -> None:
    """Make a table in a transaction rolled back: the store accepts writes, and nothing is left behind."""
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(text("CREATE TABLE IF NOT EXISTS doctor_probe (x INTEGER)"))
        tx.rollback()
