"""The one-row INSERT a unit of work sends through the driver (bot.repo.sql_insert) stores exactly what SQLAlchemy's
Core INSERT stores, for every column of every entity's table, on SQLite and PostgreSQL: the values pass through the
columns' bind processors (UTC times from any zone, booleans, dates, enum words)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import pytest
from sqlalchemy import Boolean, CheckConstraint, Date, Engine, Integer, Table, event, insert, select
from sqlalchemy.exc import StatementError

from bot.domain import Status
from bot.domain.entities import Transfer
from bot.repo.engine import make_engine
from bot.repo.port import Conflict
from bot.repo.schema import TABLES
from bot.repo.sql import SqlStore
from bot.repo.sql_insert import insert_one
from bot.repo.types import UTCDateTime, Word

PARIS = timezone(timedelta(hours=1))
TOKYO = timezone(timedelta(hours=9))


def _value(table: Table, column: Any, n: int) -> Any:
    """A value for `column` of the n-th row: the zones, words and flags vary with n."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        zone = (UTC, PARIS, TOKYO)[n % 3]
        fraction = (123456, 0, 500)[n // 2 % 3]  # a whole second too: stored with its zero fraction, as Core does
        return datetime(2026, 3, 29, 1, 30, 15, fraction, tzinfo=UTC).astimezone(zone) + timedelta(minutes=n)
    if isinstance(kind, Word):  # a member its CHECK allows (a table may allow only some of the enum's words)
        checks = [c for c in table.constraints if isinstance(c, CheckConstraint)]
        check = next((str(c.sqltext) for c in checks if c.name == f"ck_{table.name}_{column.key}"), "")
        members: list[StrEnum] = [m for m in kind.enum if f"'{m.value}'" in check] or list(kind.enum)
        return members[n % len(members)]
    if isinstance(kind, Boolean):
        return n % 2 == 1
    if isinstance(kind, Date):
        return date(1990, 1, 1) + timedelta(days=n)
    if isinstance(kind, Integer):
        return 1000 + n
    return f"{table.name}.{column.key} {n} é ✅"


def _row(table: Table, n: int, *, with_id: bool) -> dict[str, Any]:
    values = {c.key: _value(table, c, n) for c in table.columns}
    if table.autoincrement_column is not None and not with_id:
        del values["id"]
    return values


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_every_column_is_stored_as_the_core_insert_stores_it(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        for table in TABLES.values():
            pk = [c.key for c in table.primary_key.columns]
            for k, with_id in zip(range(6), itertools.cycle((False, True)), strict=False):
                core, ours = _row(table, 2 * k, with_id=with_id), _row(table, 2 * k + 1, with_id=with_id)
                # The same values, but the keys of a row of its own: compare what comes back column by column.
                ours = {**core, **{c: v for c, v in ours.items() if c in _keys(table)}}
                with engine.begin() as conn:
                    core_key = conn.execute(insert(table), core).inserted_primary_key
                    our_id = insert_one(conn, table, ours)
                if table.autoincrement_column is not None:
                    assert (our_id is None) if with_id else isinstance(our_id, int)
                    assert core_key is not None
                    core_where = {"id": core_key[0]}
                    our_where = {"id": ours["id"] if with_id else our_id}
                else:
                    assert our_id is None
                    core_where, our_where = {c: core[c] for c in pk}, {c: ours[c] for c in pk}
                with engine.connect() as conn:
                    got_core = conn.execute(select(table).filter_by(**core_where)).mappings().one()
                    got_ours = conn.execute(select(table).filter_by(**our_where)).mappings().one()
                    # What the database holds, as the driver reads it back (SQLite keeps times as text).
                    names = [c.name for c in table.columns]
                    raw = {
                        tuple(r[names.index(c)] for c in pk): r
                        for r in conn.exec_driver_sql(
                            f"SELECT {', '.join(_quoted(engine, n) for n in names)} FROM {_quoted(engine, table.name)}"
                        )
                    }
                raw_core = raw[tuple(got_core[c] for c in pk)]
                raw_ours = raw[tuple(got_ours[c] for c in pk)]
                for i, column in enumerate(table.columns):
                    if column.key in _keys(table):
                        continue
                    assert got_ours[column.key] == got_core[column.key], (table.name, column.key)
                    assert type(got_ours[column.key]) is type(got_core[column.key]), (table.name, column.key)
                    assert raw_ours[i] == raw_core[i], (table.name, column.key, raw_ours[i], raw_core[i])
    finally:
        engine.dispose()


def _quoted(engine: Engine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote(name)


def _keys(table: Table) -> tuple[str, ...]:
    """The columns that tell the two rows apart: the primary key and every column of a unique constraint."""
    keys = {c.key for c in table.primary_key.columns}
    for constraint in table.constraints:
        keys |= {
            c.key for c in getattr(constraint, "columns", ()) if constraint.__class__.__name__ == "UniqueConstraint"
        }
    for index in table.indexes:
        if index.unique:
            keys |= {c.key for c in index.columns}
    return tuple(sorted(keys))


def _transfer(root: str, created: datetime) -> Transfer:
    return Transfer(
        root_tweet_id=root,
        command_tweet_id=root,
        sender_id="1",
        recipient_id="2",
        amount_minor=500,
        currency="USD",
        code="K7Q2",
        status=Status.PENDING,
        created_at=created,
        updated_at=created,
        expires_at=created + timedelta(minutes=10),
    )


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_a_unit_of_work_adding_one_transfer_goes_through_the_connection(database_url: str) -> None:
    """The statement is seen by the engine's events (the benchmarks count them), a unique key taken is a Conflict and
    the unit of work is rolled back, and a naive time is refused before anything is written."""
    store = SqlStore(make_engine(database_url))
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    try:
        now = datetime(2026, 12, 8, 9, tzinfo=PARIS)
        with store() as tx:
            t = _transfer("1", now)
            tx.transfers.add(t)
            tx.commit()
        assert any(s.startswith("INSERT INTO transfer") for s in seen)
        assert t.id is not None
        with store() as tx:
            again = tx.transfers.get(t.id)
            assert again is not None and again.created_at == now and again.created_at.tzinfo == UTC
        with store() as tx:
            tx.transfers.add(_transfer("1", now))  # the same root, sender and recipient: a unique key taken
            with pytest.raises(Conflict):
                tx.commit()
        with store() as tx:
            tx.transfers.add(_transfer("2", now.replace(tzinfo=None)))
            with pytest.raises(StatementError, match="naive"):  # as Core says it for two rows
                tx.commit()
        with store() as tx:
            assert [x.root_tweet_id for x in tx.transfers.pending_of("1")] == ["1"]
    finally:
        store.engine.dispose()
