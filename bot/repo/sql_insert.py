"""One row's INSERT as the driver's own statement: SQLAlchemy compiles it once per table, dialect and set of columns,
and each row then goes out through `Connection.exec_driver_sql` with its values passed through the columns' own bind
processors (public `TypeEngine.dialect_impl(dialect).bind_processor`: UTC times, booleans, dates exactly as a Core
INSERT binds them).

A unit of work that adds one transfer (a mention, a page submission) spent more CPU in the Core INSERT's execution
machinery (cache key, parameter construction, result set-up) than SQLite spends writing the row and its indexes
(`bench.store`, docs/performance.md). The statement still passes through the connection: its events fire (the
statement counts of `bench.burst`), and a driver error comes back as SQLAlchemy's (`IntegrityError` for a unique key
taken), as before, and a value a column's type refuses (a naive datetime) is a `StatementError`, as Core's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import StatementError

__all__ = ["insert_one"]

_Plan = tuple[str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...], bool, bool]
_PLANS: dict[tuple[str, Table, tuple[str, ...]], _Plan] = {}


def _plan(dialect: Dialect, table: Table, names: tuple[str, ...]) -> _Plan:
    """The statement for a row holding `names`, the bind order and processors, whether the driver takes its
    parameters by name, and whether the new id comes back as a RETURNING row (not the cursor's lastrowid)."""
    stmt = insert(table)
    returns = table.autoincrement_column is not None and "id" not in names and not dialect.name == "sqlite"
    if returns:
        stmt = stmt.returning(table.c.id)
    compiled = stmt.compile(dialect=dialect, column_keys=list(names))
    named = compiled.positiontup is None
    order = tuple(names) if named else tuple(compiled.positiontup or ())
    if set(order) != set(names) or (named and set(compiled.binds) != set(names)):
        raise RuntimeError(f"{table.name}: the compiled INSERT binds {order}, not the row's columns {names}")
    # The dialect's own form of each type (SQLite's DATETIME text, say), as a Core INSERT binds it: the generic
    # type's processor would leave a time to the driver, which writes a whole second with no fraction.
    procs = tuple(table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in order)
    return str(compiled), order, procs, named, returns


def insert_one(conn: Connection, table: Table, values: dict[str, Any]) -> Any:
    """INSERT one row of `table` holding `values` (column key -> value); the new integer id, where the database
    gives it (None for a table whose key the row holds)."""
    names = tuple(values)
    key = (conn.dialect.name, table, names)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _plan(conn.dialect, table, names)
    sql, order, procs, named, returns = plan
    try:
        bound = [v if p is None else p(v) for v, p in zip((values[n] for n in order), procs, strict=True)]
    except Exception as err:  # as Core reports a value its type refuses (a naive time): a StatementError
        raise StatementError(f"({type(err).__module__}.{type(err).__name__}) {err}", sql, values, err) from err
    result = conn.exec_driver_sql(sql, dict(zip(order, bound, strict=True)) if named else tuple(bound))
    if returns:
        return result.scalar_one()
    return result.lastrowid if table.autoincrement_column is not None and "id" not in names else None
