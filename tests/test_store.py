"""The store on a real SQLite file: durability settings, keys, UTC times, the unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from bot.store import (
    DmCursor,
    Mark,
    MentionCursor,
    Transfer,
    UnitOfWork,
    flag,
    get_checkpoint,
    make_engine,
    set_checkpoint,
)
from bot.store import database_url as to_url

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _transfer(root: str = "1", recipient: str = "2", **kw: object) -> Transfer:
    base = dict(root_tweet_id=root, command_tweet_id=root, sender_id="9", recipient_id=recipient,
                amount_minor=500, currency="USD", code="K7Q2", status="pending",
                created_at=NOW, updated_at=NOW, expires_at=NOW + timedelta(minutes=10))
    base.update(kw)
    return Transfer(**base)  # type: ignore[arg-type]


@pytest.fixture
def uow(database_url: str) -> Iterator[UnitOfWork]:
    """The store on a SQLite file, then on PostgreSQL (see conftest.database_url)."""
    u = UnitOfWork(make_engine(database_url))
    yield u
    u.engine.dispose()


def test_sqlite_is_durable(tmp_path: Path) -> None:
    """WAL, synchronous=FULL and a busy timeout on every connection."""
    uow = UnitOfWork(make_engine(f"sqlite:///{tmp_path / 'store.db'}"))
    with uow.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_one_transfer_per_post_and_recipient(uow: UnitOfWork) -> None:
    """A second transfer for the same root post and recipient cannot be stored."""
    with uow() as s:
        s.add(_transfer())
        s.commit()
    with uow() as s:
        s.add(_transfer(code="ZZZZ"))
        with pytest.raises(IntegrityError):
            s.commit()
    with uow() as s:
        s.add(_transfer(recipient="3"))
        s.commit()


def test_nothing_is_saved_without_commit(uow: UnitOfWork) -> None:
    """The unit of work rolls back unless commit() is called."""
    with uow() as s:
        s.add(_transfer())
    with uow() as s:
        assert s.get(Transfer, 1) is None


def test_times_come_back_utc_aware(uow: UnitOfWork) -> None:
    """A time stored in any zone is read back as the same instant, in UTC."""
    paris = timezone(timedelta(hours=1))
    with uow() as s:
        s.add(_transfer(created_at=datetime(2026, 11, 28, 13, 0, tzinfo=paris)))
        s.commit()
    with uow() as s:
        t = s.get(Transfer, 1)
        assert t is not None and t.created_at == NOW and t.created_at.tzinfo is not None


def test_naive_times_are_refused(uow: UnitOfWork) -> None:
    with uow() as s:
        s.add(_transfer(created_at=datetime(2026, 11, 28, 12, 0)))
        with pytest.raises(Exception, match="naive"):
            s.commit()


def test_data_survives_a_new_engine(database_url: str) -> None:
    """What was committed is there after the process's engine is gone (a restart)."""
    url = database_url
    first = UnitOfWork(make_engine(url))
    with first() as s:
        set_checkpoint(s, Mark.MENTIONS_SINCE, "123")
        s.commit()
    first.engine.dispose()
    second = UnitOfWork(make_engine(url))
    with second() as s:
        assert get_checkpoint(s, Mark.MENTIONS_SINCE) == "123"
    second.engine.dispose()


def test_database_url() -> None:
    """DATABASE_URL wins; Heroku's postgres:// is given the psycopg driver."""
    assert to_url(None, "x.db") == "sqlite:///x.db"
    assert to_url("postgres://u:p@h/db", "x.db") == "postgresql+psycopg://u:p@h/db"
    assert to_url("sqlite:////tmp/a.db", "x.db") == "sqlite:////tmp/a.db"


def test_one_lease_holder_at_a_time(uow: UnitOfWork) -> None:
    """Only one worker holds the lease; another gets it once it lapses, not before."""
    from bot.store import take_lease

    ttl = timedelta(seconds=30)
    assert take_lease(uow, "worker", "a", NOW, ttl)
    assert not take_lease(uow, "worker", "b", NOW + timedelta(seconds=10), ttl)
    assert take_lease(uow, "worker", "a", NOW + timedelta(seconds=20), ttl)  # renewal
    assert not take_lease(uow, "worker", "b", NOW + timedelta(seconds=49), ttl)
    assert take_lease(uow, "worker", "b", NOW + timedelta(seconds=51), ttl)
    assert not take_lease(uow, "worker", "a", NOW + timedelta(seconds=52), ttl)


def test_processes_opening_a_new_sqlite_file_at_once_all_get_in(tmp_path: Path) -> None:
    """Switching a new file to WAL races: the loser waits instead of failing with "database is locked"."""
    from tests.racing import at_once

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


def test_the_mention_cursor_trails_one_poll_behind(uow: UnitOfWork) -> None:
    """`since` is the newest id of the poll before: a mention X indexed late falls in the next window."""
    with uow() as s:
        start = MentionCursor.read(s)
    assert start == MentionCursor(None, None)
    first = start.after("100")
    assert first == MentionCursor("100", "100")
    assert first.after("90") is None and first.after("100") is None  # nothing newer: unchanged
    second = first.after("150")
    assert second == MentionCursor("100", "150")
    with uow() as s:
        second.write(s)
        s.commit()
    with uow() as s:
        assert MentionCursor.read(s) == MentionCursor("100", "150")
        assert get_checkpoint(s, Mark.MENTIONS_SINCE) == "100"


def test_the_dm_cursor_moves_its_stop_mark_only_when_a_backlog_is_read(uow: UnitOfWork) -> None:
    cursor = DmCursor(newest="10")
    reading = cursor.after(["30", "25"], resume="token-1")  # newest page first; older ones remain
    assert reading == DmCursor("10", "token-1", "30")
    reading = reading.after(["20", "15"], resume="token-2")
    assert reading == DmCursor("10", "token-2", "30")  # the newest seen is kept while the sweep goes on
    done = reading.after(["12"], resume=None)
    assert done == DmCursor("30", None, None)
    assert done.after([], resume=None) == done  # an empty page keeps the mark
    with uow() as s:
        reading.write(s)
        s.commit()
    with uow() as s:
        assert DmCursor.read(s) == DmCursor("10", "token-2", "30")
        done.write(s)
        s.commit()
    with uow() as s:
        assert DmCursor.read(s) == DmCursor("30", None, None)


def test_flags_are_on_only_when_set(uow: UnitOfWork) -> None:
    with uow() as s:
        assert not flag(s, Mark.PAUSED)
        set_checkpoint(s, Mark.PAUSED, "1")
        assert flag(s, Mark.PAUSED) and not flag(s, Mark.WINDING_DOWN)
        set_checkpoint(s, Mark.PAUSED, "")
        assert not flag(s, Mark.PAUSED)
