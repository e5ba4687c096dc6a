"""Migrations: every revision applies on SQLite and PostgreSQL, the newest matches the models,
and data written at one revision survives the upgrade to the next."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

from bot import migrate
from bot.store import make_engine

pytestmark = pytest.mark.process


def test_upgrading_an_empty_database_gives_the_models(database_url: str) -> None:
    """From nothing to head, and the schema is exactly what the models describe."""
    engine = create_engine(database_url)
    assert migrate.upgrade(engine) == migrate.head()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_each_revision_keeps_the_data_of_the_one_before(database_url: str) -> None:
    """Walk the revisions one by one, writing a row before each step and reading it after."""
    engine = create_engine(database_url)
    script = ScriptDirectory.from_config(migrate._config(None))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    when = datetime(2026, 11, 28, tzinfo=UTC).replace(tzinfo=None)
    for i, revision in enumerate(revisions):
        migrate.upgrade(engine, revision)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO checkpoint (name, value) VALUES (:n, :v)"), {"n": f"r{i}", "v": revision})
            if "lease" in inspect(conn).get_table_names():
                conn.execute(text("INSERT INTO lease (name, holder, expires_at) VALUES (:n, 'x', :t)"),
                             {"n": f"l{i}", "t": when + timedelta(minutes=i)})
    migrate.upgrade(engine)
    with engine.connect() as conn:
        kept: dict[str, str] = dict(conn.execute(text("SELECT name, value FROM checkpoint")).all())
    engine.dispose()
    assert kept == {f"r{i}": r for i, r in enumerate(revisions)}


def test_a_database_made_before_migrations_is_adopted(database_url: str) -> None:
    """Tables made by the paybot before migrations (its create_all made revision 0001's schema, with no
    alembic_version) are stamped at 0001, then upgraded."""
    engine = make_engine(database_url, create_tables=False)
    migrate.upgrade(engine, migrate.FIRST_REVISION)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("INSERT INTO checkpoint (name, value) VALUES ('bot_id', '42')"))
    assert migrate.current(engine) is None
    assert migrate.upgrade(engine) == migrate.head()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM checkpoint WHERE name = 'bot_id'")).scalar() == "42"
    engine.dispose()


def test_db_commands(tmp_path: Path) -> None:
    """`paybot db upgrade` migrates the configured store; `paybot db current` tells where it is."""
    env = {**os.environ, "PAYBOT_DB_PATH": str(tmp_path / "p.db")}
    run = lambda *a: subprocess.run([sys.executable, "-m", "bot", "db", *a], capture_output=True, text=True,  # noqa: E731
                                    env=env, cwd=tmp_path, timeout=60)
    assert "store: not under migrations" in run("current").stdout
    up = run("upgrade")
    assert up.returncode == 0 and f"store at revision {migrate.head()}" in up.stdout
    assert f"store: {migrate.head()}; newest: {migrate.head()}" in run("current").stdout


def test_two_processes_migrating_a_new_database_at_once_take_turns(database_url: str) -> None:
    """Two workers started together on an empty database: both come up, the schema is made once."""
    from tests.support.racing import at_once

    engines = [make_engine(database_url, create_tables=False) for _ in range(2)]
    results = at_once(migrate.upgrade, engines)
    for e in engines:
        e.dispose()
    assert results == [migrate.head(), migrate.head()]


def test_each_transfers_settle_key_becomes_a_settlement_and_back(database_url: str) -> None:
    """0007: a transfer's one release/return/refund key becomes a settlement row (succeeded when its
    provider reference was recorded, else pending: crash recovery drives it again with the same key); a
    returned transfer with no key of paybot's (a dashboard refund) gets a keyless refund row; the columns
    go. A downgrade writes each transfer's latest keyed settlement back."""
    engine = create_engine(database_url)
    migrate.upgrade(engine, "0006")
    when = datetime(2026, 11, 28, tzinfo=UTC).replace(tzinfo=None)
    rows = [(1, "completed", "release:100:10:11", "tr_1"), (2, "held", "return:101:10:12", None),
            (3, "returned", "refund:102:10:11", "re_3"), (4, "returned", None, None), (5, "completed", None, None)]
    with engine.begin() as conn:
        for tid, status, key, ref in rows:
            conn.execute(text(
                "INSERT INTO transfer (id, kind, lang, root_tweet_id, command_tweet_id, sender_id, recipient_id, "
                "amount_minor, currency, code, status, created_at, updated_at, expires_at, settle_key, settle_ref) "
                "VALUES (:id, 'send', 'en', :root, :root, '10', '11', 500, 'USD', 'AAAA', :status, :t, :t, :t, "
                ":key, :ref)"), {"id": tid, "root": str(99 + tid), "status": status, "t": when, "key": key, "ref": ref})
    migrate.upgrade(engine)
    with engine.connect() as conn:
        moved = conn.execute(text("SELECT transfer_id, step, seq, amount_minor, key, ref, status, cause "
                                  "FROM settlement ORDER BY transfer_id")).all()
        columns = {c["name"] for c in inspect(conn).get_columns("transfer")}
    assert [tuple(r) for r in moved] == [
        (1, "release", 1, 500, "release:100:10:11", "tr_1", "succeeded", "claim"),
        (2, "return", 1, 500, "return:101:10:12", None, "pending", "window"),
        (3, "refund", 1, 500, "refund:102:10:11", "re_3", "succeeded", "operator"),
        (4, "refund", 1, 500, None, None, "succeeded", "provider")]
    assert not {"settle_key", "settle_ref"} & columns
    migrate.downgrade(engine, "0006")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT id, settle_key, settle_ref FROM transfer ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in back] == [(tid, key, ref) for tid, _, key, ref in rows]
