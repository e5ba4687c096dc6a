"""What every SQL repository shares: the session, and the rows a unit of work only adds (messages, timeline steps,
processed ids), written in one INSERT per table at its commit (`land`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.repo.port import Conflict
from bot.repo.schema import TABLES

__all__ = ["COLUMNS", "LATER", "_Table", "land"]


class _Table:
    def __init__(self, s: Session) -> None:
        self.s = s

    def _add(self, row: object) -> None:
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
