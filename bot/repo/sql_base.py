"""What every SQL repository shares: the session, the new entities a unit of work adds (written with SQLAlchemy Core
when they are first needed, then tracked by the session as if read: `UowSession`), and the rows it only adds
(messages, timeline steps, processed ids), written in one INSERT per table at its commit (`land`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnDefault, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient, make_transient_to_detached
from sqlalchemy.orm.base import instance_state
from sqlmodel import Session

from bot.repo.port import Conflict
from bot.repo.schema import TABLES
from bot.repo.sql_insert import insert_one

__all__ = ["COLUMNS", "LATER", "UowSession", "_Table", "land"]


class _Table:
    def __init__(self, s: Session) -> None:
        self.s = s

    def _add(self, row: object) -> None:
        """A new entity waits in the unit of work (`UowSession.stage`); one read or added before is the session's."""
        if isinstance(self.s, UowSession) and instance_state(row).session_id is None and not instance_state(row).key:
            self.s.stage(row)
        else:
            self.s.add(row)

    def _defer(self, row: object) -> None:
        """Add a row the unit of work only writes (a message, a timeline step, a processed id) when its table
        is next read, or at flush or commit: the rows of a page then go out in one INSERT, not one each."""
        self.s.info.setdefault(LATER, []).append(row)

    def _land(self) -> None:
        land(self.s)

    def _one(self, query: Any) -> Any:
        return self.s.exec(query).first()


LATER = "paybot.later"  # Session.info key of the rows `_defer` keeps back
# Each entity's column names, in its table's order.
COLUMNS: dict[type, tuple[str, ...]] = {entity: tuple(c.key for c in table.columns) for entity, table in TABLES.items()}
# The columns an INSERT leaves out when the entity holds None there, as the ORM does: the column's default (or, for
# an integer key, the database) gives the value.
_DEFAULTED: dict[type, frozenset[str]] = {
    entity: frozenset(c.key for c in table.columns if c.default is not None or c is table.autoincrement_column)
    for entity, table in TABLES.items()
}
# Each entity's INSERT, and for those whose key the database gives (an integer id) the INSERT that reads the new ids
# back in the order of the rows given.
_INSERT = {entity: insert(table) for entity, table in TABLES.items()}
_INSERT_IDS = {
    entity: insert(table).returning(table.c.id, sort_by_parameter_order=True)
    for entity, table in TABLES.items()
    if table.autoincrement_column is not None
}


# The columns whose default is a plain value: an entity holding None there takes it before its INSERT, so the entity
# tracked afterwards holds what its row holds (as the ORM's own flush left it).
_SCALAR_DEFAULTS: dict[type, dict[str, Any]] = {
    entity: {
        c.key: c.default.arg for c in table.columns if isinstance(c.default, ColumnDefault) and c.default.is_scalar
    }
    for entity, table in TABLES.items()
}


def _values(row: object) -> dict[str, Any]:
    kind = type(row)
    for name, default in _SCALAR_DEFAULTS[kind].items():
        if getattr(row, name) is None:
            setattr(row, name, default)
    skip = _DEFAULTED[kind]
    # The mapped entity keeps each value it was given in its __dict__ (the ORM's attributes read from there): read
    # there, not through the instrumented attribute, for an entity the session has not loaded (nothing to refresh).
    held = row.__dict__
    return {n: v for n in COLUMNS[kind] if (v := held.get(n)) is not None or n not in skip}


class UowSession(Session):
    """The session of a unit of work. A new entity added through a repository is staged (`stage`), not added:
    before the session's next query (autoflush), its flush or the commit (`write_staged`), the staged entities are
    written with one Core INSERT per table and shape (ids read back with RETURNING), then attached to the session
    as if just read, so a later change is an UPDATE as usual. The ORM's per-object unit of work (dependency sort,
    per-state bookkeeping, the flush's connection hand-off) is not run for rows that are only inserted."""

    def stage(self, row: object) -> None:
        staged: list[object] = self.info.setdefault(STAGED, [])
        if all(x is not row for x in staged):
            staged.append(row)

    def flush(self, objects: Any = None) -> None:
        self.write_staged()
        super().flush(objects)

    def write_staged(self) -> None:
        staged: list[object] = self.info.pop(STAGED, None) or []
        if not staged:
            return
        groups: dict[tuple[type, tuple[str, ...]], tuple[list[object], list[dict[str, Any]]]] = {}
        for row in staged:
            one = _values(row)
            rows, values = groups.setdefault((type(row), tuple(one)), ([], []))
            rows.append(row)
            values.append(one)
        conn = self.connection()
        try:
            for (kind, names), (rows, values) in groups.items():
                if len(values) == 1:  # the common case: a unit of work adding one transfer, one user
                    new_id = insert_one(conn, TABLES[kind], values[0])
                    if new_id is not None:
                        rows[0].id = new_id  # type: ignore[attr-defined]
                elif kind not in _INSERT_IDS or "id" in names:
                    conn.execute(_INSERT[kind], values)
                else:
                    for row, (new_id,) in zip(rows, conn.execute(_INSERT_IDS[kind], values), strict=True):
                        row.id = new_id  # type: ignore[attr-defined]
        except IntegrityError as err:  # a unique key taken: the unit of work must be rolled back
            raise Conflict(str(err.orig)) from err
        for row in staged:
            make_transient_to_detached(row)
        self.add_all(staged)
        self.info.setdefault(WRITTEN, []).extend(staged)

    def forget_staged(self) -> None:
        """Before a rollback: the staged entities are dropped, and those written since the last commit become new
        again (transient, as the ORM leaves the rows it inserted in a transaction rolled back)."""
        self.info.pop(STAGED, None)
        for row in self.info.pop(WRITTEN, None) or []:
            make_transient(row)

    def committed(self) -> None:
        self.info.pop(WRITTEN, None)


STAGED = "paybot.staged"  # Session.info key of the new entities not written yet
WRITTEN = "paybot.written"  # Session.info key of the entities `write_staged` wrote since the last commit


def land(s: Session) -> None:
    """Write the deferred rows: one INSERT (an executemany, SQLAlchemy Core on the entity's table) per table.
    They are written, not attached to the session: nothing reads them back as objects in the unit of work that
    wrote them."""
    rows: list[object] = s.info.pop(LATER, None) or []
    by_table: dict[type, list[dict[str, Any]]] = {}
    for row in rows:
        one = {name: getattr(row, name) for name in COLUMNS[type(row)]}
        if one.get("id", 0) is None:
            del one["id"]
        by_table.setdefault(type(row), []).append(one)
    try:
        for entity, many in by_table.items():
            s.execute(insert(TABLES[entity]), many)
    except IntegrityError as err:  # a processed id written twice: the unit of work must be rolled back
        raise Conflict(str(err.orig)) from err
