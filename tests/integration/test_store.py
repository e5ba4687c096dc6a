"""The SQL store itself: durability settings, restarts, URLs (what every store must do is in
test_repository_contract.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from bot.domain import PayoutStatus
from bot.domain.entities import Payout
from bot.domain.marks import Mark
from bot.repo.engine import database_url as to_url
from bot.repo.engine import make_engine
from bot.repo.sql import SqlStore

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_sqlite_is_durable(tmp_path: Path) -> None:
    """WAL, synchronous=FULL and a busy timeout on every connection."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_data_survives_a_new_engine(database_url: str) -> None:
    """What was committed is there after the process's engine is gone (a restart)."""
    url = database_url
    first = SqlStore(make_engine(url))
    with first() as s:
        s.checkpoints.set(Mark.MENTIONS_SINCE, "123")
        s.commit()
    first.engine.dispose()
    second = SqlStore(make_engine(url))
    with second() as s:
        assert s.checkpoints.get(Mark.MENTIONS_SINCE) == "123"
    second.engine.dispose()


def test_database_url() -> None:
    """DATABASE_URL wins; Heroku's postgres:// is given the psycopg driver."""
    assert to_url(None, "x.db") == "sqlite:///x.db"
    assert to_url("postgres://u:p@h/db", "x.db") == "postgresql+psycopg://u:p@h/db"
    assert to_url("sqlite:////tmp/a.db", "x.db") == "sqlite:////tmp/a.db"


def test_processes_opening_a_new_sqlite_file_at_once_all_get_in(tmp_path: Path) -> None:
    """Switching a new file to WAL races: the loser waits instead of failing with "database is locked"."""
    from tests.support.racing import at_once

    def journal_mode(engine: Engine) -> object:
        with engine.connect() as conn:
            return conn.execute(text("PRAGMA journal_mode")).scalar()

    modes: list[object] = []
    for n in range(30):
        engines = [make_engine(f"sqlite:///{tmp_path / f'new{n}.db'}", create_tables=False) for _ in range(4)]
        modes += at_once(journal_mode, engines)
        for e in engines:
            e.dispose()
    assert modes == ["wal"] * 120


def test_an_entity_written_by_its_unit_of_work_holds_what_its_row_holds(database_url: str) -> None:
    """A new entity is written with one INSERT and then tracked as if read: a field left None takes the column's
    default before the INSERT, so the unit of work and, after it, a fresh read see the same value."""
    store = SqlStore(make_engine(database_url))
    try:
        with store() as s:
            payout = Payout(
                user_id="9",
                key="k1",
                currency="EUR",
                status=PayoutStatus.CREATED,
                lang=None,  # type: ignore[arg-type]
                created_at=NOW,
                updated_at=NOW,
            )
            s.payouts.add(payout)
            s.flush()
            assert s.payouts.by_key("k1") is payout and payout.lang == "en"
            s.commit()
        with store() as s:
            stored = s.payouts.by_key("k1")
            assert stored is not None and stored.lang == "en"
    finally:
        store.engine.dispose()
